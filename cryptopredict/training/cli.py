"""Training entry point: fit one model per pair on bars from Alpaca, a CSV file or the embedded history, and
publish them as one artifact.

Exit status: 0 every pair updated, or had no new bars and no refit due (then nothing is published); 4 published,
but some pairs kept their previous model (or, having none, were left out), or nothing new for the pairs served
while a pair not yet served was left out (the served model stands); 3 nothing published because every pair
failed and at least one failed the quality gate; 1 nothing published because of the data or the backtest; 2 bad
options (among them --data without exactly one pair)."""

from __future__ import annotations

import argparse
import sys

from cryptopredict.training.bars import BarsError
from cryptopredict.training.card import format_table
from cryptopredict.training.cluster import ClusterError
from cryptopredict.training.gate import advice
from cryptopredict.training.options import (
    add_data_options,
    add_defaulted,
    add_drift_options,
    add_model_options,
    add_runtime_options,
    gate_options,
    option_problem,
    settings_of,
)
from cryptopredict.training.outcomes import PairOutcome, PairStatus
from cryptopredict.training.pipeline import TrainResult, train
from cryptopredict.training.settings import TrainSettings
from cryptopredict.training.sources import ONE_PAIR_PER_FILE

EXIT_PARTIAL = 4
EXIT_GATE = 3


def build_parser() -> argparse.ArgumentParser:
    """train.py's options in five groups, what matters first: data, model, quality gate, drift, runtime."""
    defaults = TrainSettings()  # its field defaults are the defaults; the options read them, never restate them
    parser = argparse.ArgumentParser(description=__doc__)
    add_data_options(parser.add_argument_group("data: which pairs, from where, up to when"), defaults)
    add_model_options(parser.add_argument_group("model: what is fitted, and how often"), defaults)
    add_defaulted(
        parser.add_argument_group("quality gate: a model that fails any check is not published"),
        gate_options(defaults.gate),
    )
    add_drift_options(parser.add_argument_group("drift: when the live track record flags a pair degraded"), defaults)
    add_runtime_options(parser.add_argument_group("runtime: where the artifact goes, and what computes it"), defaults)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.data and len(args.pairs) != 1:
        parser.error(f"--data: {ONE_PAIR_PER_FILE}")  # exits 2, like every other bad option
    if problem := option_problem(args):
        print(f"train: {problem}", file=sys.stderr)
        return 2
    settings = settings_of(args)
    try:
        result = train(settings)
    # A run-wide problem (a pair's own bars or backtest failing is in its outcome), or a cluster that failed:
    # nothing is published before every pair's work is back.
    except (BarsError, ClusterError) as exc:
        print(f"train: {exc}; the current model is unchanged", file=sys.stderr)
        return 1
    return report(result, settings)


def only_new_pairs_failed(result: TrainResult) -> bool:
    """Whether every pair that failed had no model to keep, and some served pair stands unchanged."""
    statuses = [o.status for o in result.outcomes.values()]
    left_out = (PairStatus.DROPPED, PairStatus.RETIRED)
    return any(status.stands for status in statuses) and all(status.stands or status in left_out for status in statuses)


def print_backtest(outcome: PairOutcome) -> None:
    """A refit's backtest: its plan, if shrunk, its refits and origins, and its table."""
    if outcome.fitted and outcome.fitted.plan_note:
        print(f"{outcome.symbol}: {outcome.fitted.plan_note}")
    if outcome.fitted and outcome.fitted.card["update"] == "refit":
        card = outcome.fitted.card
        bt = card["backtest"]
        print(
            f"{outcome.symbol}: backtest {bt['refits']} refits; forecasts from {bt['origins']} "
            f"origins {bt['first_scored_origin']} to {bt['last_origin']}; "
            f"damping {card['model']['damping']}"
        )
        print(format_table(bt["horizons"]))


def print_fate(outcome: PairOutcome, result: TrainResult, settings: TrainSettings) -> None:
    """One line on what became of the pair: on stdout when it is served as this run meant, else on stderr."""
    if outcome.status is PairStatus.UPDATED:
        card = outcome.fitted.card  # type: ignore[union-attr]
        how = (
            f"refitted on {card['rows']} {card['timeframe']} bars {card['first_bar']} to {card['fit_last_bar']}"
            if card["update"] == "refit"
            else f"re-anchored the model fitted at {card['fitted_at']}"
        )
        print(f"{outcome.symbol}: updated to {card['model_version']} ({how}; newest bar {card['last_bar']})")
    elif outcome.status.stands:
        card = outcome.served.card  # type: ignore[union-attr]
        why = outcome.reason or f"no bar newer than {card['last_bar']}"
        print(f"{outcome.symbol}: unchanged at {card['model_version']} ({why})")
    elif outcome.status is PairStatus.RETIRED or outcome.symbol not in settings.pairs:
        # One line for every pair that leaves the artifact: it is in the manifest's run.dropped, with this reason.
        print(f"train: {outcome.symbol}: {outcome.reason}: leaves the artifact", file=sys.stderr)
    else:
        fate = "keeps its previous model" if outcome.status is PairStatus.KEPT else "has no previous model: left out"
        if outcome.reanchored and outcome.served and result.manifest is not None:
            fate += f", re-anchored at its newest bar {outcome.served.card['last_bar']}"
        print(f"train: {outcome.symbol}: {outcome.reason}; {fate}", file=sys.stderr)


def report(result: TrainResult, settings: TrainSettings) -> int:
    """Print each pair's backtest and fate, and choose the exit status."""
    for outcome in result.outcomes.values():
        print_backtest(outcome)
        print_fate(outcome, result, settings)
        if outcome.symbol in result.track:
            # Unpublished, the record stays as stored; the bars since are scored by the next run that publishes.
            note = result.track[outcome.symbol] if result.manifest is not None else "as it was (nothing published)"
            print(f"{outcome.symbol}: track record: {note}")
    failures = [failure for o in result.outcomes.values() if o.fitted for failure in o.fitted.failures]
    if failures:
        print(f"train: {advice(failures)}", file=sys.stderr)
    if result.report_path and result.manifest is None:
        print(f"train: the cards of the models this run made, not published: {result.report_path}")
    elif result.report_path:
        print(f"train: model cards written to {result.report_path}")
    return exit_status(result, settings, has_failures=bool(failures))


def exit_status(result: TrainResult, settings: TrainSettings, has_failures: bool) -> int:
    """The run's exit status (the module's docstring), with its closing line."""
    if result.manifest is None and not result.reasons:
        print("train: no new bars and no refit due: nothing to publish; the current model stands")
        return 0
    if result.manifest is None and only_new_pairs_failed(result):
        # The pairs served had nothing new; what failed was never served. The served model stands as it is: the
        # same as a run that publishes and leaves a new pair out, not a failure of the model being served.
        left_out = [o.symbol for o in result.outcomes.values() if o.status is PairStatus.DROPPED]
        print(f"train: nothing new for the pairs served; {', '.join(left_out)} left out; the current model stands")
        return EXIT_PARTIAL
    if result.manifest is None:
        print("train: no pair updated; the current model is unchanged", file=sys.stderr)
        return EXIT_GATE if has_failures else 1
    manifest = result.manifest
    print(f"train: published {manifest['model_version']} with {', '.join(manifest['pairs'])} in {settings.model_dir}")
    return EXIT_PARTIAL if result.reasons else 0


if __name__ == "__main__":
    raise SystemExit(main())
