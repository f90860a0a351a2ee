"""Image retention: delete a repository's stamp-tagged images but the newest N and every image being served.

Usage: python3 -m release.prune_images --image REPOSITORY [--keep 28] [--dry-run]

Every workflow run pushes one image under its stamp tag `X.Y.Z-YYYYMMDDHHMMSS` (about 1,460 a year); promote moves
`latest` and `X.Y.Z` to the one served. This keeps the newest `--keep` stamp tags (by their stamp, not by the
version's text) and never deletes an image whose digest also carries `latest`, an `X.Y.Z` tag or any tag that is not
a well-formed stamp tag (the served image, the served build of each code version, whatever else lives there).

Two backends, chosen by the repository's registry:
  ghcr.io/OWNER/PACKAGE  GitHub's packages REST API ($GITHUB_API_URL, $GITHUB_TOKEN, $OWNER_TYPE User|Organization)
  any other registry     the OCI distribution API (tags/list, HEAD and DELETE manifests), e.g. the rehearsal's
                         Debian docker-registry with storage.delete.enabled; http for loopback hosts, https otherwise,
                         no authentication.
Standard library only. One line per deleted image and a summary line on stdout (and the job summary in a
workflow); a failure is one line on stderr and exit 1, the token never printed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import sys
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

from release.common import ReleaseError, repository_of, write_summary
from release.registry import OciRegistry, RegistryError, call, next_link

KEEP_IMAGES = 28  # stamp-tagged images kept: a week of six-hourly runs
SERVED_TAG = "latest"
# X.Y.Z-YYYYMMDDHHMMSS, one build forever; -rN: the build of a run's attempt N (a re-run's build is another image)
STAMP_TAG = re.compile(r"(\d+)\.(\d+)\.(\d+)-(\d{14})(?:-r\d+)?")
VERSION_TAG = re.compile(r"\d+\.\d+\.\d+")  # X.Y.Z: the served build of a code version
GHCR = "ghcr.io"
OWNER_PATHS = {"User": "users", "Organization": "orgs"}  # $OWNER_TYPE: github.event.repository.owner.type


# --- the plan (pure) ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Deletion:
    """One image to delete: its digest and its tags (all stamp tags, oldest first)."""

    digest: str
    tags: tuple[str, ...]


@dataclass(frozen=True)
class Plan:
    """What pruning does: `delete` oldest first; the rest is what it leaves alone, and why."""

    delete: tuple[Deletion, ...]
    kept: tuple[str, ...]  # the newest stamp tags, newest first
    served: tuple[str, ...]  # latest and X.Y.Z tags: their digests are never deleted
    other: tuple[str, ...]  # tags that are no stamp tag (malformed ones included): their digests are never deleted


def stamp_key(tag: str) -> tuple[str, tuple[int, int, int], str] | None:
    """A stamp tag's sort key (stamp, version, tag), or None for anything else, a stamp that is no instant included."""
    match = STAMP_TAG.fullmatch(tag)
    if not match:
        return None
    major, minor, patch, stamp = match.groups()
    try:
        dt.datetime.strptime(stamp, "%Y%m%d%H%M%S")
    except ValueError:
        return None
    return stamp, (int(major), int(minor), int(patch)), tag


def plan_pruning(tags: Mapping[str, str], keep: int) -> Plan:
    """Which images to delete, from every tag of the repository and its digest: keep the `keep` newest stamp tags
    (by stamp; equal stamps by version, then by tag), and delete an older stamp-tagged digest only if every tag it
    carries is an older stamp tag, so never the served image, an X.Y.Z, or anything else tagged."""
    if keep < 0:
        raise ValueError(f"keep must be 0 or more, not {keep}")
    keys = {tag: key for tag in tags if (key := stamp_key(tag)) is not None}
    newest = sorted(keys, key=keys.__getitem__, reverse=True)
    kept, older = newest[:keep], newest[keep:]
    served = sorted(tag for tag in tags if tag == SERVED_TAG or VERSION_TAG.fullmatch(tag))
    other = sorted(tag for tag in tags if tag not in keys and tag not in served)
    protected = {tags[tag] for tag in (*kept, *served, *other)}
    by_digest: dict[str, list[str]] = {}
    for tag in reversed(older):  # oldest first
        if tags[tag] not in protected:
            by_digest.setdefault(tags[tag], []).append(tag)
    # Each digest in the order of its newest tag, oldest first.
    order = sorted(by_digest, key=lambda digest: keys[by_digest[digest][-1]])
    delete = tuple(Deletion(digest, tuple(by_digest[digest])) for digest in order)
    return Plan(delete=delete, kept=tuple(kept), served=tuple(served), other=tuple(other))


# --- the backends ------------------------------------------------------------------------------------------------


class Registry(Protocol):
    """Where the images live: every tag with its digest, and deleting one image."""

    repository: str
    untagged: int  # versions that carry no tag (GHCR), left alone

    def tags(self) -> dict[str, str]: ...

    def delete(self, digest: str) -> str:
        """Delete the image; returns how it was named (`sha256:…` or `version N, sha256:…`)."""
        ...


class GhcrPackage:
    """A GHCR image through GitHub's packages REST API: one package version per manifest digest.

    A GITHUB_TOKEN may delete versions when the job has `packages: write` and the repository has the Admin role on
    the package (its settings: Manage Actions access); workflows deleting packages through the REST API is a public
    beta (preview) of GitHub's, subject to change.

    Untagged versions are never deleted: a multi-platform push (an index with its platform and attestation
    manifests) makes the children untagged versions, and telling the children of a deleted index from those of a
    kept one needs the manifests themselves (ghcr.io's registry API, behind a token exchange), which this does not
    read. Deleting an index leaves its children behind as untagged versions; they are counted, not touched.
    """

    def __init__(self, repository: str, env: Mapping[str, str]) -> None:
        parts = repository.split("/")
        if len(parts) < 3 or not all(parts[1:]):
            raise ReleaseError(f"{repository}: a GHCR image is ghcr.io/OWNER/PACKAGE")
        self.token = env.get("GITHUB_TOKEN", "").strip()
        if not self.token:
            raise ReleaseError("GITHUB_TOKEN is not set: GitHub's packages API needs it")
        owner_type = env.get("OWNER_TYPE", "").strip()
        if owner_type not in OWNER_PATHS:
            raise ReleaseError(f"OWNER_TYPE is {owner_type!r}, not one of {', '.join(OWNER_PATHS)}")
        api = (env.get("GITHUB_API_URL", "").strip() or "https://api.github.com").rstrip("/")
        package = urllib.parse.quote("/".join(parts[2:]), safe="")
        self.repository = repository
        self.untagged = 0
        self.url = f"{api}/{OWNER_PATHS[owner_type]}/{parts[1]}/packages/container/{package}/versions"
        self.versions: dict[str, int] = {}  # digest -> version id
        self.headers = {
            "Authorization": f"Bearer {self.token}",
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": "2022-11-28",
            "User-Agent": "crypto-predict-prune-images",
        }

    def tags(self) -> dict[str, str]:
        what = f"listing the versions of {self.repository}"
        tags: dict[str, str] = {}
        url: str | None = f"{self.url}?per_page=100"
        while url:
            answer = call("GET", url, self.headers, what)
            page = answer.json(what)
            if not isinstance(page, list):
                raise ReleaseError(f"{what}: the answer is no list of versions")
            for version in page:
                if not isinstance(version, dict):
                    raise ReleaseError(f"{what}: the answer is no list of versions")
                ident, digest = version.get("id"), version.get("name")
                if not isinstance(ident, int) or not isinstance(digest, str):
                    raise ReleaseError(f"{what}: a version without its id or digest")
                self.versions[digest] = ident
                version_tags = ((version.get("metadata") or {}).get("container") or {}).get("tags") or []
                self.untagged += not version_tags
                tags.update((str(tag), digest) for tag in version_tags)
            url = next_link(answer.headers, url)
        return tags

    def delete(self, digest: str) -> str:
        ident = self.versions[digest]
        call("DELETE", f"{self.url}/{ident}", self.headers, f"deleting version {ident} of {self.repository}")
        return f"version {ident}, {digest}"


def registry_for(image: str, env: Mapping[str, str]) -> Registry:
    """The backend for `image`'s registry: GitHub's packages API for ghcr.io, the OCI distribution API otherwise."""
    repository = repository_of(image)
    host, _, name = repository.partition("/")
    if not name or not ("." in host or ":" in host or host == "localhost"):
        raise ReleaseError(f"{image}: name the registry (ghcr.io/OWNER/NAME, HOST:PORT/NAME)")
    return GhcrPackage(repository, env) if host == GHCR else OciRegistry(repository)


# --- the step ----------------------------------------------------------------------------------------------------


def prune(registry: Registry, keep: int, dry_run: bool, say: Callable[[str], None] = print) -> Plan:
    """List, plan and delete (or only say what would be deleted); one line per image, then a summary line."""
    tags = registry.tags()
    if SERVED_TAG not in tags:
        raise ReleaseError(f"{registry.repository} has no `{SERVED_TAG}` tag: not pruning what cannot be told apart")
    plan = plan_pruning(tags, keep)
    verb = "would delete" if dry_run else "deleted"
    for deletion in plan.delete:
        named = deletion.digest if dry_run else registry.delete(deletion.digest)
        say(f"prune: {verb} {', '.join(f'{registry.repository}:{tag}' for tag in deletion.tags)} ({named})")
    served = sorted({tags[tag] for tag in plan.served})
    summary = (
        f"prune: {registry.repository}: {verb} {len(plan.delete)} image(s); kept the {len(plan.kept)} newest stamp "
        f"tag(s) and {len(served)} served image(s) ({', '.join(plan.served)}); left alone {len(plan.other)} other "
        f"tag(s) and {registry.untagged} untagged version(s)"
    )
    say(summary)
    if os.environ.get("GITHUB_STEP_SUMMARY"):
        write_summary(f"Image retention: {summary.removeprefix('prune: ')}.")
    return plan


def positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value}: keep at least 1 image")
    return value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--image", required=True, help="the repository (a tag or digest after it is ignored)")
    parser.add_argument("--keep", type=positive, default=KEEP_IMAGES, help=f"newest stamp tags kept ({KEEP_IMAGES})")
    parser.add_argument("--dry-run", action="store_true", help="list and plan, delete nothing")
    args = parser.parse_args(argv)
    token = os.environ.get("GITHUB_TOKEN", "").strip()
    try:
        prune(registry_for(args.image, os.environ), args.keep, args.dry_run)
    except (ReleaseError, RegistryError) as error:
        message = str(error).replace(token, "***") if token else str(error)
        print(f"prune: {message}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
