"""Print a manifest's model card as Markdown (for GitHub's job summary). Usage: python scripts/model_card.py PATH"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cryptopredict.training.card import format_markdown


def main() -> int:
    manifest = json.loads(Path(sys.argv[1]).read_text())
    backtest = manifest["backtest"]
    print(f"## Model {manifest['model_version']}: {manifest['symbol']} {manifest['timeframe']}\n")
    print(
        f"Trained until {manifest['trained_until']} on {manifest['rows']} bars ({manifest['first_bar']} to "
        f"{manifest['last_bar']}, {manifest['source']['kind']}), commit `{manifest.get('git_commit')}`; "
        f"damping {manifest['model']['damping']}; gate {'passed' if manifest['gate']['passed'] else 'FAILED'}.\n"
    )
    print(f"Backtest: {backtest['refits']} refits, {backtest['origins']} origins.\n")
    print(format_markdown(backtest["horizons"]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
