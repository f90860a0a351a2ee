"""Sums that can be folded: a record's points older than it keeps live on as these, overall, per bucket and per
served model version, so its figures never lose them."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from cryptopredict.core.track.records import Figures
from cryptopredict.core.typed_json import build

Values = tuple[float, float, float, float, float]  # one point's prediction, low, high, actual and naive forecast


def is_number(value: Any) -> bool:
    """A finite int or float, and not a bool (which Python counts as an int)."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


@dataclass(frozen=True)
class Tally:
    """Sums from which Figures follow; adding two tallies is folding points together."""

    points: int = 0
    error: float = 0.0  # sum of |prediction - actual| / actual
    naive_error: float = 0.0  # the same for the naive forecast
    inside: int = 0  # actual closes inside the band

    def __add__(self, other: Tally) -> Tally:
        return Tally(
            self.points + other.points,
            math.fsum((self.error, other.error)),
            math.fsum((self.naive_error, other.naive_error)),
            self.inside + other.inside,
        )

    def figures(self) -> dict[str, Any]:
        if not self.points:
            return build(Figures, points=0, mape=None, naive_mape=None, mape_ratio=None, coverage=None)
        return build(
            Figures,
            points=self.points,
            mape=self.error / self.points,
            naive_mape=self.naive_error / self.points,
            mape_ratio=self.error / self.naive_error if self.naive_error else None,
            coverage=self.inside / self.points,
        )


def tally_of(points: Sequence[Values]) -> Tally:
    """Sums over (prediction, low, high, actual, naive) tuples, each sum exactly rounded (math.fsum)."""
    return Tally(
        len(points),
        math.fsum(abs(p - a) / a for p, _, _, a, _ in points),
        math.fsum(abs(n - a) / a for _, _, _, a, n in points),
        sum(1 for _, lo, hi, a, _ in points if lo <= a <= hi),
    )


@dataclass(frozen=True)
class Archive:
    """Points older than KEEP_DAYS, folded: how many, the span, and their sums overall, per bucket and per version."""

    points: int = 0
    first_date: int | None = None
    last_date: int | None = None
    overall: Tally = Tally()
    buckets: Mapping[str, Tally] = field(default_factory=dict)
    versions: Mapping[str, Tally] = field(default_factory=dict)

    def folded(
        self,
        first_date: int,
        last_date: int,
        overall: Tally,
        buckets: Mapping[str, Tally],
        versions: Mapping[str, Tally],
    ) -> Archive:
        """This archive with the sums of more points, from `first_date` to `last_date`, added."""
        return Archive(
            points=self.points + overall.points,
            first_date=self.first_date if self.first_date is not None else first_date,
            last_date=last_date,
            overall=self.overall + overall,
            buckets=_added(self.buckets, buckets),
            versions=_added(self.versions, versions),
        )


def _added(sums: Mapping[str, Tally], more: Mapping[str, Tally]) -> dict[str, Tally]:
    """`sums` with `more` added label by label; a new label goes last."""
    total = dict(sums)
    for label, tally in more.items():
        total[label] = total.get(label, Tally()) + tally
    return total
