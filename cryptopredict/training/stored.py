"""The previous artifact: each pair's card and files as stored, and whether a stored model can be re-anchored or
is due for a refit."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from cryptopredict.core.artifact import MANIFEST_FILE, ArtifactError, pair_files, read_previous_artifact
from cryptopredict.core.dates import naive_utc, parse_utc
from cryptopredict.core.forecast import coverage_of
from cryptopredict.core.manifest import PairCard
from cryptopredict.core.typed_json import problems
from cryptopredict.training.model import read_band_file
from cryptopredict.training.settings import TrainSettings


@dataclass(frozen=True)
class PairEntry:
    """A pair as an artifact holds it: its card and its files."""

    card: dict[str, Any]
    files: dict[str, bytes]
    absent: dict[str, str] = field(default_factory=dict)  # why a file is not in `files`: its older format lacked it

    def bar(self, name: str) -> dt.datetime:
        """A bar start the card records (`last_bar`, `fit_last_bar`), naive UTC like the bars' `ds`."""
        return naive_utc(parse_utc(self.card[name]))

    def cannot_reanchor(self, settings: TrainSettings, bars: pd.DataFrame) -> str | None:
        """Why the stored model cannot be re-anchored on `bars` with these settings, or None."""
        timeframe, interval = self.card["timeframe"], self.card["interval"]  # the card holds the level's coverage
        if timeframe != settings.bar_timeframe.name or interval != coverage_of(settings.level):
            return f"the stored model is for {timeframe} bars and a {interval} band"
        try:  # a band file of another format (one written before the band levels) cannot re-anchor every level
            read_band_file(self.files[pair_files(self.card["symbol"]).band])
        except ValueError as exc:
            return f"the stored band cannot be re-anchored: {exc}"
        if self.bar("fit_last_bar") > bars["ds"].iloc[-1]:
            return "the stored fit saw bars newer than this run's"  # anchoring there would look ahead
        return None

    def has_newer_bars(self, bars: pd.DataFrame) -> bool:
        """Whether `bars` reach past the bar the stored forecast is anchored at."""
        return bool(bars["ds"].iloc[-1] > self.bar("last_bar"))

    def refit_due(self, settings: TrainSettings, bars: pd.DataFrame) -> str | None:
        """Why this pair must be refitted rather than re-anchored, or None.

        A fit is as old as the data it has not seen: the time from the last bar it saw to the newest bar (so a
        simulated run with --until ages it exactly as a live one would)."""
        unseen = bars["ds"].iloc[-1] - self.bar("fit_last_bar")
        hours = unseen.total_seconds() / 3600
        if hours >= settings.refit_after_hours:
            return f"the stored fit has not seen {hours:g} h of bars (refit after {settings.refit_after_hours:g} h)"
        return self.cannot_reanchor(settings, bars)


def read_previous(model_dir: Path) -> dict[str, PairEntry]:
    """The previous artifact's pairs with all their files, if there is a valid artifact this version reads
    (read_previous_artifact: of its format, or upgraded to it from an older one whose pairs lack a file).

    A pair whose card does not match the definition is left out: it is refitted, as if it had no stored model."""
    try:
        previous = read_previous_artifact(model_dir)
    except ArtifactError:
        return {}
    pairs, contents = previous.manifest.get("pairs"), previous.contents
    if not isinstance(pairs, dict):
        return {}
    stored = {}
    for symbol, card in pairs.items():
        names = pair_files(symbol)
        if all(name in contents for name in names.model()) and not problems(PairCard, card):
            files = {name: contents[name] for name in names.all() if name in contents}
            absent = {name: why for name, why in previous.absent.items() if name in names.all()}
            stored[symbol] = PairEntry(card, files, absent)
    return stored


def listed_pairs(model_dir: Path) -> list[str]:
    """Every pair the published manifest lists, whether or not its model can be carried over: what a run must
    account for."""
    try:
        pairs = json.loads((Path(model_dir) / MANIFEST_FILE).read_text())["pairs"]
    except (OSError, ValueError, KeyError, TypeError):
        return []
    return sorted(pairs) if isinstance(pairs, dict) else []
