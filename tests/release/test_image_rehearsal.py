"""A rehearsal of the image's final stage: exactly what it copies, only the serving requirements, a real answer.

The Dockerfile is parsed, not restated: its final stage's COPY and ENV lines decide what goes where. The model is
an artifact with an hourly pair (what live training now makes) beside a daily one (the embedded history's).
"""

from __future__ import annotations

import os
import shlex
import shutil
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from tests.fakes.loopback import free_port
from tests.servers import ROOT, get, wait_until_up

pytestmark = pytest.mark.slow
APP = "/app"  # the final stage's WORKDIR


def final_stage(dockerfile: Path) -> list[list[str]]:
    """The instructions after the last FROM, continuation lines joined, each split into words."""
    text = dockerfile.read_text().replace("\\\n", " ")
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    last_from = max(i for i, line in enumerate(lines) if line.upper().startswith("FROM "))
    return [shlex.split(line) for line in lines[last_from + 1 :]]


def test_the_final_stage_is_parsed_as_expected() -> None:
    stage = final_stage(ROOT / "Dockerfile")
    assert ["WORKDIR", APP] in stage
    copies = [words for words in stage if words[0] == "COPY"]
    assert any(w[1].startswith("--from=") for w in copies)  # the model comes from the build stage
    copied = " ".join(" ".join(w) for w in copies)
    for absent in ("training", "train.py", "tests", "train.ipynb", "requirements.txt", "requirements.lock ", "data"):
        assert absent not in copied
    assert next(w for w in stage if w[0] == "USER")[1].split(":")[0].isdigit()  # a numeric, non-root user


def copy_final_stage(model_dir: Path, tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """The app folder laid out as the final stage's COPY lines do it, and the environment its ENV lines set."""
    app = tmp_path / "app"
    app.mkdir()
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path)}
    for words in final_stage(ROOT / "Dockerfile"):
        if words[0] == "ENV":
            for pair in words[1:]:
                key, _, value = pair.partition("=")
                env[key] = value.replace(APP, str(app))
        if words[0] != "COPY":
            continue
        if words[1].startswith("--from="):
            copy_from_build_stage(words, app, model_dir)
        else:
            copy_from_context(words, app)
    return app, env


def copy_from_build_stage(words: list[str], app: Path, model_dir: Path) -> None:
    """A COPY --from the build stage: its artifact (the session's hourly and daily models stand in for it) or its
    report."""
    source, destination = words[2:]
    if source == "/build/model":
        shutil.copytree(model_dir, app / destination.removeprefix("./"))
    else:
        assert source == "/build/model-report.html", source
        (app / destination.removeprefix("./")).write_text("<html>the model cards</html>")


def copy_from_context(words: list[str], app: Path) -> None:
    """A COPY of the repository's files or folders (the build context), without Python's caches."""
    *sources, destination = words[1:]
    target = app / destination.removeprefix("./")
    for source in sources:
        origin = ROOT / source
        if origin.is_dir():
            shutil.copytree(origin, target, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            (target if destination.endswith("/") else target.parent).mkdir(parents=True, exist_ok=True)
            shutil.copy(origin, target / origin.name if destination.endswith("/") else target)


def install_serving_requirements(tmp_path: Path, app: Path) -> Path:
    """A fresh venv given the final stage's own pip command (hash-locked), run in the app folder as its WORKDIR;
    the venv's python."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    [install] = [words for words in final_stage(ROOT / "Dockerfile") if words[0] == "RUN" and "pip" in words]
    pip_arguments = install[install.index("install") + 1 :]
    assert "--require-hashes" in pip_arguments
    subprocess.run(
        [str(venv / "bin/python"), "-m", "pip", "install", "--quiet", *pip_arguments],
        cwd=app,
        check=True,
        timeout=600,
    )
    return venv / "bin/python"


def assert_no_training_package_is_importable(python: Path) -> None:
    for heavy in ("prophet", "pandas", "alpaca", "numpy", "plotly"):
        probe = subprocess.run([str(python), "-c", f"import {heavy}"], capture_output=True)
        assert probe.returncode != 0, f"{heavy} is importable in the serving environment"


def assert_the_server_answers(base: str) -> None:
    """Both pairs listed and answered, the chart page and its scripts served."""
    status, pairs, _ = get(f"{base}/pairs")
    assert status == 200
    assert [(p["pair"], p["timeframe"]) for p in pairs["pairs"]] == [("BTC-USD", "1Hour"), ("ETH-USD", "1Day")]
    # An hourly instant past the hourly pair's last bar, and a day within the daily pair's range.
    for path, symbol in (
        ("/bitcoin?date=2025-03-02T09:00:00Z", "BTC/USD"),
        ("/predict/eth-usd?date=2024-12-01", "ETH/USD"),
    ):
        status, body, _ = get(base + path)
        assert status == 200, (path, body)
        assert body["symbol"] == symbol
        assert body["prediction_low"] <= body["prediction"] <= body["prediction_high"]
    # The chart page and plotly.js come from the copied static files too.
    for path in ("/", "/assets/plotly.min.js", "/docs/assets/swagger-ui-bundle.js"):
        with urllib.request.urlopen(base + path, timeout=5) as response:
            assert response.status == 200 and len(response.read()) > 500, path


def test_the_final_stage_serves_from_only_what_it_copies(mixed_model_dir: Path, tmp_path: Path) -> None:
    app, env = copy_final_stage(mixed_model_dir, tmp_path)
    python = install_serving_requirements(tmp_path, app)
    assert_no_training_package_is_importable(python)

    port = free_port()
    env.update({"PORT": str(port), "HOST": "127.0.0.1"})
    process = subprocess.Popen(
        [str(python), "api.py"],
        cwd=app,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(base, process)
        assert_the_server_answers(base)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=10)
