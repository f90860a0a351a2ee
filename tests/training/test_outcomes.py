"""Each pair's status after a run, and the rule that decides whether the run publishes."""

from __future__ import annotations

import pytest

from cryptopredict.training.outcomes import PairOutcome, PairStatus, should_publish
from cryptopredict.training.stored import PairEntry

STORED = PairEntry(card={}, files={})


def outcome(symbol: str, status: PairStatus) -> PairOutcome:
    """An outcome with something served whenever its status serves a model."""
    serves = status not in (PairStatus.DROPPED, PairStatus.RETIRED)
    return PairOutcome(symbol, status, served=STORED if serves else None)


def test_a_failed_pair_keeps_its_stored_model_or_is_dropped() -> None:
    kept = PairOutcome.failed("BTC/USD", "backtest: too short", STORED)
    assert (kept.status, kept.reason, kept.served, kept.reanchored) == (
        PairStatus.KEPT,
        "backtest: too short",
        STORED,
        False,
    )
    dropped = PairOutcome.failed("ETH/USD", "bars: none", None)
    assert (dropped.status, dropped.served) == (PairStatus.DROPPED, None)
    assert kept.status.failed and dropped.status.failed


@pytest.mark.parametrize(
    ("status", "failed", "stands"),
    [
        (PairStatus.UPDATED, False, False),
        (PairStatus.UNCHANGED, False, True),
        (PairStatus.NOT_TRAINED, False, True),
        (PairStatus.KEPT, True, False),
        (PairStatus.DROPPED, True, False),
        (PairStatus.RETIRED, False, False),
    ],
)
def test_each_status_says_whether_it_failed_and_whether_the_stored_model_stands(
    status: PairStatus, failed: bool, stands: bool
) -> None:
    assert (status.failed, status.stands) == (failed, stands)


def test_an_update_publishes_even_beside_a_failed_pair() -> None:
    outcomes = {"BTC/USD": outcome("BTC/USD", PairStatus.UPDATED), "ETH/USD": outcome("ETH/USD", PairStatus.KEPT)}
    assert should_publish(outcomes, trained=["BTC/USD", "ETH/USD"], listed=["BTC/USD", "ETH/USD"])


def test_nothing_new_publishes_nothing() -> None:
    outcomes = {"BTC/USD": outcome("BTC/USD", PairStatus.UNCHANGED)}
    assert not should_publish(outcomes, trained=["BTC/USD"], listed=["BTC/USD"])


def test_a_change_of_the_pairs_served_publishes_only_when_no_trained_pair_failed() -> None:
    retired = outcome("ETH/USD", PairStatus.RETIRED)
    calm = {"BTC/USD": outcome("BTC/USD", PairStatus.UNCHANGED), "ETH/USD": retired}
    assert should_publish(calm, trained=["BTC/USD"], listed=["BTC/USD", "ETH/USD"])
    failing = {"BTC/USD": outcome("BTC/USD", PairStatus.KEPT), "ETH/USD": retired}
    assert not should_publish(failing, trained=["BTC/USD"], listed=["BTC/USD", "ETH/USD"])


def test_a_pair_not_trained_that_cannot_be_carried_over_does_not_hold_the_others_back() -> None:
    outcomes = {"BTC/USD": outcome("BTC/USD", PairStatus.UNCHANGED), "ETH/USD": outcome("ETH/USD", PairStatus.DROPPED)}
    assert should_publish(outcomes, trained=["BTC/USD"], listed=["BTC/USD", "ETH/USD"])
