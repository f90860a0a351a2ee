"""The model card: the backtest as a text table, and a self-contained HTML report (Plotly, no CDN)."""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

import plotly.graph_objects as go

from cryptopredict.core.dates import format_utc
from cryptopredict.core.forecast import LEVELS, ForecastTable, coverage_of
from cryptopredict.core.timeframe import Timeframe, timeframe_of
from cryptopredict.core.track import TrackRecord, format_summary, verdict_line
from cryptopredict.training.card import format_table, horizon_label


def _forecast_figure(table: ForecastTable, timeframe: Timeframe, horizon_days: int) -> go.Figure:
    """The closes the served table holds (its timeframe's table history) and the whole forecast after them."""
    times = [format_utc(table.time_of(row)) for row in range(len(table.prediction))]
    last = table.last_row
    begin = max(0, last - timeframe.bars_in(timeframe.table_history_days * 86_400))
    shown_days = round((table.last_bar - table.time_of(begin)) / 86_400)
    ahead = range(last, len(times))
    figure = go.Figure()
    # The widest band first, so each narrower one is drawn over it, darker.
    for opacity, level in zip((0.12, 0.2, 0.3), reversed(LEVELS), strict=True):
        ends = [table.band_at(row, level) for row in ahead]
        figure.add_scatter(
            x=times[last:], y=[high for _, high in ends], line={"width": 0}, showlegend=False, hoverinfo="skip"
        )
        figure.add_scatter(
            x=times[last:],
            y=[low for low, _ in ends],
            fill="tonexty",
            line={"width": 0},
            fillcolor=f"rgba(31,119,180,{opacity})",
            name=f"{coverage_of(level):.0%} band",
        )
    ahead = slice(last, len(times))
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


def _backtest_figures(backtest: Sequence[dict[str, Any]], served_level: int) -> tuple[go.Figure, go.Figure]:
    labels = [horizon_label(r) for r in backtest]
    errors = go.Figure()
    for side, name in (("model", "model"), ("naive", "naive (last close)")):
        errors.add_bar(x=labels, y=[r[side]["mape"] * 100 for r in backtest], name=name)
    errors.update_layout(title="Backtest: MAPE by horizon (%)", barmode="group", height=380)
    coverage = go.Figure()
    for k, level in enumerate(LEVELS):
        shares = [None if (c := r["model"]["levels"][k]["coverage"]) is None else c * 100 for r in backtest]
        coverage.add_bar(x=labels, y=shares, name=f"model {level}% band")
        coverage.add_hline(y=coverage_of(level) * 100, line_dash="dash", annotation_text=f"nominal {level}%")
    naive = [None if (c := r["naive"]["coverage"]) is None else c * 100 for r in backtest]
    coverage.add_bar(x=labels, y=naive, name=f"naive {served_level}% band")
    coverage.update_layout(
        title="Backtest: share of outcomes inside each band (%), against its nominal coverage",
        barmode="group",
        height=380,
    )
    return errors, coverage


def _update_text(card: dict[str, Any]) -> str:
    """What the run did: refitted (backtest, gate, Prophet fit), or re-anchored the stored fit at the newest close."""
    fitted_at = card["fitted_at"]
    fit = f"{card['rows']} {card['timeframe']} bars, {card['first_bar']} to {card['fit_last_bar']}"
    if card["update"] == "reanchor":
        return (
            f"Re-anchored at {card['trained_at']} on the newest close: the stored Prophet fit of {fitted_at} "
            f"({fit}) and its band, with no new backtest."
        )
    return f"Refitted at {fitted_at}: backtest, gate and a Prophet fit on {fit}."


def _pair_section(table: ForecastTable, card: dict[str, Any], verdict: list[str], first: bool) -> str:
    model, bt, source = card["model"], card["backtest"], card["source"]
    backtest = bt["horizons"]
    timeframe = timeframe_of(card["timeframe"])
    figures = [
        _forecast_figure(table, timeframe, card["horizon_days"]),
        *_backtest_figures(backtest, table.level),
    ]
    parts = [
        figure.to_html(full_html=False, include_plotlyjs=(first and i == 0), config={"displaylogo": False})
        for i, figure in enumerate(figures)
    ]
    status = "passed" if not verdict else "FAILED (the previous model is kept): " + "; ".join(verdict)
    if card["update"] == "reanchor":
        status += f" (at the refit of {card['fitted_at']})"
    e = html.escape
    kind = source["kind"]
    historical = "" if kind == "alpaca" else ": historical data, not kept current"
    newest = (
        f"Newest bar {card['last_bar']} (the anchor), from {kind} data"
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
    title = f"{card['symbol']} {card['timeframe']} — model {card['model_version']}"
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


def _record_section(record: TrackRecord) -> str:
    """A pair's track record: its summary and verdict, and the served forecasts against the actual closes."""
    summary = record.summary
    figure = go.Figure()
    order = range(len(record))  # oldest first
    dates = [format_utc(record.date[i]) for i in order]
    figure.add_scatter(x=dates, y=[record.actual[i] for i in order], name="actual close", line={"color": "#333"})
    figure.add_scatter(
        x=dates, y=[record.prediction[i] for i in order], name="served forecast", mode="markers", marker={"size": 4}
    )
    figure.update_layout(title=f"{record.symbol}: what was served against what happened", height=380)
    e = html.escape
    drift = summary["drift"]
    flag = "DEGRADED: " if drift["degraded"] else ""
    config = {"displaylogo": False}
    chart = figure.to_html(full_html=False, include_plotlyjs=False, config=config) if len(record) else ""
    return f"""<section>
<h2>{e(record.symbol)}: track record (served forecasts scored against actual closes)</h2>
<p>{e(flag + verdict_line(summary))}</p>
<pre>{e(format_summary(summary))}</pre>
{chart}
</section>
"""


def render_report(
    sections: Sequence[tuple[ForecastTable, dict[str, Any], list[str]]], records: Sequence[TrackRecord] = ()
) -> str:
    """One HTML page with a section per pair and Plotly's JavaScript inlined once, so it opens with no network;
    then each pair's track record."""
    symbols = ", ".join(html.escape(card["symbol"]) for _, card, _ in sections)
    body = "".join(_pair_section(table, card, verdict, i == 0) for i, (table, card, verdict) in enumerate(sections))
    body += "".join(_record_section(record) for record in records)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Model cards: {symbols}</title>
<style>body{{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto}}
pre{{background:#f5f5f5;padding:1em}}section+section{{border-top:2px solid #ccc;margin-top:3em}}</style>
</head><body>
{body}</body></html>
"""
