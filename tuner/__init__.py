"""tuner: which market-making configuration may go live, at which risk tier?

The public Python API. Run or resume a study, read it as DataFrames, promote its
winners (a dry run returns the decision as data) and reproduce a promotion::

    import tuner

    run = tuner.run_study("demo", trials=12, mc_runs=40, mc_ticks=150, promote=False, quiet=True)
    frame = run.study.trials_frame()          # one row per trial, flat columns
    front = tuner.load_study("demo").front_frame()
    decision = tuner.promote("demo", dry_run=True)
    decision.tiers["balanced"].candidate_id

Everything else lives in subpackages whose names say what they hold: ``config``
(budgets and search-space files), ``stats`` (bounds, hypervolume), ``simulator`` (the
binaries), ``record`` (the trial record), ``session`` (storage, samplers, opening
studies), ``search`` (the objective and the worker loop), ``promotion`` (tiers,
records, reproduction) and ``views`` (outputs, plots, tables, DataFrames). The
commands ``python -m tuner.study|promote|reproduce|show|dashboard`` are thin parsers
over this API.
"""

from __future__ import annotations

from tuner._api import Study, StudyInterrupted, StudyRun, StudyStopped, load_study, promote, reproduce, run_study
from tuner.config.budgets import Budgets, Tier, load_budgets
from tuner.config.search_space import SearchSpace, load_search_space
from tuner.errors import InputError
from tuner.names import KNOB_NAMES, METRIC_NAMES, OBJECTIVES, candidate_id
from tuner.promotion.promoter import Promotion, TierOutcome
from tuner.promotion.reproduce import Reproduction
from tuner.record import TrialView

__all__ = [
    "KNOB_NAMES",
    "METRIC_NAMES",
    "OBJECTIVES",
    "Budgets",
    "InputError",
    "Promotion",
    "Reproduction",
    "SearchSpace",
    "Study",
    "StudyInterrupted",
    "StudyRun",
    "StudyStopped",
    "Tier",
    "TierOutcome",
    "TrialView",
    "candidate_id",
    "load_budgets",
    "load_search_space",
    "load_study",
    "promote",
    "reproduce",
    "run_study",
]

__version__ = "0.1.0"
