"""GET /pairs/{pair}/track-record: what the served models answered, against what happened.

The record is the artifact's `<pair>.record.json` (cryptopredict/core/track/ defines it, the summary and the drift
verdict); its /metrics series are in observability.py.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from flask import Response, g

from cryptopredict.core.artifact import pair_name
from cryptopredict.core.dates import format_utc
from cryptopredict.serving.http import StrictBlueprint, encode
from cryptopredict.serving.lookup import require_known_pair
from cryptopredict.serving.messages import NOTHING_SCORED
from cryptopredict.serving.schemas import UNKNOWN_PAIR, ErrorSchema, TrackRecordPage, TrackRecordQuery

blp = StrictBlueprint("track_record", __name__, description="The track record: served forecasts against what happened")
blp.before_request(require_known_pair)  # `g.pair`, or the usual 404 before the query is judged


@blp.route("/pairs/<pair:pair>/track-record")
@blp.arguments(TrackRecordQuery(), location="query", error_status_code=400)
@blp.response(200, TrackRecordPage())
@blp.alt_response(404, schema=ErrorSchema, description=UNKNOWN_PAIR)
def get_track_record(query: dict[str, Any], pair: str) -> Response:  # `pair` is checked before: g.pair
    """A pair's track record: every served forecast scored against the actual close

    Each training run scores the forecasts the previous model answered (without `level`) for every bar that closed
    since that model's newest bar, against the bar's close, and the naive forecast (that newest bar's close) on the
    same points. `summary` gives MAPE, the naive forecast's MAPE, their ratio and the band's coverage overall, by
    horizon bucket and by served model version, and the drift verdict on the newest points.
    """
    record = g.pair.record
    path_form = pair_name(g.pair.symbol)
    before = query.get("before")
    indices = record.newest_first(None if before is None else before.timestamp())
    page = [i for _, i in zip(range(query["limit"]), indices, strict=False)]
    next_link = None
    if page and page[-1] > 0:
        cursor = format_utc(record.date[page[-1]])
        next_link = f"/pairs/{path_form}/track-record?" + urlencode({"limit": query["limit"], "before": cursor})
    empty = record.summary["overall"]["points"] == 0  # archived points count: they were scored
    body = {"pair": path_form, "summary": record.summary, "points": [record.point(i) for i in page], "next": next_link}
    return encode({**body, "note": NOTHING_SCORED if empty else None})
