"""Pin the base image to the digest its tag points at now, in the Dockerfile and the test workflow's container.

Usage: python3 -m release.pin_base [--tag python:3.11-slim-bookworm] [--registry https://registry-1.docker.io]
                                   [--dry-run]

Asks the registry (Docker Hub's v2 API, with the anonymous pull token Docker Hub hands out) for the digest of the
tag's image index, the multi-platform list `docker pull` resolves, and rewrites `ARG PYTHON_IMAGE=…@sha256:…` in
the Dockerfile and `image: …@sha256:…` in .github/workflows/tests.yml, which must stay the same base. Run it to
take a new Python patch release or Debian security fixes, then let CI build and test on it. Standard library only.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PINNED = {  # file -> the line that names the base, with its digest: (before it)(the image)(after it)
    ROOT / "Dockerfile": re.compile(r"^(ARG PYTHON_IMAGE=)(\S+)()$", re.M),
    # The test job's image is an expression: vars.TEST_IMAGE (the workflow rehearsal's) or the pinned base.
    ROOT / ".github/workflows/tests.yml": re.compile(
        r"^(\s+image: \$\{\{ vars\.TEST_IMAGE \|\| ')(python:[^']+)(' \}\})$", re.M
    ),
}
INDEX_TYPES = (
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
)


def resolve_digest(registry: str, tag: str, token_url: str | None) -> str:
    """sha256:… of `tag` (e.g. python:3.11-slim-bookworm; official images live under library/)."""
    name, _, reference = tag.partition(":")
    repository = name if "/" in name else f"library/{name}"
    headers = {"Accept": ", ".join(INDEX_TYPES)}
    if token_url:
        query = urllib.parse.urlencode({"service": "registry.docker.io", "scope": f"repository:{repository}:pull"})
        with urllib.request.urlopen(f"{token_url}?{query}", timeout=30) as response:
            headers["Authorization"] = f"Bearer {json.load(response)['token']}"
    request = urllib.request.Request(
        f"{registry.rstrip('/')}/v2/{repository}/manifests/{reference}", method="HEAD", headers=headers
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        digest = response.headers.get("Docker-Content-Digest", "")
    if not re.fullmatch(r"sha256:[0-9a-f]{64}", digest):
        raise ValueError(f"the registry gave no digest for {tag} (got {digest!r})")
    return digest


def pin(tag: str, digest: str, files: dict[Path, re.Pattern[str]]) -> list[str]:
    """Rewrite each file's base line to `tag@digest`; what changed, one line per file."""
    changes = []
    for path, pattern in files.items():
        text = path.read_text()
        if not pattern.search(text):
            raise ValueError(f"{path.name}: no base image line to pin")
        updated = pattern.sub(lambda match: f"{match[1]}{tag}@{digest}{match[3]}", text)
        if updated != text:
            path.write_text(updated)
            changes.append(f"{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}: {tag}@{digest}")
    return changes


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tag", default="python:3.11-slim-bookworm")
    parser.add_argument("--registry", default="https://registry-1.docker.io")
    parser.add_argument("--token-url", default="https://auth.docker.io/token", help="empty: no token")
    parser.add_argument("--dry-run", action="store_true", help="print the digest, change nothing")
    args = parser.parse_args()
    try:
        digest = resolve_digest(args.registry, args.tag, args.token_url or None)
    except (OSError, ValueError) as error:
        print(f"pin_base: cannot resolve {args.tag}: {error}", file=sys.stderr)
        return 1
    if args.dry_run:
        print(f"{args.tag}@{digest}")
        return 0
    for change in pin(args.tag, digest, PINNED) or [f"already pinned to {args.tag}@{digest}"]:
        print(f"pin_base: {change}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
