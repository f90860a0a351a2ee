"""The manifest and each pair's model card, declared once as typed JSON objects (core/typed_json.py): every
field's name, type, nullability and description.

Training builds them with `build(PairCard, ...)`, load_artifact checks a whole manifest with `check_manifest`, the
/model schemas are generated from these declarations (serving/records.py), and tests/core/test_manifest.py checks
that every field the chart page reads is declared.

Standard library only: both sides import it, and release/model_card.py runs on a bare python3.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal, NotRequired, TypedDict

from cryptopredict.core.timeframe import TIMEFRAMES
from cryptopredict.core.typed_json import Example, Instant, problems

# The artifact's format: which files a pair has and the records below. A server reads only its own format, so
# a change to the records that an older server or training run could not read comes with a new number.
FORMAT = 5  # 1: one pair per artifact; 2: no band file, no re-anchoring; 3: one band level (80 %); 4: no track record
# Older formats a training run still reads as its previous artifact, upgraded to FORMAT in memory by
# artifact.read_previous_artifact (the one place that knows what each lacks): a format-4 pair has every model file,
# so it is re-anchored (and its forecasts scored) as usual, and its track record starts with this run's points.
PREVIOUS_FORMATS = (4,)

SourceKind = Literal["alpaca", "embedded", "csv"]
Update = Literal["refit", "reanchor"]
TimeframeName = Literal[tuple(TIMEFRAMES)]  # type: ignore[valid-type]  # the bar lengths timeframe.py defines
BarUnit = Literal[tuple(t.unit for t in TIMEFRAMES.values())]  # type: ignore[valid-type]


# --- the model card ------------------------------------------------------------------------------------------


class Source(TypedDict):
    """Where a pair's bars came from: live Alpaca bars, or a file (the embedded history or a CSV file)"""

    kind: Annotated[
        SourceKind,
        "Where the bars came from: alpaca (live market data), embedded (the history shipped with the service) "
        "or csv (a file)",
    ]
    feed: NotRequired[Annotated[str, "Alpaca's data feed (alpaca only)"]]
    url: NotRequired[Annotated[str, "The Alpaca data URL the run used, or `default` (alpaca only)"]]
    path: NotRequired[Annotated[str, "The file's name (embedded and csv only)"]]
    sha256: NotRequired[Annotated[str, "The file's SHA-256, hex (embedded and csv only)"]]


class LevelScores(TypedDict):
    """The band of one level at one horizon: its nominal coverage against the share of outcomes it held"""

    level: Annotated[int, "The band's level: its nominal coverage in percent (the API's `level`)", Example(95)]
    nominal: Annotated[float, "The band's nominal coverage", Example(0.95)]
    coverage: Annotated[float | None, "Share of outcomes inside the band; null when too few errors calibrate one"]
    width: Annotated[float | None, "Mean band width / forecast; null when too few errors calibrate a band"]
    tolerance: Annotated[
        float | None,
        "How far from `nominal` the gate let `coverage` fall: the gate's `max_coverage_gap`, or two standard errors "
        "of a calibrated band's coverage over the horizon's `independent` outcomes if wider; null on the naive "
        "forecast's bands, which the gate does not judge",
        Example(0.07),
    ]


class Scores(TypedDict):
    """One forecast's scores at one horizon, over the scored origins"""

    mape: Annotated[float, "Mean absolute percentage error (0.05 = 5 %)"]
    mase: Annotated[float, "Mean absolute error relative to naive"]
    coverage: Annotated[
        float | None,
        "Share of outcomes inside the band of the card's `interval` (the default level); null when too few errors "
        "calibrate one",
    ]
    width: Annotated[
        float | None,
        "Mean width / forecast of the band of the card's `interval`; null when too few errors calibrate a band",
    ]
    levels: Annotated[list[LevelScores], "Every level's band, from the narrowest to the widest"]


class HorizonScores(TypedDict):
    """The backtest at one horizon: the model and the naive forecast side by side"""

    horizon: Annotated[int, "Bars ahead"]
    unit: Annotated[BarUnit, "The bar's unit", Example("day")]
    origins: Annotated[int, "Forecast origins scored at this horizon"]
    independent: Annotated[
        int,
        "Non-overlapping horizon-long windows among the origins whose band was scored: how many independent "
        "outcomes the band coverage is measured on",
        Example(24),
    ]
    mape_ratio: Annotated[float, "Model MAPE / naive MAPE"]
    model: Annotated[Scores, "The model's scores"]
    naive: Annotated[Scores, "The last close, carried forward"]


class Backtest(TypedDict):
    """The rolling-origin backtest of the last refit"""

    origins: Annotated[int, "Forecast origins scored"]
    refits: Annotated[int, "Model refits whose forecasts are scored"]
    warmup_refits: Annotated[int, "Earlier refits whose errors only calibrate the band"]
    first_scored_origin: Annotated[Instant, "The first scored forecast origin (a bar's start)"]
    last_origin: Annotated[Instant, "The last forecast origin (a bar's start)"]
    band: Annotated[str, "How the band is calibrated"]
    horizons: Annotated[list[HorizonScores], "One row per reported horizon"]


class ModelDescription(TypedDict):
    """The model's settings"""

    timeframe: Annotated[TimeframeName, "The bar length"]
    damping: Annotated[float, "The factor on Prophet's trend change from the last close, chosen by the backtest"]
    changepoint_prior_scale: Annotated[float, "Prophet's changepoint prior scale: smaller is a stiffer trend"]
    fit_window_days: Annotated[int, "Days of bars the Prophet fit sees"]
    target: Annotated[str, "What Prophet is fitted on", Example("log close")]


class Gate(TypedDict):
    """The quality gate's thresholds and its verdict on the last refit"""

    max_mape_ratio: Annotated[float, "The largest model/naive MAPE ratio allowed at any horizon"]
    min_coverage: Annotated[
        float, "The smallest coverage allowed for the band of the card's `interval`, at any horizon"
    ]
    max_coverage: Annotated[float, "The largest coverage allowed for the band of the card's `interval`, at any horizon"]
    max_coverage_gap: Annotated[
        float, "The largest distance allowed between each level's band coverage and its nominal one, at any horizon"
    ]
    passed: Annotated[bool, "Whether the model cleared every threshold"]
    failures: Annotated[list[str], "Every failed check, readable; empty when it passed"]


class PairCard(TypedDict):
    """One pair's model card: what was trained, on what, when, with which packages, and how it scored"""

    model_version: Annotated[str, "This pair's model version: when its forecast was made, and its file's hash"]
    symbol: Annotated[str, "The pair, as Alpaca writes it", Example("BTC/USD")]
    timeframe: Annotated[TimeframeName, "The bar length the model was trained on"]
    interval: Annotated[float, "Nominal coverage of the band", Example(0.8)]
    horizon_days: Annotated[int, "How many days past the newest bar the forecast reaches"]
    source: Annotated[Source, "Where the bars came from"]
    first_bar: Annotated[Instant, "First bar of the Prophet fit's window"]
    fit_last_bar: Annotated[Instant, "Last bar of the Prophet fit's window"]
    rows: Annotated[int, "Bars in the Prophet fit's window"]
    last_bar: Annotated[Instant, "The newest bar (its start): the forecast is anchored at its close"]
    fitted_at: Annotated[Instant, "When the backtest, gate and Prophet fit ran"]
    update: Annotated[Update, "What the run that made this forecast did: refitted, or re-anchored the stored fit"]
    trained_at: Annotated[Instant, "When this forecast was made"]
    trained_until: Annotated[Instant, "Only bars closed by then were used"]
    git_commit: Annotated[str | None, "The commit of the code that made the fit; null when not known"]
    model: Annotated[ModelDescription, "The model's settings"]
    backtest: Annotated[Backtest, "The rolling-origin backtest of the last refit"]
    gate: Annotated[Gate, "The quality gate's verdict on the last refit"]
    packages: Annotated[dict[str, str], "Versions of Python and the training packages, by name (absent: not installed)"]


# --- the manifest --------------------------------------------------------------------------------------------


class RunOutcome(TypedDict):
    """What the training run that published the artifact did with each pair"""

    updated: Annotated[list[str], "Pairs refitted or re-anchored on new bars"]
    unchanged: Annotated[list[str], "Pairs with no new bar and no refit due: their stored model stands as it was"]
    kept: Annotated[dict[str, str], "Pairs that failed and kept their previous model, with the reason"]
    dropped: Annotated[dict[str, str], "Pairs that failed with no previous model to keep, with the reason"]


class FileEntry(TypedDict):
    """One file of the artifact"""

    sha256: Annotated[str, "SHA-256 of its bytes, hex"]
    bytes: Annotated[int, "Its size in bytes"]


class Manifest(TypedDict):
    """The artifact: a model card per pair, what the last training run did, and the checksum of every file"""

    format: Annotated[int, "The artifact's format: a server reads only its own", Example(FORMAT)]
    model_version: Annotated[str, "The artifact's version: changes whenever any pair's does"]
    published_at: Annotated[Instant, "When the artifact was published"]
    git_commit: Annotated[str | None, "The commit of the code that published it; null when not known"]
    pairs: Annotated[dict[str, PairCard], "Each pair's model card, by symbol"]
    run: Annotated[RunOutcome, "What the last training run did"]
    files: Annotated[dict[str, FileEntry], "Every file of the artifact, by name, with its checksum"]


def check_manifest(manifest: Any) -> list[str]:
    """Every way `manifest` differs from the definition (a field missing, unknown, of the wrong type or null
    where it may not be, at any depth), each with its path; empty when it matches."""
    found = problems(Manifest, manifest, "manifest")
    if isinstance(manifest, Mapping) and isinstance(manifest.get("pairs"), Mapping):
        for symbol, card in manifest["pairs"].items():
            if isinstance(card, Mapping) and card.get("symbol") != symbol:
                found.append(f"manifest.pairs[{symbol!r}].symbol: is {card.get('symbol')!r}")
    return found
