"""Print an artifact's model cards as Markdown (for GitHub's job summary). Usage: python -m release.model_card PATH"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from cryptopredict.core.artifact import pair_files
from cryptopredict.core.dates import parse_utc
from cryptopredict.core.timeframe import timeframe_of
from cryptopredict.core.track import TrackRecord, format_summary_markdown, verdict_line
from cryptopredict.training.card import format_markdown


def span(seconds: float) -> str:
    """An age for people: hours up to two days, days after that."""
    return f"{seconds / 3600:.1f} h" if seconds < 2 * 86_400 else f"{seconds / 86_400:.0f} days"


def describe(card: dict[str, Any]) -> str:
    """What the run did for one pair, on which bars, and how old its newest price was when it ran."""
    timeframe = timeframe_of(card["timeframe"])
    fitted_at, last_bar, until = card["fitted_at"], card["last_bar"], card["trained_until"]
    fit = f"{card['rows']} bars, {card['first_bar']} to {card['fit_last_bar']}"
    if card["update"] == "reanchor":
        update = f"Re-anchored the Prophet fit of {fitted_at} ({fit}) at the newest close"
    else:
        update = f"Refitted at {fitted_at} on {fit}"
    last_close = timeframe.closes_at(parse_utc(last_bar).timestamp())
    data_age = parse_utc(until).timestamp() - last_close
    source = card["source"]["kind"]
    if source != "alpaca":
        source += " (historical data, not kept current)"
    backtest = card["backtest"]
    return (
        f"{update}. Timeframe {timeframe.name}; newest bar {last_bar}, whose close was {span(data_age)} old "
        f"at the run's cut-off {until}; data: {source}. Commit `{card['git_commit']}`; "
        f"damping {card['model']['damping']}; "
        f"gate {'passed' if card['gate']['passed'] else 'FAILED'}; "
        f"backtest {backtest['refits']} refits, {backtest['origins']} origins."
    )


def track_record(model_dir: Path, symbol: str) -> str:
    """The pair's track record (the forecasts served, scored against what happened) and its drift verdict."""
    path = model_dir / pair_files(symbol).record
    try:
        summary = TrackRecord.from_json(path.read_bytes()).summary
    except (OSError, ValueError) as exc:
        return f"Track record: cannot be read ({exc})."
    verdict = verdict_line(summary).split(": ", 1)[1]  # without the symbol: the heading names it
    if summary["drift"]["degraded"]:
        verdict = "**DEGRADED**" + verdict.removeprefix("degraded")
    return (
        f"Track record (served forecasts against actual closes, since {summary['first_date']}): "
        f"{verdict}.\n\n{format_summary_markdown(summary)}"
    )


def render_cards(manifest_path: Path) -> str:
    """The artifact's cards as Markdown: what the run did, then each pair's card and track record."""
    manifest = json.loads(manifest_path.read_text())
    run, pairs = manifest["run"], manifest["pairs"]
    lines = [f"## Artifact {manifest['model_version']}: {', '.join(pairs)}\n"]
    lines.append(f"Updated: {', '.join(run['updated']) or 'none'}.")
    if run["unchanged"]:
        lines.append(f"Unchanged (no new bars, no refit due): {', '.join(run['unchanged'])}.")
    fates = (("Kept its previous model", "kept"), ("Left out (no previous model)", "dropped"))
    for fate, outcome in fates:
        for symbol, reason in run[outcome].items():
            lines.append(f"\n**{symbol}: {fate}**: {reason}")
    for symbol, card in pairs.items():
        lines.append(f"\n### {symbol} {card['timeframe']}: model {card['model_version']}\n")
        lines.append(describe(card) + "\n")
        lines.append(format_markdown(card["backtest"]["horizons"]))
        lines.append("\n" + track_record(manifest_path.parent, symbol))
    return "\n".join(lines) + "\n"


def main() -> int:
    print(render_cards(Path(sys.argv[1])), end="")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
