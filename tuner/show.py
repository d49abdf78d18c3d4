"""``python -m tuner.show``: a study in the terminal.

``--study NAME`` lists its trials as a table (number, state, feasibility, the three
objectives, pnl_lcb, profile, candidate id); ``--sort KEY`` orders them, ``--front``
keeps the feasible Pareto front, ``--json`` prints JSON for scripts. ``--trial N``
shows one trial whole: parameters, every metric, suite verdicts, evidence status,
commands and paths.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from tuner._cli import ArgumentParser, add_study_arguments, quiet_optuna, run_main
from tuner.errors import InputError
from tuner.record import counted_trials, is_feasible, superseded_numbers
from tuner.session.open import open_existing, resolve_study
from tuner.views.outputs import trial_record
from tuner.views.tables import SORT_KEYS, show_trial, trial_row, trial_table

__all__ = ["cli", "main"]

PROG = "python -m tuner.show"


def main(argv: list[str] | None = None) -> int:
    p = ArgumentParser(prog=PROG, description="List a study's trials, or show one trial whole.")
    add_study_arguments(p, purpose="the study to show")
    p.add_argument("--trial", metavar="N", type=int, help="show trial N whole")
    p.add_argument("--front", action="store_true", help="only the feasible Pareto front")
    p.add_argument("--sort", choices=SORT_KEYS, default="number", help="sort key (default number)")
    p.add_argument("--reverse", action="store_true", help="reverse the sort order")
    p.add_argument("--json", action="store_true", help="JSON instead of a table")
    args = p.parse_args(argv)
    quiet_optuna()
    ref = resolve_study(args.study, args.storage)
    study = open_existing(ref)
    trials = study.get_trials(deepcopy=False)
    if args.trial is not None:
        match = [t for t in trials if t.number == args.trial]
        if not match:
            raise InputError(f"--trial {args.trial}: no such trial in study {ref.name} (trials 0..{len(trials) - 1})")
        print(json.dumps(trial_record(match[0]), indent=2) if args.json else show_trial(match[0]))
        return 0
    superseded = superseded_numbers(trials)
    if args.front:
        front = {t.number for t in study.best_trials if is_feasible(t)}
        trials = [t for t in trials if t.number in front]
    rows = [trial_row(t, superseded) for t in trials]
    key = args.sort

    def sort_key(r: dict[str, Any]) -> tuple[int, float]:
        v = r[key]
        return (1, 0.0) if v is None else (0, float(v))

    rows.sort(key=sort_key, reverse=args.reverse)
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        print(trial_table(rows))
        print(f"{len(rows)} trial(s); {len(counted_trials(study.get_trials(deepcopy=False)))} finished in study {ref.name}",
              file=sys.stderr)
    return 0


def cli() -> None:
    """Console entry point ``tuner-show`` (the same as ``python -m tuner.show``)."""
    run_main(PROG, main)


if __name__ == "__main__":
    cli()
