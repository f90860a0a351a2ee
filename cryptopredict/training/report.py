"""The model card: the backtest as a text table, and a self-contained HTML report (Plotly, no CDN)."""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

import plotly.graph_objects as go

from cryptopredict.dates import format_utc
from cryptopredict.forecast import ForecastTable
from cryptopredict.manifest import Backtest, HorizonScores, ModelDescription, PairCard, Scores, Source
from cryptopredict.timeframe import Timeframe, timeframe_of
from cryptopredict.training.card import format_table, horizon_label


def _forecast_figure(table: ForecastTable, timeframe: Timeframe, horizon_days: int) -> go.Figure:
    """The closes the served table holds (its timeframe's table history) and the whole forecast after them."""
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
    for side, name in ((HorizonScores.model, "model"), (HorizonScores.naive, "naive (last close)")):
        errors.add_bar(x=labels, y=[r[side][Scores.mape] * 100 for r in backtest], name=name)
    errors.update_layout(title="Backtest: MAPE by horizon (%)", barmode="group", height=380)
    coverage = go.Figure()
    for side, name in ((HorizonScores.model, "model band"), (HorizonScores.naive, "naive band")):
        shares = [None if (c := r[side][Scores.coverage]) is None else c * 100 for r in backtest]
        coverage.add_bar(x=labels, y=shares, name=name)
    coverage.add_hline(y=interval * 100, line_dash="dash", annotation_text="nominal")
    coverage.update_layout(title="Backtest: share of outcomes inside the band (%)", barmode="group", height=380)
    return errors, coverage


def _update_text(card: dict[str, Any]) -> str:
    """What the run did: refitted (backtest, gate, Prophet fit), or re-anchored the stored fit at the newest close."""
    fitted_at = card[PairCard.fitted_at]
    fit = (
        f"{card[PairCard.rows]} {card[PairCard.timeframe]} bars, "
        f"{card[PairCard.first_bar]} to {card[PairCard.fit_last_bar]}"
    )
    if card[PairCard.update] == "reanchor":
        return (
            f"Re-anchored at {card[PairCard.trained_at]} on the newest close: the stored Prophet fit of {fitted_at} "
            f"({fit}) and its band, with no new backtest."
        )
    return f"Refitted at {fitted_at}: backtest, gate and a Prophet fit on {fit}."


def _pair_section(table: ForecastTable, card: dict[str, Any], verdict: list[str], first: bool) -> str:
    model, bt, source = card[PairCard.model], card[PairCard.backtest], card[PairCard.source]
    backtest = bt[Backtest.horizons]
    timeframe = timeframe_of(card[PairCard.timeframe])
    figures = [
        _forecast_figure(table, timeframe, card[PairCard.horizon_days]),
        *_backtest_figures(backtest, table.interval),
    ]
    parts = [
        figure.to_html(full_html=False, include_plotlyjs=(first and i == 0), config={"displaylogo": False})
        for i, figure in enumerate(figures)
    ]
    status = "passed" if not verdict else "FAILED (the previous model is kept): " + "; ".join(verdict)
    if card[PairCard.update] == "reanchor":
        status += f" (at the refit of {card[PairCard.fitted_at]})"
    e = html.escape
    kind = source[Source.kind]
    historical = "" if kind == "alpaca" else ": historical data, not kept current"
    newest = (
        f"Newest bar {card[PairCard.last_bar]} (the anchor), from {kind} data"
        f"{' ' + source[Source.path] if Source.path in source else ''}{historical}; the run used the bars closed by "
        f"{card[PairCard.trained_until]}."
    )
    method = (
        f"Prophet on the log close, anchored at the last close, trend damped by {model[ModelDescription.damping]}, "
        f"changepoint prior {model[ModelDescription.changepoint_prior_scale]}; band: {e(bt[Backtest.band])}."
    )
    scope = (
        f"Backtest: {bt[Backtest.refits]} refits, forecasts from {bt[Backtest.origins]} origins, "
        f"{bt[Backtest.first_scored_origin]} to {bt[Backtest.last_origin]}"
    )
    title = f"{card[PairCard.symbol]} {card[PairCard.timeframe]} — model {card[PairCard.model_version]}"
    return f"""<section>
<h1>{e(title)}</h1>
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
    symbols = ", ".join(html.escape(card[PairCard.symbol]) for _, card, _ in sections)
    body = "".join(_pair_section(table, card, verdict, i == 0) for i, (table, card, verdict) in enumerate(sections))
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Model cards: {symbols}</title>
<style>body{{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto}}
pre{{background:#f5f5f5;padding:1em}}section+section{{border-top:2px solid #ccc;margin-top:3em}}</style>
</head><body>
{body}</body></html>
"""
