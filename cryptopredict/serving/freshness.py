"""How current each pair's model is, measured by its data: shared by GET /pairs and GET /ready.

A model is only as fresh as the newest price it has seen: its data age is now minus the close of its newest bar
(that bar's start plus its length). A pair trained on live Alpaca bars should stay current, so /ready fails once
its data is older than MAX_DATA_AGE_SECONDS. The embedded history and CSV files end where they end: their age is
reported, with a note saying so, but never called stale.
"""

from __future__ import annotations

from typing import Any

import marshmallow as ma

from cryptopredict.core.artifact import PairModel
from cryptopredict.core.dates import format_utc
from cryptopredict.core.manifest import PairCard, Source
from cryptopredict.serving.records import field_of

LIVE_NOTE = "live data: /ready answers 503 once its newest bar closed longer ago than MAX_DATA_AGE_SECONDS"
HISTORICAL_NOTE = "historical data: not kept current"


class Freshness(ma.Schema):
    """Where a pair's bars came from and how old its data and its model are."""

    class Meta:
        description = "Where a pair's bars came from and how old its data and its model are"

    source = field_of(Source.fields["kind"])  # the card's source.kind
    live = ma.fields.Boolean(
        required=True,
        metadata={"description": "Trained on live data (alpaca), which /ready expects to be current"},
    )
    last_bar = field_of(PairCard.fields["last_bar"])
    newest_close = ma.fields.String(
        required=True,
        metadata={"format": "date-time", "description": "When the newest bar closed: the newest price the model knows"},
    )
    data_age_seconds = ma.fields.Integer(
        required=True, metadata={"description": "Now minus newest_close, in seconds: how old the newest price is"}
    )
    model_age_seconds = ma.fields.Integer(
        required=True, metadata={"description": "Seconds since this pair's forecast was made (its trained_at)"}
    )
    note = ma.fields.String(
        required=True,
        metadata={
            "enum": [LIVE_NOTE, HISTORICAL_NOTE],
            "description": "For embedded or csv data, that it is historical and not kept current",
        },
    )


def freshness(pair: PairModel) -> dict[str, Any]:
    """The `Freshness` fields of one pair, now."""
    return {
        "source": pair.source_kind,
        "live": pair.live,
        "last_bar": format_utc(pair.forecast.last_bar),
        "newest_close": format_utc(pair.newest_close),
        "data_age_seconds": int(pair.data_age_seconds()),
        "model_age_seconds": int(pair.age_seconds()),
        "note": LIVE_NOTE if pair.live else HISTORICAL_NOTE,
    }
