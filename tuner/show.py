"""``python -m tuner.show``: a study in the terminal.

``--study NAME`` lists its trials as a table: state, Pareto rank among the feasible
trials, the objectives and ``pnl_lcb`` with units, the tiers each trial passes on its
search evidence, profile, candidate id and a note (why a trial is infeasible or failed,
which trial retried it). ``--sort KEY`` orders them, ``--front`` keeps the feasible
Pareto front, ``--json`` prints every row with its parameters for scripts. ``--trial N``
shows one trial whole, ending with a command that re-runs its Monte Carlo.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from tuner._cli import ArgumentParser, add_study_arguments, quiet_optuna, run_main
from tuner.config.budgets import load_budgets
from tuner.config.paths import DEFAULT_BUDGETS
from tuner.errors import InputError
from tuner.record import counted_trials
from tuner.search.progress import terminal_width
from tuner.session.open import open_existing, resolve_study
from tuner.session.read import read_trials
from tuner.session.settings import StudySettings
from tuner.views.assess import assess
from tuner.views.tables import SORT_KEYS, show_trial, tier_legend, trial_json, trial_row, trial_table

__all__ = ["build_parser", "cli", "main"]

PROG = "python -m tuner.show"


def build_parser() -> ArgumentParser:
    p = ArgumentParser(prog=PROG, description="List a study's trials, or show one trial whole.")
    add_study_arguments(p, purpose="the study to show")
    p.add_argument("--trial", metavar="N", type=int,
                   help="show trial N whole: metrics with units, suites, evidence, commands and a re-run command")
    p.add_argument("--front", action="store_true", help="list only the trials on the feasible Pareto front")
    p.add_argument("--sort", choices=SORT_KEYS, default="number",
                   help="order the list by this column, smallest first; missing values last (default number)")
    p.add_argument("--reverse", action="store_true", help="reverse the order of the list")
    p.add_argument("--json", action="store_true", help="print JSON (exact values, parameters) instead of a table")
    p.add_argument("--budgets", metavar="PATH", type=Path, default=DEFAULT_BUDGETS,
                   help="budget tiers for the tier columns (default configs/budgets.yaml)")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    quiet_optuna()
    budgets = load_budgets(args.budgets)
    ref = resolve_study(args.study, args.storage)
    study = open_existing(ref)
    trials = read_trials(study)
    assessed = assess(trials, budgets)
    settings = StudySettings.stored(study)
    if args.trial is not None:
        match = [(t, a) for t, a in zip(trials, assessed, strict=True) if t.number == args.trial]
        if not match:
            raise InputError(f"--trial {args.trial}: no such trial in study {ref.name} (trials 0..{len(trials) - 1})")
        t, a = match[0]
        print(json.dumps(trial_json(t, a, settings), indent=2) if args.json else show_trial(a, budgets, settings))
        return 0
    if args.front:
        assessed = [a for a in assessed if a.pareto_rank == 1]
    rows = [trial_row(a) for a in assessed]
    key = args.sort

    def sort_key(r: dict[str, Any]) -> tuple[int, float]:
        v = r[key]
        return (1, 0.0) if v is None else (0, float(v))

    rows.sort(key=sort_key, reverse=args.reverse)
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        print(trial_table(rows, list(budgets.tiers), width=terminal_width(sys.stdout)))
        print(f"{len(rows)} trial(s); {len(counted_trials(trials))} finished in study {ref.name}; "
              + tier_legend(budgets), file=sys.stderr)
    return 0


def cli() -> None:
    """Console entry point ``tuner-show`` (the same as ``python -m tuner.show``)."""
    run_main(PROG, main)


if __name__ == "__main__":
    cli()
