"""What a run writes: the artifact with every served pair (the manifest records what the run did with each), and
the HTML model cards beside it."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cryptopredict.core.artifact import write_artifact
from cryptopredict.core.dates import format_utc
from cryptopredict.core.files import write_atomically
from cryptopredict.core.manifest import FORMAT, Manifest, RunOutcome
from cryptopredict.core.track import TrackRecord
from cryptopredict.core.typed_json import build
from cryptopredict.training.outcomes import PairOutcome, PairStatus
from cryptopredict.training.report import render_report
from cryptopredict.training.settings import TrainSettings
from cryptopredict.training.stored import PairEntry


def default_report_path(model_dir: Path) -> Path:
    """The HTML model card sits next to the artifact, not inside it: serving never needs it."""
    return Path(model_dir).with_name(Path(model_dir).name + "-report.html")


def refused_report_path(report_path: Path) -> Path:
    """Where a run that publishes nothing writes the cards of the models it made: model-report-refused.html."""
    return report_path.with_name(f"{report_path.stem}-refused{report_path.suffix}")


def run_outcome(outcomes: Mapping[str, PairOutcome]) -> dict[str, Any]:
    """The manifest's `run`: the pairs by status; a pair not trained counts as unchanged, a retired one as dropped."""
    return build(
        RunOutcome,
        updated=[s for s, o in outcomes.items() if o.status is PairStatus.UPDATED],
        unchanged=[s for s, o in outcomes.items() if o.status.stands],
        kept={s: o.reason for s, o in outcomes.items() if o.status is PairStatus.KEPT},
        dropped={s: o.reason for s, o in outcomes.items() if o.status in (PairStatus.DROPPED, PairStatus.RETIRED)},
    )


def publish_artifact(
    settings: TrainSettings, outcomes: Mapping[str, PairOutcome], served: Mapping[str, PairEntry]
) -> dict[str, Any]:
    """Write the artifact of the `served` pairs into the model folder; its manifest, as published."""
    cards = {symbol: entry.card for symbol, entry in served.items()}
    files = {name: data for entry in served.values() for name, data in entry.files.items()}
    published_at = dt.datetime.now(dt.UTC).replace(microsecond=0)
    versions = json.dumps({s: c["model_version"] for s, c in sorted(cards.items())}).encode()
    return write_artifact(
        settings.model_dir,
        files,
        build(
            Manifest,
            leave_out={"files"},  # write_artifact adds them, with their checksums
            format=FORMAT,
            model_version=f"{published_at:%Y%m%dT%H%M%SZ}-{hashlib.sha256(versions).hexdigest()[:8]}",
            published_at=format_utc(published_at),
            git_commit=settings.git_commit,
            pairs=dict(sorted(cards.items())),
            run=run_outcome(outcomes),
        ),
    )


def write_report(
    settings: TrainSettings, outcomes: Mapping[str, PairOutcome], records: list[bytes], published: bool
) -> Path | None:
    """The model cards of every model this run made, with the served pairs' track `records`; where they went, or
    None when the run made no model.

    The report beside the artifact describes the models served: a run that publishes nothing leaves it as it is, and
    writes the cards of the models it refused beside it instead."""
    sections = [(o.fitted.table, o.fitted.card, o.fitted.failures) for o in outcomes.values() if o.fitted]
    if not sections:
        return None
    report_path = settings.report_path or default_report_path(settings.model_dir)
    if not published:
        report_path = refused_report_path(report_path)
    write_atomically(report_path, render_report(sections, [TrackRecord.from_json(record) for record in records]))
    return report_path
