"""``python -m tuner.study``: the multi-objective study service.

Searches the configuration space with NSGA-II (fixed seed) over the real simulator,
stores every trial in an Optuna storage (SQLite by default, PostgreSQL for several
hosts), resumes an interrupted study with the same command, and ends with the Pareto
front and the promoter (unless ``--no-promote``). The work is :func:`tuner.run_study`.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from tuner import _cli
from tuner._api import StudyInterrupted, StudyStopped, run_study
from tuner._cli import ArgumentParser, add_study_arguments, positive_int
from tuner.config.paths import DEFAULT_BUDGETS, DEFAULT_SEARCH_SPACE
from tuner.session.sampler import SAMPLERS
from tuner.session.settings import DEFAULTS
from tuner.simulator.client import EVIDENCE_MODES

__all__ = ["build_parser", "cli", "main"]

PROG = "python -m tuner.study"

EPILOG = """\
Outputs: the study database (default sqlite:///studies/<study>.db) holds every trial and
its metrics; <study dir>/trials/trial_<NNNN>_<candidate_id>/ holds each trial's evidence
(candidate.env, mc/, suite/, evidence_pack/); at the end <study dir> gets trials.jsonl,
pareto.json, pareto.csv, plots/*.html and a root evidence pack, and the promoter writes
configs/presets/promoted/<tier>/.

Resume: run the same command again. --trials N is the total number of finished trials;
a study interrupted by Ctrl-C, SIGTERM or kill -9 continues to N, retrying the trial
that was running with the same parameters.

Exit status: 0 done, 1 the study directory could not be written (disk full, read-only:
the study stopped; fix it and resume with the same command) or a --smoke run had failed
trials, 2 bad input (nothing stored was changed), 130 interrupted.
"""


def build_parser() -> ArgumentParser:
    p = ArgumentParser(
        prog=PROG,
        description="Search the strategy's configuration space with a multi-objective Optuna study "
        "(maximize pnl_mean, minimize kill_ucb and dd_cvar) scored by the Monte Carlo simulator.",
        epilog=EPILOG,
        formatter_class=lambda prog: argparse.RawDescriptionHelpFormatter(prog, max_help_position=32),
    )
    p.add_argument("--smoke", action="store_true",
                   help="quick end-to-end check: 3 trials, 10 Monte Carlo runs, 100 ticks (study 'smoke' by default)")
    add_study_arguments(p, required=False, purpose="the study to create or resume")
    p.add_argument("--study-dir", metavar="DIR", type=Path,
                   help="directory for trial artifacts and study outputs, of this study alone (default: "
                   "studies/<study>); its parent must exist unless --create-dirs")
    p.add_argument("--create-dirs", action="store_true", help="create the parents of --study-dir")
    p.add_argument("--trials", metavar="N", type=positive_int("--trials"),
                   help=f"total number of finished trials the study should hold (default {DEFAULTS['trials']})")
    p.add_argument("--mc-runs", metavar="N", type=positive_int("--mc-runs"),
                   help=f"Monte Carlo runs per candidate (default {DEFAULTS['mc_runs']})")
    p.add_argument("--mc-ticks", metavar="N", type=positive_int("--mc-ticks"),
                   help=f"ticks per Monte Carlo run, 60 s each (default {DEFAULTS['mc_ticks']})")
    p.add_argument("--seed", metavar="N", type=int,
                   help=f"seed of the sampler and of the Monte Carlo seed schedule shared by all candidates (default {DEFAULTS['seed']})")
    p.add_argument("--budgets", metavar="PATH", type=Path, default=DEFAULT_BUDGETS,
                   help="budget tiers and alpha (default configs/budgets.yaml)")
    p.add_argument("--search-space", metavar="PATH", type=Path, default=DEFAULT_SEARCH_SPACE,
                   help="knobs and ranges to search (default configs/search_space.yaml)")
    p.add_argument("--sampler", choices=SAMPLERS, default="nsga2",
                   help="search algorithm (default nsga2: NSGA-II with the fixed seed; tpe; random; gp: "
                   "Gaussian-process Bayesian optimization, needs pip install '.[gp]'; see README for which to use)")
    p.add_argument("--population", metavar="N", type=positive_int("--population", 2), default=None,
                   help="NSGA-II population per generation (default: --trials / 4, at least 8, at most 50; "
                   "a resumed study keeps its own)")
    p.add_argument("--timeout", metavar="S", type=float,
                   help="stop starting new trials after S seconds (the study can be resumed)")
    p.add_argument("--command-timeout", metavar="S", type=float, default=600.0,
                   help="kill a simulator command that runs longer than S seconds; the trial fails (default 600)")
    p.add_argument("--mc-threads", metavar="K", type=positive_int("--mc-threads"),
                   help="threads per trial's simulator process (default: every core)")
    p.add_argument("--trial-evidence", choices=EVIDENCE_MODES, default="compact",
                   help="what each trial keeps on disk: compact (default: 8 files, per-run results compressed), "
                   "full (a file per suite seed, a pack per directory) or summary (no per-run files; see README)")
    p.add_argument("--workers", metavar="K", type=positive_int("--workers"), default=1,
                   help="run K worker processes on this host against the same storage (PostgreSQL only; "
                   "several hosts: start this command on each)")
    p.add_argument("--worker-index", metavar="I", type=int, default=None, help=argparse.SUPPRESS)
    p.add_argument("--early-stop", metavar="K", type=positive_int("--early-stop"), default=None,
                   help="stop when the feasible front's hypervolume has not grown for K finished trials "
                   "(off by default)")
    p.add_argument("--no-promote", action="store_true", help="do not run the promoter at the end")
    p.add_argument("--self-contained-plots", action="store_true", default=None, help="put Plotly's JavaScript in "
                   "every plots/*.html (one file can be mailed; ~4.5 MB each), not one shared plotly.min.js")
    p.add_argument("-q", "--quiet", action="store_true", help="print only errors and the final summary")
    return p


def _resume_command(argv: list[str]) -> str:
    return "python -m tuner.study " + shlex.join(argv)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    _cli.quiet_optuna()
    _cli.sigterm_as_interrupt()
    try:
        result = run_study(
            args.study, trials=args.trials, mc_runs=args.mc_runs, mc_ticks=args.mc_ticks, seed=args.seed,
            storage=args.storage, study_dir=args.study_dir, budgets=args.budgets, search_space=args.search_space,
            sampler=args.sampler, population=args.population, smoke=args.smoke, timeout=args.timeout,
            command_timeout=args.command_timeout, mc_threads=args.mc_threads, trial_evidence=args.trial_evidence,
            workers=args.workers,
            worker_index=args.worker_index, early_stop=args.early_stop, promote=not args.no_promote,
            quiet=args.quiet, self_contained_plots=args.self_contained_plots,
            worker_argv=_cli.strip_flag(argv, "--workers"), create_dirs=args.create_dirs,
        )
    except StudyInterrupted as exc:
        print(f"\ninterrupted: the study is saved in {exc.storage}; resume with:\n  {_resume_command(argv)}",
              file=sys.stderr)
        return 130
    except StudyStopped as exc:
        print(f"{PROG}: error: {exc}, then resume with:\n  {_resume_command(argv)}", file=sys.stderr)
        return 1
    # A smoke run is a check: it fails when the pipeline did (its last line says why).
    return 1 if args.smoke and (result.failed or not result.finished) and args.worker_index is None else 0


def cli() -> None:
    """Console entry point ``tuner-study`` (the same as ``python -m tuner.study``)."""
    _cli.run_main(PROG, main)


if __name__ == "__main__":
    cli()
