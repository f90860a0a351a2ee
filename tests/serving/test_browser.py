"""The chart page in a real browser: Debian's headless Chromium against the real Waitress server."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from PIL import Image
from playwright.sync_api import ConsoleMessage, Page, Route, sync_playwright
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from cryptopredict.core.forecast import LEVELS
from cryptopredict.core.settings import LIVE_TRAINING_COMMAND
from cryptopredict.serving.messages import NOTHING_SCORED
from cryptopredict.training.bars import HOURLY_BTC_USD
from tests import track_chain
from tests.servers import ROOT, get, running_api
from tests.serving.test_hourly_api import HOURLY_LABELS, LAST_BAR

pytestmark = pytest.mark.slow
daily_chain = track_chain.daily_chain  # a chain of daily runs whose artifact carries a track record (session fixture)
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
REPORT_CSP_VIOLATIONS = """document.addEventListener("securitypolicyviolation", (event) => console.error(
  "CSP violation: " + event.effectiveDirective + " blocked " + (event.blockedURI || "inline") +
  (event.sourceFile ? " in " + event.sourceFile : "")
));"""


@contextmanager
def chart_page(model_dir: Path, tmp_path: Path) -> Iterator[tuple[str, Page, list[str]]]:
    """The real server on `model_dir` and a fresh Chromium page; yields the base URL, the page and the console
    problems seen (errors, warnings, page errors, failed requests)."""
    assert Path(CHROMIUM).exists(), "Debian's chromium is needed (apt-get install chromium; make test installs it)"
    OUTPUT.mkdir(exist_ok=True)
    with running_api(model_dir) as base, sync_playwright() as playwright:
        # A fresh profile each run, and no network besides the loopback server.
        browser = playwright.chromium.launch_persistent_context(
            str(tmp_path / "profile"),
            executable_path=CHROMIUM,
            args=FLAGS,
            viewport={"width": 1200, "height": 1100},
            accept_downloads=True,
        )
        try:
            page = browser.new_page()
            # Every CSP violation, for the whole test, as a console error (Chromium logs most, not all, itself).
            page.add_init_script(REPORT_CSP_VIOLATIONS)
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
        check_band_traces(page, f"{base}/predict/BTC-USD/forecast")
        assert backtest_labels(page) == ["1 day", "7 days", "30 days"]
        headings = page.eval_on_selector_all("#backtest thead th", "cells => cells.map(c => c.textContent)")
        assert headings[-3:] == [f"{level}% band coverage" for level in LEVELS]
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
        check_band_traces(page, f"{base}/predict/BTC-USD/forecast")
        assert f"refitted on {fitted_at(base)}" in (page.text_content("#model-line") or "")
        assert f"Newest bar {LAST_BAR} (the anchor)" in (page.text_content("#model-line") or "")
        historical = f"Historical data (the file {HOURLY_BTC_USD.name}), not current"
        assert historical in (page.text_content("#data-line") or "")
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


def test_the_chart_downloads_as_a_png_in_chromium(trained_model_dir: Path, tmp_path: Path) -> None:
    with chart_page(trained_model_dir, tmp_path) as (base, page, problems):
        response = page.goto(f"{base}/")
        assert response is not None
        assert "img-src 'self' data: blob:;" in response.headers["content-security-policy"]
        page.wait_for_selector("body[data-pair=BTC-USD][data-ready=true]", timeout=20_000)
        download_png(page, "BTC-USD-forecast.png", problems)
        # The file is named after the pair shown.
        page.select_option("#pair", "ETH-USD")
        page.wait_for_selector("body[data-pair=ETH-USD][data-ready=true]", timeout=20_000)
        download_png(page, "ETH-USD-forecast.png", problems)
        assert problems == []


def download_png(page: Page, filename: str, problems: list[str]) -> None:
    """Click the modebar's camera; the file must be a PNG of the chart as drawn, saved under test-output/."""
    try:
        with page.expect_download(timeout=15_000) as info:
            page.click("#chart .modebar-btn[data-title='Download plot as a PNG']")
    except PlaywrightTimeoutError:
        pytest.fail(f"no download of {filename}; the console said {problems}")
    download = info.value
    assert download.failure() is None
    assert download.suggested_filename == filename
    path = OUTPUT / filename
    download.save_as(path)
    data = path.read_bytes()
    assert 10_000 < len(data) < 2_000_000, len(data)
    # The signature, then IHDR first: length 13, its type, width and height (big-endian), bit depth, colour type.
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert data[8:16] == b"\x00\x00\x00\x0dIHDR"
    width, height = int.from_bytes(data[16:20]), int.from_bytes(data[20:24])
    drawn = page.evaluate("(l => [l.width, l.height])(document.getElementById('chart')._fullLayout)")
    assert [width, height] == drawn and width > 0 and height > 0
    # It decodes, and shows the chart: the forecast line's blue and the last bar's orange marker are in it.
    with Image.open(path) as image:
        assert image.size == (width, height)
        colours = {rgb for _, rgb in image.convert("RGB").getcolors(width * height)}
    assert {(0x1F, 0x77, 0xB4), (0xFF, 0x7F, 0x0E), (0xFF, 0xFF, 0xFF)} <= colours


def test_old_data_is_a_banner_and_fresh_live_data_a_quiet_line_in_chromium(
    trained_model_dir: Path, tmp_path: Path
) -> None:
    with chart_page(trained_model_dir, tmp_path) as (base, page, problems):
        page.goto(f"{base}/")
        page.wait_for_selector("body[data-pair=BTC-USD][data-ready=true]", timeout=20_000)
        banner = page.locator("#data-line")
        assert banner.is_visible()
        assert banner.get_attribute("class") == "historical stale"
        assert banner.get_attribute("role") == "status"
        text = banner.text_content() or ""
        assert re.search(r"its newest price closed \d+ days ago, at 2024-11-04T00:00:00Z", text), text
        assert text.endswith(f"Train on live data for current dates: {LIVE_TRAINING_COMMAND}")
        # Nothing is scored after one training run: the page says why in the API's words (the record's `note`).
        assert page.text_content("#track-line") == f"Track record: {NOTHING_SCORED}."
        # A banner, not a grey line: filled, bordered and bold, so two-year-old data cannot be missed.
        style = banner.evaluate(
            "e => { const s = getComputedStyle(e);"
            " return [s.backgroundColor, s.borderLeftWidth, s.fontWeight, e.getBoundingClientRect().height]; }"
        )
        assert style[0] not in ("rgba(0, 0, 0, 0)", "transparent") and style[1] == "6px" and style[2] == "600"
        assert style[3] > 30
        page.screenshot(path=str(OUTPUT / "chart-page-stale-banner.png"))

        # A date past the range: the page shows the API's answer, which says why and what to do.
        page.fill("#date", "2100-01-01")
        page.click("button[type=submit]")
        page.wait_for_selector("#answer.error")
        _, error, _ = get(f"{base}/predict/BTC-USD?date=2100-01-01")
        assert page.text_content("#answer") == error["message"]
        assert f"train on live data for current dates: {LIVE_TRAINING_COMMAND}" in str(error["message"])
        # A 4xx from the API is logged by Chromium as a failed resource load: that one is expected.
        assert [p for p in problems if "status of 422" not in p] == []

        # Fresh live data (/pairs rewritten in flight: the real server's clock cannot be set) is a quiet line.
        def fresh_live(route: Route) -> None:
            body = route.fetch().json()
            for pair in body["pairs"]:
                pair.update(live=True, source="alpaca", data_age_seconds=2 * 3600)
            route.fulfill(json=body)

        page.route("**/pairs", fresh_live)
        page.reload()
        page.wait_for_selector("body[data-pair=BTC-USD][data-ready=true]", timeout=20_000)
        assert banner.get_attribute("class") == "live"
        assert banner.text_content() == "Live data from Alpaca: the newest price it knows closed 2.0 h ago."
        assert banner.evaluate("e => getComputedStyle(e).backgroundColor") == "rgba(0, 0, 0, 0)"


def check_band_traces(page: Page, forecast: str) -> None:
    """The chart draws every level's band, widest first, each exactly the API's band at that level from the last
    bar on, and nested: the 50 % band inside the 80 % one inside the 95 % one."""
    traces = page.evaluate("document.getElementById('chart').data.map(t => ({name: t.name, x: t.x, y: t.y}))")
    by_name = {trace["name"]: trace for trace in traces}
    bands = [name for name in by_name if name.endswith("% band")]
    assert bands == [f"{level}% band" for level in reversed(LEVELS)]  # widest first, each filled over the last
    edges = {}
    for level in LEVELS:
        low, high = by_name[f"{level}% band"], by_name[f"{level}% band high"]
        _, body, _ = get(f"{forecast}?level={level}")
        assert body["interval"] == level / 100  # type: ignore[index]
        last_bar = body["last_bar"]  # type: ignore[index]
        ahead = [p for p in body["points"] if p["date"] > last_bar]  # type: ignore[index]
        assert low["x"][1:] == high["x"][1:] == [p["date"] for p in ahead] and low["x"][0] == last_bar
        assert low["y"][1:] == [p["prediction_low"] for p in ahead]
        assert high["y"][1:] == [p["prediction_high"] for p in ahead]
        edges[level] = (low["y"], high["y"])
    (low50, high50), (low80, high80), (low95, high95) = (edges[level] for level in LEVELS)
    assert all(a <= b <= c for a, b, c in zip(low95, low80, low50, strict=True))
    assert all(a <= b <= c for a, b, c in zip(high50, high80, high95, strict=True))
    assert low95[-1] < low80[-1] < low50[-1] and high50[-1] < high80[-1] < high95[-1]  # three bands, not one


def fitted_at(base: str) -> str:
    _, model, _ = get(f"{base}/model")
    return str(model["pairs"]["BTC-USD"]["fitted_at"])  # type: ignore[index]


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


def test_the_chart_draws_what_was_served_against_what_happened_in_chromium(
    daily_chain: track_chain.Chain, tmp_path: Path
) -> None:
    with chart_page(daily_chain.model_dir, tmp_path) as (base, page, problems):
        page.goto(f"{base}/")
        page.wait_for_selector("body[data-pair=BTC-USD][data-ready=true]", timeout=20_000)
        traces = page.evaluate("document.getElementById('chart').data.map(t => ({name: t.name, x: t.x, y: t.y}))")
        by_name = {trace["name"]: trace for trace in traces}
        _, record, _ = get(f"{base}/pairs/BTC-USD/track-record?limit=1000")
        points = list(reversed(record["points"]))  # type: ignore[index]
        assert len(points) == 14
        served, actual = by_name["served forecast"], by_name["actual (track record)"]
        assert served["x"] == actual["x"] == [p["date"] for p in points]
        assert served["y"] == [p["prediction"] for p in points]
        assert actual["y"] == [p["actual"] for p in points]
        # The record's closes are the chart's closes at the same bars.
        close = by_name["close"]
        assert [close["y"][close["x"].index(p["date"])] for p in points] == actual["y"]
        line = page.text_content("#track-line") or ""
        assert line.startswith("Track record, forecasts served since 2024-10-10 against what happened: 14 points")
        page.screenshot(path=str(OUTPUT / "chart-page-track-record.png"), full_page=True)
        assert problems == []
