"""The model card: the backtest as a text table, and a self-contained HTML report (Plotly, no CDN)."""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

import plotly.graph_objects as go

from cryptopredict.forecast import ForecastTable, format_utc
from cryptopredict.timeframe import Timeframe, timeframe_of
from cryptopredict.training.card import format_table, horizon_label


def _forecast_figure(table: ForecastTable, timeframe: Timeframe, horizon_days: int) -> go.Figure:
    """The closes the served table holds (its timeframe's history window) and the whole forecast after them."""
    times = [format_utc(table.time_of(row)) for row in range(len(table.prediction))]
    last = table.last_row
    begin = max(0, last - timeframe.bars_in(timeframe.table_history_days * 86_400))
    shown_days = round((table.last_bar - table.time_of(begin)) / 86_400)
    ahead = slice(last, len(times))
    figure = go.Figure()
    figure.add_scatter(
        x=times[ahead], y=table.high[ahead], line={"width": 0}, showlegend=False, hoverinfo="skip", name="high"
    )
    figure.add_scatter(
        x=times[ahead],
        y=table.low[ahead],
        fill="tonexty",
        line={"width": 0},
        fillcolor="rgba(31,119,180,0.2)",
        name=f"{table.interval:.0%} band",
    )
    figure.add_scatter(x=times[ahead], y=table.prediction[ahead], name="forecast", line={"color": "#1f77b4"})
    figure.add_scatter(
        x=times[begin : last + 1], y=table.actual[begin : last + 1], name="close", line={"color": "#333"}
    )
    figure.add_scatter(x=[times[last]], y=[table.actual[last]], mode="markers", marker={"size": 9}, name="last bar")
    figure.update_layout(
        title=f"{table.symbol}: the last {shown_days} days of {timeframe.name} closes, then {horizon_days} days ahead",
        yaxis_type="log",
        height=480,
    )
    return figure


def _backtest_figures(backtest: Sequence[dict[str, Any]], interval: float) -> tuple[go.Figure, go.Figure]:
    labels = [horizon_label(r) for r in backtest]
    errors = go.Figure()
    errors.add_bar(x=labels, y=[r["model"]["mape"] * 100 for r in backtest], name="model")
    errors.add_bar(x=labels, y=[r["naive"]["mape"] * 100 for r in backtest], name="naive (last close)")
    errors.update_layout(title="Backtest: MAPE by horizon (%)", barmode="group", height=380)
    coverage = go.Figure()
    for side, name in (("model", "model band"), ("naive", "naive band")):
        shares = [None if r[side]["coverage"] is None else r[side]["coverage"] * 100 for r in backtest]
        coverage.add_bar(x=labels, y=shares, name=name)
    coverage.add_hline(y=interval * 100, line_dash="dash", annotation_text="nominal")
    coverage.update_layout(title="Backtest: share of outcomes inside the band (%)", barmode="group", height=380)
    return errors, coverage


def _update_text(card: dict[str, Any]) -> str:
    """What the run did: refitted (backtest, gate, Prophet fit), or re-anchored the stored fit at the newest close."""
    fit = f"{card['rows']} {card['timeframe']} bars, {card['first_bar']} to {card['fit_last_bar']}"
    if card["update"] == "reanchor":
        return (
            f"Re-anchored at {card['trained_at']} on the newest close: the stored Prophet fit of {card['fitted_at']} "
            f"({fit}) and its band, with no new backtest."
        )
    return f"Refitted at {card['fitted_at']}: backtest, gate and a Prophet fit on {fit}."


def _pair_section(table: ForecastTable, card: dict[str, Any], verdict: list[str], first: bool) -> str:
    backtest = card["backtest"]["horizons"]
    timeframe = timeframe_of(card["timeframe"])
    figures = [
        _forecast_figure(table, timeframe, card["horizon_days"]),
        *_backtest_figures(backtest, table.interval),
    ]
    parts = [
        figure.to_html(full_html=False, include_plotlyjs=(first and i == 0), config={"displaylogo": False})
        for i, figure in enumerate(figures)
    ]
    status = "passed" if not verdict else "FAILED (the previous model is kept): " + "; ".join(verdict)
    if card["update"] == "reanchor":
        status += f" (at the refit of {card['fitted_at']})"
    model, bt = card["model"], card["backtest"]
    e = html.escape
    source = card["source"]
    historical = "" if source["kind"] == "alpaca" else ": historical data, not kept current"
    newest = (
        f"Newest bar {card['last_bar']} (the anchor), from {source['kind']} data"
        f"{' ' + source['path'] if 'path' in source else ''}{historical}; the run used the bars closed by "
        f"{card['trained_until']}."
    )
    method = (
        f"Prophet on the log close, anchored at the last close, trend damped by {model['damping']}, "
        f"changepoint prior {model['changepoint_prior_scale']}; band: {e(bt['band'])}."
    )
    scope = (
        f"Backtest: {bt['refits']} refits, forecasts from {bt['origins']} origins, "
        f"{bt['first_scored_origin']} to {bt['last_origin']}"
    )
    return f"""<section>
<h1>{e(card["symbol"])} {e(card["timeframe"])} — model {e(card["model_version"])}</h1>
<p>{e(_update_text(card))} {e(newest)}</p>
<p>{method}</p>
<p>Quality gate: <strong>{e(status)}</strong></p>
<h2>{scope}</h2>
<pre>{e(format_table(backtest))}</pre>
{"".join(parts)}
</section>
"""


def render_report(sections: Sequence[tuple[ForecastTable, dict[str, Any], list[str]]]) -> str:
    """One HTML page with a section per pair and Plotly's JavaScript inlined once, so it opens with no network."""
    symbols = ", ".join(html.escape(card["symbol"]) for _, card, _ in sections)
    body = "".join(_pair_section(table, card, verdict, i == 0) for i, (table, card, verdict) in enumerate(sections))
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Model cards: {symbols}</title>
<style>body{{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto}}
pre{{background:#f5f5f5;padding:1em}}section+section{{border-top:2px solid #ccc;margin-top:3em}}</style>
</head><body>
{body}</body></html>
"""
