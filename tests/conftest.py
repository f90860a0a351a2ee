"""Fixtures: a small model fitted once into a temporary folder, the app and client built from the factory."""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from cryptopredict.serving.app import create_app
from cryptopredict.training.backtest import BacktestPlan
from cryptopredict.training.pipeline import TrainSettings, train
from scripts.fake_alpaca import FakeAlpaca

ROOT = Path(__file__).resolve().parent.parent
SMALL_START = dt.date(2024, 1, 1)  # ~300 daily bars of the embedded history: a fit takes well under a second
SMALL_HORIZON_DAYS = 60


# 24 scored refits over 120 days after 12 warm-up refits: the real backtest, scaled to the small history.
SMALL_PLAN = BacktestPlan(scored=24, warmup=12, span_days=120)


def small_settings(model_dir: Path, **overrides: object) -> TrainSettings:
    values: dict[str, object] = {
        "start": SMALL_START,
        "horizon_days": SMALL_HORIZON_DAYS,
        "model_dir": model_dir,
        "backtest_plan": SMALL_PLAN,
    }
    values.update(overrides)
    return TrainSettings(**values)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def trained_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A model fitted once per session; tests that alter it work on a copy (see `model_dir`)."""
    model_dir = tmp_path_factory.mktemp("artifact") / "model"
    result = train(small_settings(model_dir))
    assert result.failures == [], result.failures
    return model_dir


@pytest.fixture
def model_dir(trained_model_dir: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "model"
    shutil.copytree(trained_model_dir, copy)
    return copy


@pytest.fixture
def app(trained_model_dir: Path) -> Flask:
    return create_app({"MODEL_DIR": str(trained_model_dir), "TESTING": True})


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def fake_alpaca() -> Iterator[FakeAlpaca]:
    server = FakeAlpaca()
    yield server
    server.close()
