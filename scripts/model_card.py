"""Print an artifact's model cards as Markdown (for GitHub's job summary). Usage: python scripts/model_card.py PATH"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cryptopredict.artifact import parse_utc
from cryptopredict.timeframe import timeframe_of
from cryptopredict.training.card import format_markdown


def span(seconds: float) -> str:
    """An age for people: hours up to two days, days after that."""
    return f"{seconds / 3600:.1f} h" if seconds < 2 * 86_400 else f"{seconds / 86_400:.0f} days"


def describe(card: dict[str, Any]) -> str:
    """What the run did for one pair, on which bars, and how old its newest price was when it ran."""
    timeframe = timeframe_of(card["timeframe"])
    fit = f"{card['rows']} bars, {card['first_bar']} to {card['fit_last_bar']}"
    if card["update"] == "reanchor":
        update = f"Re-anchored the Prophet fit of {card['fitted_at']} ({fit}) at the newest close"
    else:
        update = f"Refitted at {card['fitted_at']} on {fit}"
    data_age = parse_utc(card["trained_until"]) - timeframe.closes_at(parse_utc(card["last_bar"]))
    source = card["source"]["kind"]
    if source != "alpaca":
        source += " (historical data, not kept current)"
    return (
        f"{update}. Timeframe {timeframe.name}; newest bar {card['last_bar']}, whose close was {span(data_age)} old "
        f"at the run's cut-off {card['trained_until']}; data: {source}. Commit `{card.get('git_commit')}`; "
        f"damping {card['model']['damping']}; gate {'passed' if card['gate']['passed'] else 'FAILED'}; "
        f"backtest {card['backtest']['refits']} refits, {card['backtest']['origins']} origins."
    )


def main() -> int:
    manifest = json.loads(Path(sys.argv[1]).read_text())
    run = manifest["run"]
    print(f"## Artifact {manifest['model_version']}: {', '.join(manifest['pairs'])}\n")
    print(f"Updated: {', '.join(run['updated']) or 'none'}.")
    if run["unchanged"]:
        print(f"Unchanged (no new bars, no refit due): {', '.join(run['unchanged'])}.")
    for fate, pairs in (("Kept its previous model", run["kept"]), ("Left out (no previous model)", run["dropped"])):
        for symbol, reason in pairs.items():
            print(f"\n**{symbol}: {fate}**: {reason}")
    for symbol, card in manifest["pairs"].items():
        print(f"\n### {symbol} {card['timeframe']}: model {card['model_version']}\n")
        print(describe(card) + "\n")
        print(format_markdown(card["backtest"]["horizons"]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
