"""The instant a workflow run trains up to, and the stamp its image tags carry, from one reading of the clock.

Usage: python -m release.run_instant [--now INSTANT]
Prints, as `key=value` lines for $GITHUB_OUTPUT:
  until=YYYY-MM-DDTHH:00:00Z  the instant truncated to the hour, for train.py --until (the Docker build's UNTIL):
                              training uses exactly the hourly bars that had closed by then, so each run at
                              00/06/12/18 UTC sees the bars that closed since the previous one, and a rebuild of
                              the same run trains on the same bars
  stamp=YYYYMMDDHHMMSS        the same instant to the second, for the image tag VERSION-STAMP (unique per run)
Standard library only: the workflow runs it with the runner's bare python3 from the repository's root, and it
imports only cryptopredict.core.dates (itself standard library only).
"""

from __future__ import annotations

import argparse
import datetime as dt

from cryptopredict.core.dates import format_utc, parse_utc


def parse_instant(text: str) -> dt.datetime:
    """--now as train.py reads --until: a day or an ISO 8601 date-time, UTC unless it carries an offset, as an aware
    UTC datetime."""
    try:
        return parse_utc(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def run_outputs(now: dt.datetime) -> dict[str, str]:
    """The workflow's `until` and `stamp`, both from `now` (aware)."""
    moment = now.astimezone(dt.UTC)
    until = moment.replace(minute=0, second=0, microsecond=0)
    return {"until": format_utc(until), "stamp": f"{moment:%Y%m%d%H%M%S}"}


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
