"""What a run did with each pair, and the rule that decides whether the run publishes.

Every pair a run trains, and every pair the published artifact lists, ends the run with one `PairStatus`: a new model
(updated), the stored one as it was (unchanged, not trained), the stored one kept because this run's model cannot be
published (kept), or none (dropped, retired)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from cryptopredict.training.fitting import FittedPair
from cryptopredict.training.scoring import why_no_previous
from cryptopredict.training.settings import TrainSettings
from cryptopredict.training.stored import PairEntry

NOT_TRAINED = "not in this run's pairs: served as it was"
RETIRED = "retired: not in this run's pairs (--retire-unlisted)"


class PairStatus(StrEnum):
    """What happened to one pair in a run."""

    UPDATED = "updated"  # a new model is published: refitted, or the stored one re-anchored on newer bars
    UNCHANGED = "unchanged"  # no refit due and no bar newer than the stored forecast's anchor: it stands as it was
    KEPT = "kept"  # this run's model cannot be published (bars, backtest or gate): the previous one stays
    DROPPED = "dropped"  # failed with no previous model to keep, or its stored model cannot be carried over
    NOT_TRAINED = "not-trained"  # served, but not in this run's pairs: it stands as it was
    RETIRED = "retired"  # served, not in this run's pairs, and the run retires such pairs: it leaves the artifact

    @property
    def failed(self) -> bool:
        """This run has a reason the pair did not update: its previous model stays, or it has none to serve."""
        return self in (PairStatus.KEPT, PairStatus.DROPPED)

    @property
    def stands(self) -> bool:
        """The stored model is served exactly as it was."""
        return self in (PairStatus.UNCHANGED, PairStatus.NOT_TRAINED)


@dataclass(frozen=True)
class PairOutcome:
    """One pair's status after a run, with what is served for it and why it did not update."""

    symbol: str
    status: PairStatus
    reason: str | None = None  # why it did not update, or was not trained
    fitted: FittedPair | None = None  # the new model, when one was made (even if the gate refused it)
    served: PairEntry | None = None  # what is published for this pair; None: dropped or retired
    reanchored: bool = False  # kept: the previous model, re-anchored on this run's newer bars

    @classmethod
    def updated(cls, fitted: FittedPair) -> PairOutcome:
        """A new model, refitted or re-anchored, that may be published."""
        return cls(fitted.symbol, PairStatus.UPDATED, fitted=fitted, served=fitted.entry())

    @classmethod
    def unchanged(cls, symbol: str, stored: PairEntry) -> PairOutcome:
        """No refit due and no bar newer than the stored forecast's anchor: it stands, under its own version."""
        return cls(symbol, PairStatus.UNCHANGED, served=stored)

    @classmethod
    def failed(
        cls,
        symbol: str,
        reason: str,
        stored: PairEntry | None,
        fitted: FittedPair | None = None,
        fallback: FittedPair | None = None,
    ) -> PairOutcome:
        """No model of this run can be published: the stored one is kept (re-anchored as `fallback`, if this run
        made one), or the pair is dropped when it has none."""
        if fallback:
            return cls(symbol, PairStatus.KEPT, reason, fitted, fallback.entry(), reanchored=True)
        if stored:
            return cls(symbol, PairStatus.KEPT, reason, fitted, stored)
        return cls(symbol, PairStatus.DROPPED, reason, fitted)


def untrained_outcome(settings: TrainSettings, symbol: str, stored: Mapping[str, PairEntry]) -> PairOutcome:
    """A listed pair this run does not train: served as it was, or retired, or dropped if it cannot be carried."""
    if settings.retire_unlisted:
        return PairOutcome(symbol, PairStatus.RETIRED, RETIRED)
    if symbol in stored:
        return PairOutcome(symbol, PairStatus.NOT_TRAINED, NOT_TRAINED, served=stored[symbol])
    why = why_no_previous(settings.model_dir)
    if why == "new to the artifact":  # the artifact reads, but this pair's card or files do not
        why = "its card or files do not match this version's artifact"
    reason = f"its stored model cannot be carried over ({why}); retrain it to serve it"
    return PairOutcome(symbol, PairStatus.DROPPED, reason)


def should_publish(outcomes: Mapping[str, PairOutcome], trained: Sequence[str], listed: Sequence[str]) -> bool:
    """The publish rule: publish when some pair updated, or when no pair this run trained failed and the set of
    pairs served changes.

    A pair that updated is reason enough: a kept model re-anchored on newer bars rides along, so a failed refit does
    not leave that pair anchored at an old close. Without one, a run publishes only to change the pairs served (a
    pair retired, or one whose stored model can no longer be read), and only when none of its own pairs failed.
    When every pair fails nothing is published and the run fails loudly: the release ships nothing, and the model
    being served stays as it is."""
    fresh = any(o.status is PairStatus.UPDATED for o in outcomes.values())
    unfailing = all(not outcomes[symbol].status.failed for symbol in trained)
    served = {symbol for symbol, o in outcomes.items() if o.served}
    return fresh or (unfailing and served != set(listed))
