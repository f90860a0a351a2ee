"""The instant a workflow run trains up to, and the stamp its image tags carry, from one reading of the clock.

Usage: python scripts/run_instant.py [--now INSTANT]
Prints, as `key=value` lines for $GITHUB_OUTPUT:
  until=YYYY-MM-DDTHH:00:00Z  the instant truncated to the hour, for train.py --until (the Docker build's UNTIL):
                              training uses exactly the hourly bars that had closed by then, so each run at
                              00/06/12/18 UTC sees the bars that closed since the previous one, and a rebuild of
                              the same run trains on the same bars
  stamp=YYYYMMDDHHMMSS        the same instant to the second, for the image tag VERSION-STAMP (unique per run)
Standard library only: the workflow runs it with the runner's bare python3.
"""

from __future__ import annotations

import argparse
import datetime as dt


def parse_instant(text: str) -> dt.datetime:
    """An ISO 8601 date-time with Z or an offset, as an aware UTC datetime; a naive one is ambiguous, so refused."""
    try:
        moment = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an ISO 8601 date-time") from None
    if moment.tzinfo is None:
        raise argparse.ArgumentTypeError(f"{text!r} has no offset: write Z or +HH:MM")
    return moment.astimezone(dt.UTC)


def run_outputs(now: dt.datetime) -> dict[str, str]:
    """The workflow's `until` and `stamp`, both from `now` (aware)."""
    moment = now.astimezone(dt.UTC)
    until = moment.replace(minute=0, second=0, microsecond=0)
    return {"until": f"{until:%Y-%m-%dT%H:%M:%SZ}", "stamp": f"{moment:%Y%m%d%H%M%S}"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--now",
        type=parse_instant,
        metavar="INSTANT",
        help="the run's instant (default: the clock), e.g. 2026-11-25T06:17:42Z",
    )
    args = parser.parse_args(argv)
    for key, value in run_outputs(args.now or dt.datetime.now(dt.UTC)).items():
        print(f"{key}={value}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
