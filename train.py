"""Training entry point: `python train.py --help` (the CLI lives in cryptopredict.training.cli)."""

from cryptopredict.training.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
