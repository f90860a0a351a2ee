"""The track record: the forecasts a pair's served models answered, scored against what happened. Standard library only.

Every training run scores the previous artifact's forecasts for the bars that closed since its newest bar, exactly as
the API answered them (the default band: `GET /predict/{pair}?date=<bar>` without `level`), and appends them to the
pair's record, `<pair>.record.json` in the artifact, which the next run carries forward. This package defines that
file (serialize.py), its bound (365 days of points; older ones folded into per-bucket and per-version sums, never
dropped: record.py, sums.py), the summary (by the horizon buckets `Timeframe.track_buckets` defines, overall and per
served model version: summary.py) and the drift verdict (drift.py). Training writes it, the server, release/monitor.py
and release/model_card.py read it, and the API's schemas are generated from the records in records.py.
"""

from cryptopredict.core.track.record import TrackRecord, empty_record
from cryptopredict.core.track.records import (
    KEEP_DAYS,
    BucketFigures,
    Drift,
    DriftRules,
    Figures,
    RecordError,
    Rules,
    Run,
    TrackPoint,
    TrackSummary,
    VersionFigures,
)
from cryptopredict.core.track.text import format_summary, format_summary_markdown, summary_rows, verdict_line

__all__ = [
    "KEEP_DAYS",
    "BucketFigures",
    "Drift",
    "DriftRules",
    "Figures",
    "RecordError",
    "Rules",
    "Run",
    "TrackPoint",
    "TrackRecord",
    "TrackSummary",
    "VersionFigures",
    "empty_record",
    "format_summary",
    "format_summary_markdown",
    "summary_rows",
    "verdict_line",
]
