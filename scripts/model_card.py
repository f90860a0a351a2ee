"""Print an artifact's model cards as Markdown (for GitHub's job summary). Usage: python scripts/model_card.py PATH"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cryptopredict.training.card import format_markdown


def main() -> int:
    manifest = json.loads(Path(sys.argv[1]).read_text())
    run = manifest["run"]
    print(f"## Artifact {manifest['model_version']}: {', '.join(manifest['pairs'])}\n")
    print(f"Updated: {', '.join(run['updated']) or 'none'}.")
    for fate, pairs in (("Kept its previous model", run["kept"]), ("Left out (no previous model)", run["dropped"])):
        for symbol, reason in pairs.items():
            print(f"\n**{symbol}: {fate}**: {reason}")
    for symbol, card in manifest["pairs"].items():
        backtest = card["backtest"]
        print(f"\n### {symbol} {card['timeframe']}: model {card['model_version']}\n")
        print(
            f"Trained until {card['trained_until']} on {card['rows']} bars ({card['first_bar']} to "
            f"{card['last_bar']}, {card['source']['kind']}), commit `{card.get('git_commit')}`; "
            f"damping {card['model']['damping']}; gate {'passed' if card['gate']['passed'] else 'FAILED'}; "
            f"backtest {backtest['refits']} refits, {backtest['origins']} origins.\n"
        )
        print(format_markdown(backtest["horizons"]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
