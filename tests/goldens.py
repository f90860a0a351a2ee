"""What a user gets, captured once: every API answer (routes and errors), the artifact's files
and the command-line help, with the values a clock decides (fit time, ages) masked.

`python -m tests.goldens` rewrites tests/data/goldens.json from freshly fitted fixtures; the test compares against it.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
GOLDENS = ROOT / "tests" / "data" / "goldens.json"

# Each fixture's routes and errors: the answers a client can see, asked in this order on a fresh app.
URLS = {
    "daily": [
        "/health",
        "/ready",
        "/model",
        "/pairs",
        "/",
        "/docs",
        "/openapi.json",
        "/bitcoin?date=2024-12-24",
        "/bitcoin?date=2024-12-24&level=95",
        "/bitcoin?date=2024-11-03T18:30:00%2B02:00",
        "/bitcoin/forecast",
        "/bitcoin/forecast?start=2024-10-30&end=2024-11-06&level=50",
        "/predict/ETH-USD?date=2024-12-24",
        "/predict/eth-usd/forecast?start=2024-12-20&end=2025-01-02",
        "/pairs/BTC-USD/track-record",
        "/pairs/ETH-USD/track-record",
        # Errors: each kind of refusal once.
        "/bitcoin",
        "/bitcoin?date=abc",
        "/bitcoin?date=2024-13-01",
        "/bitcoin?date=2024-01-01&date=2024-01-02",
        "/bitcoin?date=2024-01-01&level=33",
        "/bitcoin?date=1999-01-01",
        "/bitcoin?date=2030-01-01",
        "/bitcoin/forecast?start=2025-01-01&end=2024-01-01",
        "/bitcoin/forecast?start=2024-12-01",
        "/bitcoin/forecast?start=2020-01-01&end=2024-12-01",
        "/predict/XXX-USD?date=2024-01-01",
        "/predict/BTC/forecast",
        "/pairs/XXX-USD/track-record",
        "/nope",
    ],
    "hourly": [
        "/ready",
        "/pairs",
        "/model",
        "/openapi.json",
        "/bitcoin?date=2025-03-02T10:30:00Z",
        "/bitcoin?date=2025-12-01T07:15:00Z",
        "/bitcoin/forecast",
        "/predict/BTC-USD/forecast?start=2025-02-28T00:00:00Z&end=2025-03-03T00:00:00Z&level=95",
        "/pairs/BTC-USD/track-record",
        "/predict/ETH-USD?date=2025-03-02",
    ],
}
METHODS = [("POST", "/bitcoin?date=2024-12-24"), ("DELETE", "/pairs"), ("PUT", "/model")]
# Every command's help, as people and the workflow call it (the program name is masked: it is how it was called).
COMMANDS = {
    "train": ["train.py"],
    "release": ["-m", "release"],
    "release card": ["-m", "release", "card"],
    "release deploy": ["-m", "release", "deploy"],
    "release verify": ["-m", "release", "verify"],
    "release promote": ["-m", "release", "promote"],
    "release smoke": ["-m", "release", "smoke"],
    "release plan": ["-m", "release", "plan"],
    "release preflight": ["-m", "release", "preflight"],
    "next version": ["-m", "release.next_version"],
    "prune images": ["-m", "release.prune_images"],
    "run instant": ["-m", "release.run_instant"],
    "monitor": ["-m", "release.monitor"],
    "model card": ["-m", "release.model_card"],
    "pin base": ["-m", "release.pin_base"],
    "embed history": ["-m", "tools.embed_history"],
    "quality": ["-m", "benchmarks.quality"],
    "bench": ["-m", "benchmarks.serving"],
    "bench pairs": ["-m", "benchmarks.pairs"],
    "bench scale": ["-m", "benchmarks.scale"],
    "bench track": ["-m", "benchmarks.track"],
    "freshness": ["-m", "benchmarks.freshness"],
    "soak": ["-m", "benchmarks.soak"],
    "fake render": ["-m", "tests.fakes.render"],
    "release rehearsal": ["-m", "rehearsals.release_steps"],
    "workflow rehearsal": ["-m", "rehearsals.workflow"],
}

STAMP = re.compile(r"\d{8}T\d{6}Z")
AGE = re.compile(r'"(model_age_seconds|data_age_seconds|age_seconds)": ?\d+')
# The card records the Python that trained; its patch release is the host's or the image's, not the code's.
PYTHON_PATCH = re.compile(r'("python": ?"\d+\.\d+)\.\d+"')


def mask(text: str, trained_at: set[str]) -> str:
    """The text with what a clock or the host decides replaced: fit times, version stamps, ages and Python's patch
    release."""
    for instant in sorted(trained_at, key=len, reverse=True):
        text = text.replace(instant, "<trained_at>")
    text = STAMP.sub("<stamp>", text)
    text = PYTHON_PATCH.sub(r'\1.<patch>"', text)
    return AGE.sub(lambda m: f'"{m.group(1)}":<age>', text)


def fit_times(model_dir: Path) -> set[str]:
    """The fit times, the instant a run without --until stops at, and the artifact's version (its hash covers the
    manifest, which holds the times)."""
    manifest = json.loads((model_dir / "manifest.json").read_text())
    cards = manifest["pairs"].values()
    times = {manifest["model_version"], manifest["published_at"]} | {
        card[key] for card in cards for key in ("trained_at", "trained_until")
    }
    return {t for t in times if t}


def capture_artifact(model_dir: Path) -> dict[str, str]:
    """Each file's sha256, the manifest's masked text in place of its hash."""
    times = fit_times(model_dir)
    files = {}
    for path in sorted(model_dir.iterdir()):
        if path.name == "manifest.json":
            files[path.name] = mask(path.read_text(), times)
        else:
            files[path.name] = hashlib.sha256(path.read_bytes()).hexdigest()
    return files


def capture_answers(model_dir: Path, urls: list[str]) -> dict[str, dict[str, Any]]:
    from cryptopredict.serving.app import create_app

    times = fit_times(model_dir)
    client = create_app({"MODEL_DIR": str(model_dir), "TESTING": True}).test_client()
    answers = {}
    for method, url in [("GET", url) for url in urls] + (METHODS if "/docs" in urls else []):
        response = client.open(url, method=method)
        key = url if method == "GET" else f"{method} {url}"
        answers[key] = {
            "status": response.status_code,
            "content_type": response.content_type,
            "allow": response.headers.get("Allow"),
            "body": mask(response.get_data(as_text=True), times),
        }
    metrics = client.get("/metrics").get_data(as_text=True)
    answers["/metrics"] = {"families": sorted(line for line in metrics.splitlines() if line.startswith("# "))}
    return answers


def mask_usage(text: str) -> str:
    """Help with its usage paragraph on one line and the program's name masked (it wraps by the name's length)."""
    usage, blank, rest = text.partition("\n\n")
    return re.sub(r"^usage: \S+", "usage: <prog>", " ".join(usage.split())) + blank + rest


def capture_help() -> dict[str, dict[str, Any]]:
    env = {**os.environ, "COLUMNS": "120", "PYTHONPATH": str(ROOT)}
    helps = {}
    for name, argv in COMMANDS.items():
        done = subprocess.run(
            [sys.executable, *argv, "--help"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
        )
        text = mask_usage(done.stdout)
        helps[name] = {"exit": done.returncode, "help": text, "error": done.stderr.strip().splitlines()[-1:]}
    return helps


def capture(daily: Path, hourly: Path) -> dict[str, Any]:
    return {
        "artifact": {"daily": capture_artifact(daily), "hourly": capture_artifact(hourly)},
        "answers": {"daily": capture_answers(daily, URLS["daily"]), "hourly": capture_answers(hourly, URLS["hourly"])},
        "help": capture_help(),
    }


def main() -> int:
    from tests.conftest import small_hourly_settings, small_settings, train_every_pair

    with tempfile.TemporaryDirectory() as folder:
        daily = train_every_pair(small_settings(Path(folder) / "daily"))
        hourly = train_every_pair(small_hourly_settings(Path(folder) / "hourly"))
        GOLDENS.write_text(json.dumps(capture(daily, hourly), indent=1, sort_keys=True) + "\n")
    print(f"wrote {GOLDENS.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
