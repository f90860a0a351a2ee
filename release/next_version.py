"""The version a workflow run ships: the commit's own version tag, or, on a commit that has none, the next patch.

Every run of a commit without a version tag tags one, whatever started the run: a scheduled run that replaced a
push run still pending (GitHub keeps one pending run per concurrency group) builds the new commit, and must not
ship it under the previous commit's version. Reruns and later scheduled runs of a tagged commit reuse its version.

Usage: python -m release.next_version [--tag [--push REMOTE]]
Prints `version=X.Y.Z` and `created=true|false` (and appends them to $GITHUB_OUTPUT when set). With --tag it
creates the annotated tag `vX.Y.Z` on HEAD when a new version is due, as github-actions[bot]; with --push it
pushes that tag to REMOTE.
"""

from __future__ import annotations

import argparse
import re
import subprocess

from release.common import write_outputs

# The identity of the tags the workflow creates (GitHub's own bot account for actions).
TAGGER = ("github-actions[bot]", "41898282+github-actions[bot]@users.noreply.github.com")
TAG = re.compile(r"^v(\d+)\.(\d+)\.(\d+)$")


def parse(tag: str) -> tuple[int, int, int] | None:
    match = TAG.match(tag.strip())
    return (int(match[1]), int(match[2]), int(match[3])) if match else None


def choose_version(tags_on_head: list[str], all_tags: list[str]) -> tuple[str, bool]:
    """(version, whether a new tag is due): the commit's version, else the next patch after the highest tag."""
    on_head = sorted(v for v in map(parse, tags_on_head) if v)
    if on_head:
        return "{}.{}.{}".format(*on_head[-1]), False  # a rerun or a later run of a tagged commit keeps its version
    known = sorted(v for v in map(parse, all_tags) if v)
    major, minor, patch = known[-1] if known else (0, 1, -1)
    return f"{major}.{minor}.{patch + 1}", True


def git(*args: str) -> list[str]:
    return subprocess.run(["git", *args], check=True, capture_output=True, text=True).stdout.split()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tag", action="store_true", help="create the tag on HEAD when a new version is due")
    parser.add_argument("--push", metavar="REMOTE", help="push the created tag to REMOTE (with --tag)")
    args = parser.parse_args()
    version, created = choose_version(git("tag", "--points-at", "HEAD"), git("tag", "--list", "v*"))
    if created and args.tag:
        name, email = TAGGER
        git("-c", f"user.name={name}", "-c", f"user.email={email}", "tag", "-a", f"v{version}", "-m", f"v{version}")
        if args.push:
            git("push", args.push, f"refs/tags/v{version}")
    write_outputs({"version": version, "created": "true" if created else "false"})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
