"""Price bars from Alpaca, a CSV file or the embedded history, as one validated frame.

Every source yields the columns `ds` (bar start, naive UTC, as Prophet wants) and `close`,
plus whichever of `open, high, low, volume` it has.
"""

from __future__ import annotations

import datetime as dt
import socket
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import numpy as np
import pandas as pd

from cryptopredict.core.artifact import pair_name, symbol_of
from cryptopredict.core.dates import naive_utc
from cryptopredict.core.timeframe import DAY, Timeframe

EMBEDDED_DIR = Path(__file__).resolve().parents[2] / "data"
# Real hourly BTC/USD closes, 2019-11-20 to 2025-11-22 (data/PROVENANCE.md): what the tests, benchmarks, the
# freshness replay and the release rehearsal train on. Read as a CSV file (`--data`), not as an embedded source.
HOURLY_BTC_USD = EMBEDDED_DIR / "btc-usd-1h.csv.gz"
OPTIONAL_COLUMNS = ("open", "high", "low", "volume")
BAR_COLUMNS = ("open", "high", "low", "close", "volume")
ALPACA_RETRY_CODES = [429, 500, 502, 503, 504]


class BarsError(ValueError):
    """The bars cannot be had, or are not fit to train on. The message is one line."""


@dataclass(frozen=True)
class AlpacaOptions:
    """How to reach Alpaca. Keys are optional: they only raise the rate limit."""

    api_key: str | None = None
    secret_key: str | None = None
    url_override: str | None = None
    retry_attempts: int = 3
    retry_wait_seconds: float = 3.0
    timeout_seconds: float = 30.0


def to_naive_utc_series(values: pd.Series) -> pd.Series:
    """`dates.naive_utc` for a whole column: text or timestamps, with a zone or naive (taken as UTC), to naive
    UTC datetime64[ns] (never local time). Vectorised, because bar columns run to tens of thousands of rows."""
    parsed = pd.to_datetime(values, utc=True)
    return parsed.dt.tz_localize(None).astype("datetime64[ns]")


def embedded_path(symbol: str, timeframe: Timeframe) -> Path:
    return EMBEDDED_DIR / f"{pair_name(symbol).lower()}-{timeframe.short}.csv"


def embedded_symbols() -> list[str]:
    """The pairs the embedded history has daily bars for."""
    suffix = f"-{DAY.short}.csv"
    return sorted(symbol_of(p.name.removesuffix(suffix)) for p in EMBEDDED_DIR.glob(f"*{suffix}"))


# The header is line 1 of a CSV file, so the first data row (pandas' row 0) is line 2.
FIRST_DATA_LINE = 2


def read_csv_bars(path: Path) -> pd.DataFrame:
    """Read `timestamp,close[,open,high,low,volume]` from a CSV file, refusing a bad cell by its file line."""
    path = Path(path)
    try:
        raw = pd.read_csv(path, dtype=str, keep_default_na=False)
    except FileNotFoundError:
        raise BarsError(f"{path}: no such file") from None
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        raise BarsError(f"{path}: not a readable CSV file ({str(exc).splitlines()[0]})") from None
    raw.columns = [c.strip().lower() for c in raw.columns]
    missing = [c for c in ("timestamp", "close") if c not in raw.columns]
    if missing:
        raise BarsError(f"{path}: missing column(s) {', '.join(missing)}; need timestamp,close")
    stamps = raw["timestamp"].str.strip()
    frame = pd.DataFrame()
    try:
        frame["ds"] = to_naive_utc_series(stamps)
    except (ValueError, TypeError):
        raise BarsError(f"{path}: {_bad_timestamp(stamps)}") from None
    for column in ("close", *OPTIONAL_COLUMNS):
        if column in raw.columns:
            frame[column] = pd.to_numeric(raw[column].str.strip(), errors="coerce")
    _check_file_rows(path, frame, raw["close"].str.strip())
    return frame


def _line(row: int) -> int:
    return row + FIRST_DATA_LINE


def _bad_timestamp(stamps: pd.Series) -> str:
    """Which line's timestamp cannot be read; pandas' own words only when no single cell is to blame."""
    for row, text in enumerate(stamps):
        if not text:
            return f"line {_line(row)}: timestamp is empty"
        try:
            to_naive_utc_series(pd.Series([text]))
        except (ValueError, TypeError):
            return (
                f'line {_line(row)}: timestamp "{text}" is not a date-time such as 2024-01-31 or 2024-01-31T00:00:00Z'
            )
    # Every cell parses alone: the column mixes formats (pandas infers one from the first cell and refuses others).
    return f'column timestamp mixes date-time formats: write every one like line 2\'s "{stamps.iloc[0]}"'


def find_disorder(ds: pd.Series) -> tuple[int, str] | None:
    """The first row whose timestamp is not after the one before it, and how ("repeats" or goes back), or None."""
    steps = ds.diff().iloc[1:]
    bad = steps[steps <= pd.Timedelta(0)]
    if bad.empty:
        return None
    row = int(bad.index[0])
    return row, "repeats" if steps[row] == pd.Timedelta(0) else "goes back in time at"


def _check_file_rows(path: Path, frame: pd.DataFrame, close_text: pd.Series) -> None:
    """Timestamps strictly increasing and closes finite positive prices, named by file line and as written."""
    ds = frame["ds"]
    if ds.isna().any():  # pandas reads an empty cell as NaT rather than failing
        raise BarsError(f"{path}: line {_line(int(ds.isna().to_numpy().argmax()))}: timestamp is empty")
    disorder = find_disorder(ds)
    if disorder:
        row, kind = disorder
        raise BarsError(
            f"{path}: timestamps must be strictly increasing: line {_line(row)} {kind} {ds[row]:%Y-%m-%d %H:%M}"
        )
    close = frame["close"].to_numpy(dtype=float)
    invalid = ~(np.isfinite(close) & (close > 0))
    if invalid.any():
        row = int(invalid.argmax())
        text = close_text.iloc[row]
        if not text:
            what = "close is empty"
        elif np.isnan(close[row]):
            what = f'close "{text}" is not a number'
        else:
            what = f"close {text} is not a finite positive number"
        raise BarsError(
            f"{path}: close must be a finite positive price: line {_line(row)} ({ds[row]:%Y-%m-%d %H:%M}): {what}"
        )


def read_embedded_bars(symbol: str, timeframe: Timeframe) -> pd.DataFrame:
    """The daily history shipped in data/ (see data/PROVENANCE.md)."""
    path = embedded_path(symbol, timeframe)
    if not path.is_file():
        raise BarsError(
            f"no embedded history for {symbol} {timeframe} (looked for {path.name} in {EMBEDDED_DIR}; "
            f"it has daily bars of {', '.join(embedded_symbols())})"
        )
    return read_csv_bars(path)


def fetch_alpaca_bars(
    symbol: str,
    timeframe: Timeframe,
    start: dt.datetime,
    now: dt.datetime,
    options: AlpacaOptions,
    allow_empty: bool = False,
) -> pd.DataFrame:
    """Every completed bar from `start` up to `now`, through the official SDK (it follows page tokens).

    No bars at all is an error unless `allow_empty` (one batch of a longer fetch may fall in a gap)."""
    from alpaca.data.requests import CryptoBarsRequest

    request = CryptoBarsRequest(symbol_or_symbols=symbol, timeframe=timeframe.alpaca(), start=start, end=now)
    bars = _request_bars(_alpaca_client(options), request, symbol, options)
    if not bars and allow_empty:
        return pd.DataFrame(
            {"ds": pd.Series(dtype="datetime64[ns]"), **{c: pd.Series(dtype=float) for c in BAR_COLUMNS}}
        )
    if not bars:
        raise BarsError(
            f"Alpaca returned no {timeframe} bars for {symbol} from {start:%Y-%m-%d} to {now:%Y-%m-%d %H:%M}Z"
        )
    frame = pd.DataFrame(
        {
            "ds": to_naive_utc_series(pd.Series([b.timestamp for b in bars])),
            "open": [b.open for b in bars],
            "high": [b.high for b in bars],
            "low": [b.low for b in bars],
            "close": [b.close for b in bars],
            "volume": [b.volume for b in bars],
        }
    )
    return drop_incomplete(frame, timeframe, now)


def _alpaca_client(options: AlpacaOptions) -> Any:
    """The SDK's crypto data client, retrying passing faults, with a timeout on every request."""
    from alpaca.data.historical import CryptoHistoricalDataClient
    from requests.adapters import HTTPAdapter

    class TimeoutAdapter(HTTPAdapter):
        """The SDK sends no timeout, so a silent server would hang training forever; give every request one."""

        def send(self, request: Any, **kwargs: Any) -> Any:
            kwargs["timeout"] = kwargs.get("timeout") or options.timeout_seconds
            return super().send(request, **kwargs)

    client = CryptoHistoricalDataClient(
        api_key=options.api_key or None,
        secret_key=options.secret_key or None,
        url_override=options.url_override or None,
    )
    # The SDK retries only the codes it is given; 5xx are passing faults on a data API too.
    client._retry = options.retry_attempts
    client._retry_wait = options.retry_wait_seconds
    client._retry_codes = ALPACA_RETRY_CODES
    for scheme in ("https://", "http://"):
        client._session.mount(scheme, TimeoutAdapter())
    return client


def _request_bars(client: Any, request: Any, symbol: str, options: AlpacaOptions) -> list[Any]:
    """The symbol's bars the SDK fetched, every page of them; any failure is a BarsError of one line."""
    from alpaca.common.enums import BaseURL
    from alpaca.common.exceptions import APIError
    from requests import JSONDecodeError, RequestException, Timeout

    try:
        barset = client.get_crypto_bars(request)
    except APIError as exc:
        status = exc.status_code if exc.response is not None else "?"
        raise BarsError(f"Alpaca bars request for {symbol} failed with HTTP {status}: {_one_line(str(exc))}") from None
    except Timeout:
        raise BarsError(
            f"Alpaca bars request for {symbol} timed out: no answer within {options.timeout_seconds:g} s"
        ) from None
    except JSONDecodeError as exc:
        raise BarsError(
            f"Alpaca answered the bars request for {symbol} with a body that is not valid JSON "
            f"(cut off in transit?): {_one_line(str(exc))}"
        ) from None
    except (RequestException, ValueError) as exc:
        cause = network_cause(exc, options.url_override or BaseURL.DATA.value, options.timeout_seconds)
        raise BarsError(f"Alpaca bars request for {symbol} failed: {cause or _one_line(str(exc))}") from None
    return barset.data.get(symbol, [])


def _exception_chain(exc: BaseException) -> list[BaseException]:
    """`exc` and what it wraps, outermost first: requests' ConnectionError holds urllib3's MaxRetryError in its
    args, which holds the real fault in `reason`, which was raised from the socket's error (`__cause__`)."""
    chain: list[BaseException] = []
    pending: list[BaseException] = [exc]
    while pending:
        current = pending.pop(0)
        if any(current is seen for seen in chain):
            continue
        chain.append(current)
        linked = [getattr(current, "reason", None), current.__cause__, current.__context__, *current.args]
        pending.extend(item for item in linked if isinstance(item, BaseException))
    return chain


def network_cause(exc: BaseException, url: str, timeout_seconds: float) -> str | None:
    """The cause of a failed request in words (name resolution, refused, timeout, TLS), or None if it is none."""
    import ssl

    from urllib3.exceptions import NameResolutionError, SSLError

    address = urlsplit(url)
    host = address.hostname or url
    where = f"{host}:{address.port or (443 if address.scheme == 'https' else 80)}"

    def tls_words(fault: BaseException) -> str:
        # OpenSSL's reason code ("WRONG_VERSION_NUMBER") in words; a certificate failure has its own message.
        reason = (getattr(fault, "reason", None) or "").replace("_", " ").lower()
        words = getattr(fault, "verify_message", None) or reason
        return f"TLS handshake with {where} failed: {_one_line(words or str(fault))}"

    # In order: the innermost fault decides (a refused connection also shows up as urllib3's NewConnectionError).
    rules: list[tuple[tuple[type[BaseException], ...], Callable[[BaseException], str | None]]] = [
        ((socket.gaierror, NameResolutionError), lambda _: f"could not resolve the host {host} (no network or DNS?)"),
        ((ConnectionRefusedError,), lambda _: f"connection refused by {where} (is anything listening there?)"),
        ((ssl.SSLError,), tls_words),
        ((SSLError,), lambda fault: f"TLS handshake with {where} failed: {_one_line(str(fault))}"),
        ((TimeoutError,), lambda _: f"timed out after {timeout_seconds:g} s reaching {where}"),
        ((ConnectionResetError, ConnectionAbortedError), lambda _: f"the connection to {where} was reset"),
        ((OSError,), lambda fault: f"could not reach {where}: {fault.strerror}" if fault.strerror else None),
    ]
    chain = _exception_chain(exc)
    for kinds, describe in rules:
        for fault in chain:
            if isinstance(fault, kinds) and (words := describe(fault)):
                return words
    return None


def _one_line(text: str, limit: int = 200) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def drop_incomplete(frame: pd.DataFrame, timeframe: Timeframe, now: dt.datetime) -> pd.DataFrame:
    """Keep only bars that had closed by `now` (a bar closing exactly at `now` included); the bar still in
    progress would be a partial close."""
    bar_end = frame["ds"] + pd.Timedelta(seconds=timeframe.seconds)
    return frame[bar_end <= naive_utc(now)].reset_index(drop=True)


def coarsen(frame: pd.DataFrame, timeframe: Timeframe) -> pd.DataFrame:
    """Finer bars (say hourly, in a CSV) to `timeframe` bars: the last close of each period.

    A period whose last bar does not reach its end is still in progress and is dropped. Unsorted input is
    returned as it is, for validation to refuse.
    """
    length = pd.Timedelta(seconds=timeframe.seconds)
    steps = frame["ds"].diff().iloc[1:]
    if steps.empty or not (steps > pd.Timedelta(0)).all() or steps.median() >= length:
        return frame
    fine = steps.median()
    grouped = frame.groupby(frame["ds"].dt.floor(length)).agg(close=("close", "last"), last=("ds", "max"))
    complete = (grouped["last"] + fine >= grouped.index + length).to_numpy()
    return pd.DataFrame({"ds": grouped.index[complete], "close": grouped["close"].to_numpy()[complete]})


# Alpaca stamped daily crypto bars at midnight in Chicago until 2025 and stamps them at midnight UTC now.
ALPACA_OLD_DAY_ZONE = "America/Chicago"


def align_to_grid(frame: pd.DataFrame, timeframe: Timeframe) -> pd.DataFrame:
    """Bars on their timeframe's UTC grid, or BarsError naming the first bar that cannot be put there.

    A daily bar stamped at midnight in Chicago is the bar of that Chicago day: it is named by that day's UTC
    midnight (its close is then a price from 05:00 or 06:00 UTC the next day, not midnight). Where a store holds
    the same day in both conventions (bars fetched before and after Alpaca's switch), the UTC-stamped bar, the
    current convention, is kept. Any other bar off the grid is refused rather than reindexed into a gap.
    """
    if frame.empty:
        return frame
    ds = frame["ds"]
    if timeframe is DAY:
        local = ds.dt.tz_localize("UTC").dt.tz_convert(ALPACA_OLD_DAY_ZONE)
        chicago = (ds != ds.dt.floor("D")) & (local == local.dt.floor("D"))
        if chicago.any():
            frame = frame.assign(ds=ds.where(~chicago, local.dt.tz_localize(None).dt.floor("D")))
            frame = frame[~(chicago & frame["ds"].duplicated(keep=False))]
            frame = frame.sort_values("ds", kind="stable").reset_index(drop=True)
            ds = frame["ds"]
    seconds = ds.astype("datetime64[s]").astype("int64")
    off = ~timeframe.on_grid(seconds)  # elementwise: the grid rule is the timeframe's, applied to the column
    if off.any():
        row = int(off.to_numpy().argmax())
        raise BarsError(
            f"bar {row + 1} starts at {ds.iloc[row]:%Y-%m-%d %H:%M} UTC, off the {timeframe} grid "
            f"(bars start every {timeframe.unit} on the {timeframe.unit} in UTC)"
        )
    return frame


def validate_bars(
    frame: pd.DataFrame, *, timeframe: Timeframe, min_rows: int, now: dt.datetime | None = None
) -> pd.DataFrame:
    """Refuse bars that a model should not be fitted on. `now` enables the staleness check (live data)."""
    if len(frame) < min_rows:
        raise BarsError(f"only {len(frame)} bars, need at least {min_rows}")
    ds = frame["ds"]
    if ds.isna().any():
        raise BarsError(f"bar {int(ds.isna().to_numpy().argmax()) + 1} has no timestamp")
    disorder = find_disorder(ds)
    if disorder:
        row, kind = disorder
        raise BarsError(f"timestamps must be strictly increasing: bar {row + 1} {kind} {ds[row]:%Y-%m-%d %H:%M}")
    close = frame["close"].to_numpy(dtype=float)
    invalid = ~(np.isfinite(close) & (close > 0))
    if invalid.any():
        row = int(invalid.argmax())
        value = close[row]
        shown = "no close" if np.isnan(value) else f"close {float(value):.15g}"  # the number, never numpy's repr
        raise BarsError(f"close must be a finite positive price: bar {row + 1} ({ds[row]:%Y-%m-%d %H:%M}) has {shown}")
    if now is not None:
        length = pd.Timedelta(seconds=timeframe.seconds)
        if naive_utc(now) - ds.iloc[-1] > 2 * length:
            raise BarsError(
                f"the last bar ({ds.iloc[-1]:%Y-%m-%d %H:%M}) is older than two bar lengths "
                f"at {naive_utc(now):%Y-%m-%d %H:%M} UTC; the live feed looks stalled"
            )
    return frame
