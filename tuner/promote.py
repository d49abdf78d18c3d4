"""``python -m tuner.promote``: budget tiers over a study's Pareto front, promoted
presets and their provenance records (the work is :func:`tuner.promote`; the rules are
in :mod:`tuner.promotion.promoter`)."""

from __future__ import annotations

import json
from pathlib import Path

from tuner._api import promote
from tuner._cli import ArgumentParser, add_study_arguments, positive_int, quiet_optuna, run_main, sigterm_as_interrupt
from tuner.config.paths import DEFAULT_BUDGETS
from tuner.promotion.confirm import DEFAULT_CONFIRM_RUNS, DEFAULT_FINALISTS, DEFAULT_SUITE_SEEDS

__all__ = ["build_parser", "cli", "main"]

PROG = "python -m tuner.promote"


def build_parser() -> ArgumentParser:
    p = ArgumentParser(prog=PROG, description="Promote the winners of a study's Pareto front per budget tier.")
    add_study_arguments(p, purpose="the study whose feasible Pareto front to promote")
    p.add_argument("--budgets", metavar="PATH", type=Path, default=DEFAULT_BUDGETS,
                   help="budget tiers and alpha (default configs/budgets.yaml)")
    p.add_argument("--out-dir", metavar="DIR", type=Path, default=None,
                   help="where promoted presets go (default configs/presets/promoted)")
    p.add_argument("--study-dir", metavar="DIR", type=Path, default=None,
                   help="the study's artifact directory, if not where the study recorded it (shared filesystem)")
    p.add_argument("--dry-run", action="store_true", help="say what would be promoted; write nothing")
    p.add_argument("--allow-unverified", action="store_true",
                   help="promote even when a winner's trial directory cannot be reached from this host (recorded)")
    p.add_argument("--allow-looser-alpha", action="store_true",
                   help="promote with budgets whose alpha is larger than the study's (refused otherwise; recorded)")
    p.add_argument("--self-contained-plots", action="store_true", default=None,
                   help="rewrite the study's plots with Plotly's JavaScript inside every page (default: the form "
                   "they already have)")
    p.add_argument("--finalists", metavar="K", type=positive_int("--finalists"), default=None,
                   help="candidates per tier (passing on search evidence, in winner order) confirmed on fresh seeds; "
                   f"every bound at alpha / K (default {DEFAULT_FINALISTS}, or $TUNER_FINALISTS)")
    p.add_argument("--confirm-runs", metavar="N", type=positive_int("--confirm-runs", 2), default=None,
                   help=f"Monte Carlo runs of each finalist's confirmation (default {DEFAULT_CONFIRM_RUNS}, or "
                   "$TUNER_CONFIRM_RUNS)")
    p.add_argument("--confirm-suite-seeds", metavar="M", type=positive_int("--confirm-suite-seeds"), default=None,
                   help=f"fresh seeds per suite scenario in a confirmation (default {DEFAULT_SUITE_SEEDS}, or "
                   "$TUNER_CONFIRM_SUITE_SEEDS)")
    p.add_argument("--json", action="store_true", help="print the decision as one JSON object (nothing else)")
    p.add_argument("-q", "--quiet", action="store_true", help="print only errors, nothing about the tiers")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    sigterm_as_interrupt()
    quiet_optuna()
    result = promote(args.study, storage=args.storage, budgets=args.budgets, out_dir=args.out_dir,
                     study_dir=args.study_dir, dry_run=args.dry_run, allow_unverified=args.allow_unverified,
                     allow_looser_alpha=args.allow_looser_alpha, self_contained_plots=args.self_contained_plots,
                     finalists=args.finalists, confirm_runs=args.confirm_runs,
                     confirm_suite_seeds=args.confirm_suite_seeds,
                     say=None if args.quiet or args.json else print)
    if args.json:
        print(json.dumps(result.as_dict(), sort_keys=True, allow_nan=False, default=str))
    return 0


def cli() -> None:
    """Console entry point ``tuner-promote`` (the same as ``python -m tuner.promote``)."""
    run_main(PROG, main)


if __name__ == "__main__":
    cli()
