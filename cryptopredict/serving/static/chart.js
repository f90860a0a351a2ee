// The chart page: everything it shows comes from the API itself (/pairs, /model, /predict/{pair}[/forecast]).
// Daily and hourly pairs are drawn alike; what differs (labels, the example date) follows the pair's bar length.
// The JSDoc types name the OpenAPI document's schemas (the card's come from cryptopredict/core/manifest.py): a test
// (tests/core/test_manifest.py) checks every field read from a typed variable, or from one assigned from it, is declared.
"use strict";

const DAY_SECONDS = 86400;
const STALE_DATA_SECONDS = DAY_SECONDS; // older data gets the banner; fresh live data a quiet line

function percent(value, digits) {
  return value === null || value === undefined ? "n/a" : (100 * value).toFixed(digits) + " %";
}

function money(value) {
  return value.toLocaleString("en-US", { maximumFractionDigits: 2 });
}

function plural(count, unit) {
  return count + " " + unit + (count === 1 ? "" : "s");
}

// As Timeframe.horizon_label in cryptopredict/core/timeframe.py: "7 days", "720 hours (30 days)".
function horizonLabel(bars, unit, barSeconds) {
  const seconds = bars * barSeconds;
  const days = seconds / DAY_SECONDS;
  const inDays = barSeconds < DAY_SECONDS && seconds % DAY_SECONDS === 0 ? " (" + plural(days, "day") + ")" : "";
  return plural(bars, unit) + inDays;
}

// An age for people: hours up to two days, days after that.
function age(seconds) {
  return seconds < 2 * DAY_SECONDS ? (seconds / 3600).toFixed(1) + " h" : plural(Math.round(seconds / DAY_SECONDS), "day");
}

// ISO 8601 with Z, to the second: what the API itself writes.
function isoUtc(epochMs) {
  return new Date(epochMs).toISOString().replace(".000Z", "Z");
}

async function getJson(url) {
  const response = await fetch(url, { headers: { Accept: "application/json" } });
  const body = await response.json();
  if (!response.ok) {
    throw new Error(body.message || response.statusText);
  }
  return body;
}

/** @type {Manifest} */ let manifest = null; // GET /model: the model card of every pair

// The band levels the card's backtest scored, narrowest first (cryptopredict/core/forecast.py defines them once), read
// from the card rather than restated here; every one is a `level` the forecast routes accept.
/** @param {PairCard} card */
function bandLevels(card) {
  const first = card.backtest.horizons[0];
  return first.model.levels.map((band) => band.level);
}
const summaries = {}; // GET /pairs, by pair name: bar length, freshness, range answered
let shown = 0; // the latest pair asked for: an older answer arriving late is dropped

/** @param {PairCard} card */
function describeSource(card) {
  const source = card.source;
  if (source.kind === "embedded") {
    return "the history embedded in the service";
  }
  if (source.kind === "csv") {
    return "the file " + source.path;
  }
  return "live Alpaca bars";
}

/**
 * @param {PairCard} card
 * @param {PairSummary} summary
 */
function showModel(card, summary) {
  document.getElementById("title").textContent = card.symbol + " price forecast (" + card.timeframe + " bars)";
  const update = card.update === "reanchor"
    ? "re-anchored at the newest close on " + card.trained_at + ", with the Prophet fit of " + card.fitted_at
    : "refitted on " + card.fitted_at;
  document.getElementById("model-line").textContent =
    "Model " + card.model_version + ": " + update + " (fit on " + card.rows + " " + card.timeframe + " bars, " +
    card.first_bar + " to " + card.fit_last_bar + "). Newest bar " + card.last_bar + " (the anchor).";
  const data = document.getElementById("data-line");
  // Data older than a day is a banner: forecasts for "today" from it are long-range extrapolations.
  const stale = summary.data_age_seconds > STALE_DATA_SECONDS;
  data.className = (summary.live ? "live" : "historical") + (stale ? " stale" : "");
  const lag = stale
    ? ", at " + summary.newest_close + ": no newer bars have reached it; every date after that is a forecast."
    : ".";
  data.textContent = summary.live
    ? "Live data from Alpaca: the newest price it knows closed " + age(summary.data_age_seconds) + " ago" + lag
    : "Historical data (" + describeSource(card) + "), not current: its newest price closed " +
      age(summary.data_age_seconds) + " ago, at " + summary.newest_close + "; every date after that is a forecast. " +
      "Train on live data for current dates: " + data.dataset.liveTraining; // the server's one command (page.py)
  const bt = card.backtest;
  document.getElementById("backtest-scope").textContent =
    "Backtest against the naive forecast (the price stays where it is): " + bt.refits + " refits, forecasts from " +
    bt.origins + " origins between " + bt.first_scored_origin.slice(0, 10) + " and " + bt.last_origin.slice(0, 10) + ".";
  const head = document.querySelector("#backtest thead tr");
  head.replaceChildren();
  const headings = ["horizon", "model MAPE", "naive MAPE", "ratio"].concat(
    bandLevels(card).map((level) => level + "% band coverage"));
  for (const text of headings) {
    const th = document.createElement("th");
    th.textContent = text;
    head.appendChild(th);
  }
  const body = document.querySelector("#backtest tbody");
  body.replaceChildren();
  for (const row of bt.horizons) {
    const tr = document.createElement("tr");
    const cells = [
      horizonLabel(row.horizon, row.unit, summary.bar_seconds),
      percent(row.model.mape, 2),
      percent(row.naive.mape, 2),
      row.mape_ratio.toFixed(3),
    ].concat(row.model.levels.map((band) => percent(band.coverage, 1)));
    for (const text of cells) {
      const td = document.createElement("td");
      td.textContent = text;
      tr.appendChild(td);
    }
    body.appendChild(tr);
  }
}

// The date box suggests a date that suits the bar length: a day a month ahead for daily bars, an instant a day
// after the newest bar for hourly ones (any instant is answered, interpolated between bars).
/** @param {PairSummary} summary */
function suggestDate(summary) {
  const lastBar = Date.parse(summary.last_bar);
  const daily = summary.bar_seconds >= DAY_SECONDS;
  const example = daily ? isoUtc(lastBar + 30 * DAY_SECONDS * 1000).slice(0, 10) : isoUtc(lastBar + DAY_SECONDS * 1000);
  const input = document.getElementById("date");
  input.placeholder = daily ? example + " or " + example + "T12:00:00Z" : example;
  document.getElementById("date-hint").textContent =
    (daily ? "A day (YYYY-MM-DD) or an instant" : "Any instant") +
    " in ISO 8601, UTC unless it carries an offset, e.g. " +
    example + (daily ? " (30 days after the newest bar)" : " (24 hours after the newest bar)") +
    "; between two bars the values are interpolated. This model answers " + summary.first_date + " to " +
    summary.last_date + ".";
}

// The points after the last bar, starting from its observed close, where the marker is.
/** @param {ForecastRange} range */
function forecastAhead(range) {
  const points = range.points;
  const lastBar = points.find((p) => p.date === range.last_bar);
  const ahead = points.filter((p) => p.date > range.last_bar);
  if (lastBar) {
    const close = lastBar.actual;
    ahead.unshift({ date: lastBar.date, prediction: close, prediction_low: close, prediction_high: close });
  }
  return ahead;
}

// The track record over the range drawn: what the served models answered for each bar (without `level`), and the
// close that bar then had. Its points come newest first; the lines are drawn oldest first.
/**
 * @param {TrackRecordPage} record
 * @param since the first date drawn, ISO 8601 like the points' dates
 */
function recordTraces(record, since) {
  const scored = record.points.filter((p) => p.date >= since).reverse();
  if (scored.length === 0) {
    return []; // nothing scored in the range drawn: no empty traces in the legend
  }
  return [
    { x: scored.map((p) => p.date), y: scored.map((p) => p.prediction), mode: "markers",
      marker: { size: 5, color: "#d62728", symbol: "x" }, name: "served forecast" },
    { x: scored.map((p) => p.date), y: scored.map((p) => p.actual), mode: "markers",
      marker: { size: 4, color: "#2ca02c" }, name: "actual (track record)" },
  ];
}

/** @param {TrackRecordPage} record */
function showRecord(record) {
  const scores = record.summary;
  const overall = scores.overall;
  const drift = scores.drift;
  const verdict = drift.degraded ? "DEGRADED: " + drift.reasons.join("; ")
    : drift.status === "ok" ? "no drift over the last " + drift.rules.window_days + " days"
      : "too few points yet to judge drift";
  // With nothing scored, the API's own note says why (defined once, in track_record.py).
  document.getElementById("track-line").textContent = overall.points === 0
    ? "Track record: " + record.note + "."
    : "Track record, forecasts served since " + scores.first_date.slice(0, 10) + " against what happened: " +
      overall.points + " points, MAPE " + percent(overall.mape, 2) + " (naive " + percent(overall.naive_mape, 2) +
      "), band coverage " + percent(overall.coverage, 1) + "; " + verdict + ".";
}

/**
 * @param {ForecastRange} range the default level's range: closes, forecast and its band
 * @param {ForecastRange[]} bands every level's range, narrowest band first (the default's among them)
 * @param {PairSummary} summary
 * @param {TrackRecordPage} record
 */
function drawChart(range, bands, summary, record) {
  const points = range.points;
  const dates = points.map((p) => p.date);
  const lastBar = points.find((p) => p.date === range.last_bar);
  const ahead = forecastAhead(range);
  const traces = [];
  // The widest band first: each narrower one is filled over it, so the shade deepens towards the forecast.
  const shades = [0.3, 0.2, 0.12];
  bands.slice().reverse().forEach((band, k) => {
    const edge = forecastAhead(band);
    const name = Math.round(band.interval * 100) + "% band";
    traces.push(
      { x: edge.map((p) => p.date), y: edge.map((p) => p.prediction_high), mode: "lines",
        line: { width: 0 }, hoverinfo: "skip", showlegend: false, name: name + " high" },
      { x: edge.map((p) => p.date), y: edge.map((p) => p.prediction_low), mode: "lines", fill: "tonexty",
        fillcolor: "rgba(31,119,180," + shades[bands.length - 1 - k] + ")", line: { width: 0 }, name: name },
    );
  });
  traces.push(
    { x: ahead.map((p) => p.date), y: ahead.map((p) => p.prediction), mode: "lines",
      line: { color: "#1f77b4" }, name: "forecast" },
    { x: dates, y: points.map((p) => p.actual), mode: "lines", line: { color: "#222" }, name: "close" },
  );
  traces.push(...recordTraces(record, dates[0]));
  if (lastBar) {
    traces.push({ x: [lastBar.date], y: [lastBar.actual], mode: "markers", marker: { size: 10, color: "#ff7f0e" },
      name: "last bar" });
  }
  // newPlot, not react: a daily and an hourly range share nothing, so the axes start afresh on every switch.
  Plotly.newPlot("chart", traces, {
    margin: { t: 20, r: 10 }, yaxis: { title: { text: range.symbol } }, legend: { orientation: "h" },
    xaxis: { hoverformat: summary.bar_seconds >= DAY_SECONDS ? "%Y-%m-%d" : "%Y-%m-%d %H:%M UTC" },
  }, {
    displaylogo: false, responsive: true,
    // The modebar's camera saves "BTC-USD-forecast.png" (the CSP's img-src allows the blob: image it draws from).
    toImageButtonOptions: { filename: summary.pair + "-forecast", format: "png" },
  });
}

async function ask(event) {
  event.preventDefault();
  const answer = document.getElementById("answer");
  const date = document.getElementById("date").value.trim();
  answer.className = "";
  answer.textContent = "…";
  try {
    const pair = document.getElementById("pair").value;
    const p = await getJson("/predict/" + pair + "?date=" + encodeURIComponent(date));
    answer.textContent = p.date + ": " + money(p.prediction) + " (" + Math.round(p.interval * 100) +
      "% band " + money(p.prediction_low) + " to " + money(p.prediction_high) + "), model " + p.model_version;
  } catch (error) {
    answer.className = "error";
    answer.textContent = error.message;
  }
}

async function showPair(pair) {
  const mine = ++shown;
  document.body.dataset.ready = "false";
  document.getElementById("answer").textContent = "";
  const card = manifest.pairs[pair]; // /model keys pairs by path form, like /pairs
  const forecast = "/predict/" + pair + "/forecast";
  // The default level's range (no `level`: the API's default), and every level's band over the same dates.
  const [record, range, ...bands] = await Promise.all(
    [getJson("/pairs/" + pair + "/track-record?limit=1000"), getJson(forecast)].concat(
      bandLevels(card).map((level) => getJson(forecast + "?level=" + level))));
  if (mine !== shown) {
    return; // another pair was chosen while this one loaded
  }
  const summary = summaries[pair];
  showModel(card, summary);
  suggestDate(summary);
  drawChart(range, bands, summary, record);
  showRecord(record);
  const url = new URL(window.location);
  url.searchParams.set("pair", pair);
  window.history.replaceState(null, "", url);
  document.body.dataset.pair = pair;
  document.body.dataset.ready = "true";
}

async function start() {
  document.getElementById("ask-form").addEventListener("submit", ask);
  const select = document.getElementById("pair");
  try {
    const [pairs, model] = await Promise.all([getJson("/pairs"), getJson("/model")]);
    manifest = model;
    for (const p of pairs.pairs) {
      summaries[p.pair] = p;
      select.appendChild(new Option(p.symbol + " (" + p.timeframe + " bars)", p.pair));
    }
    const wanted = new URLSearchParams(window.location.search).get("pair");
    const names = pairs.pairs.map((p) => p.pair);
    select.value = names.includes(wanted) ? wanted : names.includes("BTC-USD") ? "BTC-USD" : names[0];
    select.addEventListener("change", () => showPair(select.value).catch(fail));
    await showPair(select.value);
  } catch (error) {
    fail(error);
  }
}

function fail(error) {
  document.getElementById("model-line").textContent = "Could not load the forecast: " + error.message;
}

document.addEventListener("DOMContentLoaded", start);
