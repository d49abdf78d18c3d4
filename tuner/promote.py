"""``python -m tuner.promote``: budget tiers over a study's Pareto front, promoted
presets and their provenance records (the work is :func:`tuner.promote`; the rules are
in :mod:`tuner.promotion.promoter`)."""

from __future__ import annotations

from pathlib import Path

from tuner._api import promote
from tuner._cli import ArgumentParser, add_study_arguments, quiet_optuna, run_main, sigterm_as_interrupt
from tuner.config.paths import DEFAULT_BUDGETS

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
    p.add_argument("-q", "--quiet", action="store_true", help="print only errors, nothing about the tiers")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    sigterm_as_interrupt()
    quiet_optuna()
    promote(args.study, storage=args.storage, budgets=args.budgets, out_dir=args.out_dir, study_dir=args.study_dir,
            dry_run=args.dry_run, allow_unverified=args.allow_unverified,
            allow_looser_alpha=args.allow_looser_alpha,
            self_contained_plots=args.self_contained_plots,
            say=None if args.quiet else print)
    return 0


def cli() -> None:
    """Console entry point ``tuner-promote`` (the same as ``python -m tuner.promote``)."""
    run_main(PROG, main)


if __name__ == "__main__":
    cli()
