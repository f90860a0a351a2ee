"""The chart page in a real browser: Debian's headless Chromium against the real Waitress server."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from playwright.sync_api import ConsoleMessage, Page, sync_playwright

from tests.servers import ROOT, get, running_api

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


def test_chart_page_works_in_chromium(trained_model_dir: Path, tmp_path: Path) -> None:
    assert Path(CHROMIUM).exists(), "Debian's chromium is needed (apt-get install chromium; make test installs it)"
    OUTPUT.mkdir(exist_ok=True)
    with running_api(trained_model_dir) as base, sync_playwright() as playwright:
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
            response = page.goto(f"{base}/")
            assert response is not None
            assert "script-src 'self'" in response.headers["content-security-policy"]
            page.wait_for_selector("body[data-ready=true]", timeout=20_000)

            traces = page.evaluate(
                "document.getElementById('chart').data.map(t => ({name: t.name, points: t.y.length}))"
            )
            assert len(traces) >= 3
            assert all(trace["points"] > 0 for trace in traces)
            assert {"close", "forecast", "80% band", "last bar"} <= {trace["name"] for trace in traces}
            assert page.locator("#backtest tbody tr").count() == 3

            assert page.eval_on_selector_all("#pair option", "os => os.map(o => o.value)") == ["BTC-USD", "ETH-USD"]
            assert page.input_value("#pair") == "BTC-USD"
            assert "BTC/USD" in (page.text_content("#title") or "")
            ask_and_check(page, f"{base}/bitcoin?date=2024-12-15T06:00:00Z")
            page.screenshot(path=str(OUTPUT / "chart-page.png"), full_page=True)

            # The pair selector: another pair's chart, card and answers, and the choice kept in the URL.
            btc_closes = page.evaluate("document.getElementById('chart').data.find(t => t.name === 'close').y")
            page.select_option("#pair", "ETH-USD")
            page.wait_for_selector("body[data-pair=ETH-USD][data-ready=true]", timeout=20_000)
            assert "ETH/USD" in (page.text_content("#title") or "")
            eth_closes = page.evaluate("document.getElementById('chart').data.find(t => t.name === 'close').y")
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
        finally:
            browser.close()


def ask_and_check(page: Page, url: str) -> None:
    """Type the date into the box and check the page shows exactly what the API answers for it."""
    page.fill("#date", url.split("date=")[1])
    page.click("button[type=submit]")
    page.locator("#answer", has_text="model").wait_for()  # a selector, not a JS string: the page's CSP forbids eval
    _, expected, _ = get(url)
    answer = page.text_content("#answer") or ""
    for key in ("prediction", "prediction_low", "prediction_high"):
        assert f"{expected[key]:,.2f}".rstrip("0").rstrip(".") in answer
    assert str(expected["model_version"]) in answer


def _is_problem(message: ConsoleMessage) -> bool:
    return message.type in ("error", "warning")
