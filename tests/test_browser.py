"""The chart page in a real browser: Debian's headless Chromium against the real Waitress server."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from playwright.sync_api import ConsoleMessage, Page, sync_playwright

from tests.servers import ROOT, get, running_api
from tests.test_hourly_api import HOURLY_LABELS, LAST_BAR

pytestmark = pytest.mark.slow
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
OUTPUT = ROOT / "test-output"


@contextmanager
def chart_page(model_dir: Path, tmp_path: Path) -> Iterator[tuple[str, Page, list[str]]]:
    """The real server on `model_dir` and a fresh Chromium page; yields the base URL, the page and the console
    problems seen (errors, warnings, page errors, failed requests)."""
    assert Path(CHROMIUM).exists(), "Debian's chromium is needed (apt-get install chromium; make test installs it)"
    OUTPUT.mkdir(exist_ok=True)
    with running_api(model_dir) as base, sync_playwright() as playwright:
        # A fresh profile each run, and no network besides the loopback server.
        browser = playwright.chromium.launch_persistent_context(
            str(tmp_path / "profile"), executable_path=CHROMIUM, args=FLAGS, viewport={"width": 1200, "height": 1100}
        )
        try:
            page = browser.new_page()
            problems: list[str] = []
            page.on("console", lambda m: problems.append(f"{m.type}: {m.text}") if _is_problem(m) else None)
            page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
            page.on("requestfailed", lambda request: problems.append(f"failed: {request.url}"))
            yield base, page, problems
        finally:
            browser.close()


def test_chart_page_works_in_chromium(trained_model_dir: Path, tmp_path: Path) -> None:
    with chart_page(trained_model_dir, tmp_path) as (base, page, problems):
        response = page.goto(f"{base}/")
        assert response is not None
        assert "script-src 'self'" in response.headers["content-security-policy"]
        page.wait_for_selector("body[data-ready=true]", timeout=20_000)

        traces = page.evaluate("document.getElementById('chart').data.map(t => ({name: t.name, points: t.y.length}))")
        assert len(traces) >= 3
        assert all(trace["points"] > 0 for trace in traces)
        assert {"close", "forecast", "80% band", "last bar"} <= {trace["name"] for trace in traces}
        assert backtest_labels(page) == ["1 day", "7 days", "30 days"]
        assert "Historical data (the history embedded in the service), not current" in page.text_content("#data-line")
        assert page.get_attribute("#date", "placeholder") == "2024-12-03 or 2024-12-03T12:00:00Z"

        assert page.eval_on_selector_all("#pair option", "os => os.map(o => o.value)") == ["BTC-USD", "ETH-USD"]
        assert page.input_value("#pair") == "BTC-USD"
        assert "BTC/USD" in (page.text_content("#title") or "")
        ask_and_check(page, f"{base}/bitcoin?date=2024-12-15T06:00:00Z")
        page.screenshot(path=str(OUTPUT / "chart-page.png"), full_page=True)

        # The pair selector: another pair's chart, card and answers, and the choice kept in the URL.
        btc_closes = closes(page)
        page.select_option("#pair", "ETH-USD")
        page.wait_for_selector("body[data-pair=ETH-USD][data-ready=true]", timeout=20_000)
        assert "ETH/USD" in (page.text_content("#title") or "")
        eth_closes = closes(page)
        assert eth_closes != btc_closes and max(c for c in eth_closes if c) < 10_000
        assert page.url.endswith("?pair=ETH-USD")
        ask_and_check(page, f"{base}/predict/ETH-USD?date=2024-12-15T06:00:00Z")
        page.screenshot(path=str(OUTPUT / "chart-page-eth.png"), full_page=True)

        page.fill("#date", "2025-13-01")
        page.click("button[type=submit]")
        page.wait_for_selector("#answer.error")
        _, error, _ = get(f"{base}/predict/ETH-USD?date=2025-13-01")
        assert page.text_content("#answer") == error["message"]
        page.screenshot(path=str(OUTPUT / "chart-page-error.png"), full_page=True)
        # A 4xx from the API is logged by Chromium as a failed resource load: that one is expected.
        assert [p for p in problems if "status of 400" not in p] == []


def test_an_hourly_pair_beside_a_daily_one_in_chromium(mixed_model_dir: Path, tmp_path: Path) -> None:
    with chart_page(mixed_model_dir, tmp_path) as (base, page, problems):
        page.goto(f"{base}/")
        page.wait_for_selector("body[data-pair=BTC-USD][data-ready=true]", timeout=20_000)
        hourly = page.evaluate("document.getElementById('chart').data.map(t => ({name: t.name, x: t.x, y: t.y}))")
        assert all(len(trace["y"]) > 0 for trace in hourly)
        close = next(trace for trace in hourly if trace["name"] == "close")
        # 14 days of hours before the last bar to 7 days after it, one point per hour.
        assert (len(close["x"]), close["x"][0], close["x"][-1]) == (505, "2025-02-15T05:00:00Z", "2025-03-08T05:00:00Z")
        assert next(t for t in hourly if t["name"] == "last bar")["x"] == [LAST_BAR]
        assert "(1Hour bars)" in (page.text_content("#title") or "")
        assert backtest_labels(page) == HOURLY_LABELS
        assert f"refitted on {fitted_at(base)}" in (page.text_content("#model-line") or "")
        assert f"Newest bar {LAST_BAR} (the anchor)" in (page.text_content("#model-line") or "")
        assert "Historical data (the file btc_usd_1h.csv), not current" in (page.text_content("#data-line") or "")
        assert page.get_attribute("#date", "placeholder") == "2025-03-02T05:00:00Z"  # the newest bar plus 24 h
        assert "24 hours after the newest bar" in (page.text_content("#date-hint") or "")
        ask_and_check(page, f"{base}/predict/BTC-USD?date=2025-03-02T05:30:00Z")  # between two hourly rows
        page.screenshot(path=str(OUTPUT / "chart-page-hourly.png"), full_page=True)

        # To the daily pair and back: each redraw is that pair's own, the axes and the table included.
        page.select_option("#pair", "ETH-USD")
        page.wait_for_selector("body[data-pair=ETH-USD][data-ready=true]", timeout=20_000)
        daily = closes(page)
        assert len(daily) == 121 and max(c for c in daily if c) < 10_000
        assert backtest_labels(page) == ["1 day", "7 days", "30 days"]
        assert page.get_attribute("#date", "placeholder") == "2024-12-03 or 2024-12-03T12:00:00Z"
        ask_and_check(page, f"{base}/predict/ETH-USD?date=2024-12-03")
        page.select_option("#pair", "BTC-USD")
        page.wait_for_selector("body[data-pair=BTC-USD][data-ready=true]", timeout=20_000)
        assert closes(page) == close["y"]
        assert backtest_labels(page) == HOURLY_LABELS
        assert problems == []


def fitted_at(base: str) -> str:
    _, model, _ = get(f"{base}/model")
    return str(model["pairs"]["BTC/USD"]["fitted_at"])  # type: ignore[index]


def closes(page: Page) -> list[float | None]:
    return page.evaluate("document.getElementById('chart').data.find(t => t.name === 'close').y")


def backtest_labels(page: Page) -> list[str]:
    return page.eval_on_selector_all("#backtest tbody tr td:first-child", "cells => cells.map(c => c.textContent)")


def ask_and_check(page: Page, url: str) -> None:
    """Type the date into the box and check the page shows exactly what the API answers for it (to the cent)."""
    page.fill("#date", url.split("date=")[1])
    page.click("button[type=submit]")
    page.locator("#answer", has_text="model").wait_for()  # a selector, not a JS string: the page's CSP forbids eval
    _, expected, _ = get(url)
    answer = page.text_content("#answer") or ""
    shown = re.fullmatch(r"(\S+): ([\d,.]+) \(80% band ([\d,.]+) to ([\d,.]+)\), model (\S+)", answer)
    assert shown is not None, answer
    assert (shown[1], shown[5]) == (expected["date"], expected["model_version"])
    for group, key in ((2, "prediction"), (3, "prediction_low"), (4, "prediction_high")):
        # Two decimals, however the browser rounds a half cent.
        assert abs(float(shown[group].replace(",", "")) - float(expected[key])) <= 0.0051, (key, answer)


def _is_problem(message: ConsoleMessage) -> bool:
    return message.type in ("error", "warning")
