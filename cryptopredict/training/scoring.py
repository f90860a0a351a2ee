"""Scoring what was served: each run appends the previous artifact's forecasts, as the API answered them, for every
bar that closed since that artifact's newest bar, to the pair's track record (cryptopredict/core/track/).

A forecast is looked up exactly as the server does (`ForecastTable.lookup` at the bar's start, the default level: what
`GET /predict/{pair}?date=<bar>` answers without `level`), and its actual is the bar's close from the table this run
made. A bar is scored once: only bars after both the served model's newest bar and the record's newest scored bar.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from cryptopredict.core.artifact import (
    MANIFEST_FILE,
    ArtifactError,
    UnreadableFormat,
    pair_files,
    read_previous_artifact,
)
from cryptopredict.core.dates import format_utc
from cryptopredict.core.forecast import DEFAULT_LEVEL, ForecastTable
from cryptopredict.core.timeframe import timeframe_of
from cryptopredict.core.track import DriftRules, Run, TrackRecord, empty_record, verdict_line
from cryptopredict.training.stored import PairEntry


@dataclass(frozen=True)
class Scored:
    """A pair's record after this run, and what happened to it in one line."""

    record: bytes
    note: str


def why_no_previous(model_dir: Path) -> str:
    """Why the previous artifact holds nothing of a pair: none there, unreadable, of an old format, or a new pair."""
    if not (Path(model_dir) / MANIFEST_FILE).is_file():
        return "no previous artifact"
    try:
        read_previous_artifact(model_dir)
    except UnreadableFormat as exc:
        return str(exc)
    except ArtifactError as exc:
        return f"the previous artifact cannot be used ({exc})"
    return "new to the artifact"


def _carried(stored: PairEntry, symbol: str) -> tuple[TrackRecord | None, str | None]:
    """The stored record, or None and why there is none to carry."""
    name = pair_files(symbol).record
    raw = stored.files.get(name)
    if raw is None:
        return None, stored.absent.get(name, "the previous artifact has no track record")
    try:
        return TrackRecord.from_json(raw), None
    except ValueError as exc:
        return None, f"the stored record cannot be read ({exc})"


def _figures(record: TrackRecord) -> str:
    overall = record.summary["overall"]
    ratio, coverage = overall["mape_ratio"], overall["coverage"]
    return (
        f"record {overall['points']} points"
        + (f", MAPE ratio {ratio:.3f}" if ratio is not None else "")
        + (f", coverage {coverage:.1%}" if coverage is not None else "")
        + "; "
        + verdict_line(record.summary).split(": ", 1)[1]
    )


def score_pair(
    symbol: str,
    stored: PairEntry | None,
    actuals: ForecastTable | None,
    rules: DriftRules,
    absent: str,
    timeframe_name: str,
) -> Scored:
    """The pair's record after this run: the stored one (or a new one) with the stored forecasts scored against the
    closes in `actuals` (this run's table; None when this run made none, then nothing is scored).

    `absent` says why there is no stored model when `stored` is None; `timeframe_name` is the served model's
    bar length, for a record started without a table of this run."""
    record, why = (None, absent) if stored is None else _carried(stored, symbol)
    if actuals is None:  # the stored forecast stays served: its bars are scored by a later run
        if stored is not None and record is not None:
            note = f"nothing scored (no new forecast this run); {_figures(record)}"
            return Scored(stored.files[pair_files(symbol).record], note)
        return Scored(
            empty_record(symbol, timeframe_name, DEFAULT_LEVEL, rules).to_json(),
            f"{why}: the record starts empty; nothing scored (no new forecast this run)",
        )
    record, lead = _record_to_extend(symbol, record, why, actuals.timeframe, rules)
    if stored is None:
        return Scored(record.to_json(), lead + "nothing to score (no served forecast)")
    try:
        served = ForecastTable.from_json(stored.files[pair_files(symbol).forecast])
    except (ValueError, KeyError) as exc:
        return Scored(record.to_json(), lead + f"the served forecast cannot be read ({exc}): nothing scored")
    if served.timeframe != actuals.timeframe:
        return Scored(record.to_json(), lead + f"the served model was for {served.timeframe} bars: nothing scored")
    return _score_served(record, lead, served, stored.card["model_version"], actuals)


def _record_to_extend(
    symbol: str, record: TrackRecord | None, why: str | None, timeframe_name: str, rules: DriftRules
) -> tuple[TrackRecord, str]:
    """The record this run's bars extend, under this run's drift rules, and the note's lead when it starts anew:
    there is none to carry (`why`), or the stored one is of another bar length."""
    lead = ""
    if record is None:
        lead = f"{why}: the record starts empty; "
        record = empty_record(symbol, timeframe_name, DEFAULT_LEVEL, rules)
    elif record.timeframe != timeframe_name:
        lead = (
            f"the record of {len(record) + record.archive.points} {record.timeframe} points is closed: this run's bars "
            f"are {timeframe_name}; a new record starts; "
        )
        record = empty_record(symbol, timeframe_name, DEFAULT_LEVEL, rules)
    return replace(record, rules=rules), lead


def _score_served(
    record: TrackRecord, lead: str, served: ForecastTable, served_version: str, actuals: ForecastTable
) -> Scored:
    """`record` extended with the served forecast at every bar of `actuals` that closed after both the served
    model's newest bar and the record's newest scored bar."""
    newest = record.newest
    after = served.last_bar if newest is None else max(served.last_bar, newest)
    again = "" if after == served.last_bar else f" (bars to {format_utc(after)} were scored already)"
    rows, late = _served_rows(served, actuals, after)
    lost = ""
    if actuals.start > after + actuals.step:
        lost = f"; bars before {format_utc(actuals.start)} are older than this run's table and were not scored"
    if not rows:
        nothing = f"no bar closed after {format_utc(after)}{again}: nothing scored; "
        return Scored(record.to_json(), lead + nothing + _figures(record))
    anchor_close = served.actual[served.last_row]
    assert anchor_close is not None  # the newest bar is an observed close
    record = record.extended(Run(served_version, served.last_bar, anchor_close), rows)
    timeframe = timeframe_of(actuals.timeframe)
    horizons = [(moment - served.last_bar) // timeframe.seconds for moment, *_ in rows]
    skipped = f"; {late} bars past its range not scored" if late else ""
    return Scored(
        record.to_json(),
        lead + f"scored {len(rows)} bars {format_utc(rows[0][0])} to {format_utc(rows[-1][0])} "
        f"({min(horizons)}-{max(horizons)} {timeframe.unit}s ahead) served by {served_version}{again}{skipped}{lost}; "
        + _figures(record),
    )


def _served_rows(
    served: ForecastTable, actuals: ForecastTable, after: int
) -> tuple[list[tuple[int, float, float, float, float]], int]:
    """What the API answered, without level, at each bar of `actuals` that closed after `after`, with its close;
    and how many such bars lie past the served forecast's range (where the API answered a 422)."""
    rows = []
    late = 0
    first_row = max(0, (after - actuals.start) // actuals.step + 1)  # the first bar after `after`
    for row in range(first_row, actuals.last_row + 1):
        close = actuals.actual[row]
        moment = actuals.time_of(row)
        if close is None:
            continue  # a gap in the bars: nothing closed there
        if moment > served.end:
            late += 1  # past the served model's range: the API answered a 422 there
            continue
        point = served.lookup(moment)  # what GET /predict/{pair}?date=<bar> answered, without level
        rows.append((moment, point.prediction, point.low, point.high, close))
    return rows, late
