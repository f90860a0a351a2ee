"""How current each pair's model is, measured by its data: shared by GET /pairs and GET /ready.

A model is only as fresh as the newest price it has seen: its data age is now minus the close of its newest bar
(that bar's start plus its length). A pair trained on live Alpaca bars should stay current, so /ready fails once
its data is older than MAX_DATA_AGE_SECONDS. The embedded history and CSV files end where they end: their age is
reported, with a note saying so, but never called stale.
"""

from __future__ import annotations

from typing import Any

from cryptopredict.core.artifact import Artifact, PairModel
from cryptopredict.core.dates import format_utc
from cryptopredict.serving.messages import HISTORICAL_NOTE, LIVE_NOTE


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


def stale_reasons(artifact: Artifact, max_model_age: int, max_data_age: int) -> list[str]:
    """Why the artifact is not ready, one sentence per kind of staleness; empty when it is."""
    reasons = []
    old_models = [
        f"{symbol} ({pair.version}, trained {age / 3600:.1f} h ago)"
        for symbol, pair in artifact.pairs.items()
        if (age := pair.age_seconds()) > max_model_age
    ]
    if old_models:
        reasons.append(
            f"models older than the {max_model_age / 3600:g} h allowed (MAX_MODEL_AGE_SECONDS): "
            f"{', '.join(old_models)}; retraining has stalled"
        )
    old_data = [
        f"{symbol}: newest bar closed {age / 3600:.1f} h ago"
        for symbol, pair in artifact.pairs.items()
        if pair.live and (age := pair.data_age_seconds()) > max_data_age
    ]
    if old_data:
        reasons.append(
            f"live data older than the {max_data_age / 3600:g} h allowed (MAX_DATA_AGE_SECONDS): "
            f"{', '.join(old_data)}; no newer bars have reached the model"
        )
    return reasons
