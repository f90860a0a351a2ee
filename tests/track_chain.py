"""Chains of training runs, each on the artifact the one before published, recording what the API served in between.

Between two runs the previous artifact is served by the real Flask app (`create_app`), and every bar that closes
before the next run is asked for exactly as a user would (`GET /predict/{pair}?date=<bar>`, no `level`): the track
record the next run writes must hold exactly those answers. Imported as fixtures by tests/core/conftest.py (for the
tests/core/test_track_record_*.py modules) and tests/serving/test_browser.py.
"""

from __future__ import annotations

import csv
import datetime as dt
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from cryptopredict.core.artifact import load_artifact, pair_name
from cryptopredict.core.dates import format_utc, parse_utc
from cryptopredict.core.files import open_text
from cryptopredict.serving.app import create_app
from cryptopredict.training.pipeline import TrainResult, TrainSettings, train
from tests.conftest import HOURLY_BTC_USD, ROOT, SMALL_HOURLY_UNTIL, small_hourly_settings, small_settings

HOUR_S, DAY_S = 3_600, 86_400
# Six-hourly runs, then one 30 hours later (a missed run or four: its bars reach every hourly bucket), then six hours.
HOURLY_UNTILS = [SMALL_HOURLY_UNTIL + dt.timedelta(hours=h) for h in (0, 6, 12, 18, 24, 54, 60)]
# Daily: BTC/USD alone first; ETH/USD joins (a pair new to the artifact); steps of 1, 3 and 9 days (the last refits).
DAILY_START = dt.datetime(2024, 10, 10, tzinfo=dt.UTC)
DAILY_UNTILS = [DAILY_START + dt.timedelta(days=d) for d in (0, 1, 2, 5, 14)]


@dataclass
class Chain:
    """The runs, each artifact as published (copies), and what the API answered for each bar before it was scored."""

    model_dir: Path
    untils: list[dt.datetime]
    results: list[TrainResult] = field(default_factory=list)
    snapshots: list[Path] = field(default_factory=list)
    # by pair (path form) and bar start (epoch seconds): the answer, and the artifact's newest bar then (the anchor)
    served: dict[str, dict[int, tuple[dict[str, Any], int]]] = field(default_factory=dict)


def record_served(model_dir: Path, until: dt.datetime, chain: Chain) -> None:
    """Ask the served artifact for every bar that closes by `until` after its newest bar, as a user would."""
    client = create_app({"MODEL_DIR": str(model_dir), "TESTING": True, "ACCESS_LOG": False}).test_client()
    for symbol, pair in load_artifact(model_dir).pairs.items():
        name, step = pair_name(symbol), pair.timeframe.seconds
        bar = pair.forecast.last_bar + step
        while bar + step <= until.timestamp():  # the bar has closed by the next run's cut-off
            response = client.get(f"/predict/{name}?date={format_utc(bar)}")
            assert response.status_code == 200, response.get_json()
            chain.served.setdefault(name, {}).setdefault(bar, (response.get_json(), pair.forecast.last_bar))
            bar += step


def run_chain(
    tmp: Path, untils: list[dt.datetime], settings_for: Callable[[Path, int, dt.datetime], TrainSettings]
) -> Chain:
    chain = Chain(tmp / "model", untils)
    for k, until in enumerate(untils):
        if k:
            record_served(chain.model_dir, until, chain)
        chain.results.append(train(settings_for(chain.model_dir, k, until)))
        snapshot = tmp / f"run{k}"
        shutil.copytree(chain.model_dir, snapshot)
        chain.snapshots.append(snapshot)
    return chain


@pytest.fixture(scope="session")
def hourly_chain(tmp_path_factory: pytest.TempPathFactory) -> Chain:
    """Seven hourly runs on the shared BTC/USD bars: a refit, then re-anchors six and thirty hours apart."""
    return run_chain(
        tmp_path_factory.mktemp("hourly-chain"),
        HOURLY_UNTILS,
        lambda model_dir, _, until: small_hourly_settings(model_dir, until=until),
    )


@pytest.fixture(scope="session")
def daily_chain(tmp_path_factory: pytest.TempPathFactory) -> Chain:
    """Five daily runs on the embedded history: BTC/USD alone, then with ETH/USD; the last one nine days later."""
    return run_chain(
        tmp_path_factory.mktemp("daily-chain"),
        DAILY_UNTILS,
        lambda model_dir, k, until: small_settings(
            model_dir, until=until, pairs=("BTC/USD",) if k == 0 else ("BTC/USD", "ETH/USD")
        ),
    )


def closes_of(path: Path) -> dict[int, float]:
    """A CSV file's closes by bar start (epoch seconds), as written in the file."""
    with open_text(path) as handle:
        return {int(parse_utc(row["timestamp"]).timestamp()): float(row["close"]) for row in csv.DictReader(handle)}


def daily_closes(pair: str) -> dict[int, float]:
    """The embedded history's closes of a pair in path form (BTC-USD), by bar start."""
    return closes_of(ROOT / "data" / f"{pair.lower()}-1d.csv")


def hourly_closes() -> dict[int, float]:
    """The hourly BTC/USD closes in data/, by bar start."""
    return closes_of(HOURLY_BTC_USD)
