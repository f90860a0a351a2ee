// The chart page: everything it shows comes from the API itself (/pairs, /model, /predict/{pair}[/forecast]).
"use strict";

function percent(value, digits) {
  return value === null || value === undefined ? "n/a" : (100 * value).toFixed(digits) + " %";
}

function money(value) {
  return value.toLocaleString("en-US", { maximumFractionDigits: 2 });
}

async function getJson(url) {
  const response = await fetch(url, { headers: { Accept: "application/json" } });
  const body = await response.json();
  if (!response.ok) {
    throw new Error(body.message || response.statusText);
  }
  return body;
}

let manifest = null;

function showModel(model) {
  document.getElementById("title").textContent = model.symbol + " price forecast";
  document.getElementById("model-line").textContent =
    "Model " + model.model_version + ", trained " + model.trained_at + " on " + model.rows +
    " " + model.timeframe + " bars up to " + model.last_bar + ".";
  const bt = model.backtest;
  document.getElementById("backtest-scope").textContent =
    "Backtest against the naive forecast (the price stays where it is): " + bt.refits + " refits, forecasts from " +
    bt.origins + " origins between " + bt.first_scored_origin.slice(0, 10) + " and " + bt.last_origin.slice(0, 10) + ".";
  const body = document.querySelector("#backtest tbody");
  body.replaceChildren();
  for (const row of model.backtest.horizons) {
    const tr = document.createElement("tr");
    const cells = [
      row.horizon + " " + row.unit + (row.horizon === 1 ? "" : "s"),
      percent(row.model.mape, 2),
      percent(row.naive.mape, 2),
      row.mape_ratio.toFixed(3),
      percent(row.model.coverage, 1),
    ];
    for (const text of cells) {
      const td = document.createElement("td");
      td.textContent = text;
      tr.appendChild(td);
    }
    body.appendChild(tr);
  }
}

function drawChart(range) {
  const points = range.points;
  const dates = points.map((p) => p.date);
  const lastBar = points.find((p) => p.date === range.last_bar);
  // The forecast starts from the last observed close, where the marker is.
  const ahead = points.filter((p) => p.date > range.last_bar);
  if (lastBar) {
    const close = lastBar.actual;
    ahead.unshift({ date: lastBar.date, prediction: close, prediction_low: close, prediction_high: close });
  }
  const traces = [
    { x: ahead.map((p) => p.date), y: ahead.map((p) => p.prediction_high), mode: "lines",
      line: { width: 0 }, hoverinfo: "skip", showlegend: false, name: "band high" },
    { x: ahead.map((p) => p.date), y: ahead.map((p) => p.prediction_low), mode: "lines", fill: "tonexty",
      fillcolor: "rgba(31,119,180,0.2)", line: { width: 0 }, name: Math.round(range.interval * 100) + "% band" },
    { x: ahead.map((p) => p.date), y: ahead.map((p) => p.prediction), mode: "lines",
      line: { color: "#1f77b4" }, name: "forecast" },
    { x: dates, y: points.map((p) => p.actual), mode: "lines", line: { color: "#222" }, name: "close" },
  ];
  if (lastBar) {
    traces.push({ x: [lastBar.date], y: [lastBar.actual], mode: "markers", marker: { size: 10, color: "#ff7f0e" },
      name: "last bar" });
  }
  Plotly.newPlot("chart", traces, {
    margin: { t: 20, r: 10 }, yaxis: { title: { text: range.symbol } }, legend: { orientation: "h" },
  }, { displaylogo: false, responsive: true });
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
  document.body.dataset.ready = "false";
  document.getElementById("answer").textContent = "";
  const range = await getJson("/predict/" + pair + "/forecast");
  showModel(manifest.pairs[range.symbol]);
  drawChart(range);
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
      select.appendChild(new Option(p.symbol, p.pair));
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
