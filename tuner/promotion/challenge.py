"""Challenger against incumbent, on common random numbers.

The incumbent's candidate is re-run with the current binary on the seeds of the
challenger's evidence (:class:`SeedStream`: the same first seed, runs and ticks), so the
two are paired run by run (``mc_runs.jsonl``: one line per run with its ``seed`` and
``final_pnl``). The challenger replaces the incumbent only when it passes the tier, its
``pnl_mean`` is greater by a one-sided paired t-test at the tier's alpha
(``scipy.stats.ttest_rel(..., alternative="greater")`` on the per-run PnL), and its risk
bound is not worse: ``kill_ucb`` (the one-sided upper bound of the kill rate) not above
the incumbent's on the same seeds. ``dd_cvar`` must be within the tier's budget (the
challenger passes the tier) and is compared and reported, but it is a point estimate,
not a bound, and is not required to improve unless ``risk`` names it: on 20-run
candidates every significant PnL improvement measured came with a higher ``dd_cvar``
(docs/FORMATS.md), so requiring it would keep the first incumbent for ever. An
incumbent that no longer passes the tier with the current binary is reported, and any
passing challenger replaces it.

:func:`rerun_incumbent` takes the seed stream as an argument so that the fresh
confirmation seeds of the confirmation step can be passed in place of the study's.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from tuner.config.budgets import Tier
from tuner.promotion.decision import Candidate, tier_failures
from tuner.record import metrics_from_summary
from tuner.simulator import client, documents
from tuner.simulator.summary import SummaryError, read_summary

__all__ = ["Challenge", "Rerun", "SeedStream", "compare", "per_run_pnl", "rerun_incumbent"]


@dataclass(frozen=True)
class SeedStream:
    """Monte Carlo seeds: run i uses ``first + i``, ``runs`` runs of ``ticks`` ticks."""

    first: int
    runs: int
    ticks: int


@dataclass(frozen=True)
class Rerun:
    """The incumbent re-run: its directory, statistics and per-run PnL by seed."""

    mc_dir: Path
    candidate: Candidate
    pnl_by_seed: dict[int, float]
    failures: tuple[str, ...]


@dataclass(frozen=True)
class Challenge:
    """The comparison's verdict and its figures."""

    replace: bool
    reasons: tuple[str, ...]
    incumbent_passes: bool
    incumbent_failures: tuple[str, ...] = ()
    n_pairs: int = 0
    mean_difference: float | None = None
    p_value: float | None = None
    incumbent: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"replace": self.replace, "reasons": list(self.reasons), "incumbent_passes": self.incumbent_passes,
                "incumbent_failures": list(self.incumbent_failures), "n_pairs": self.n_pairs,
                "mean_difference": self.mean_difference, "p_value": self.p_value,
                "test": "one-sided paired t-test on per-run final_pnl (challenger - incumbent), same seeds",
                "incumbent_on_same_seeds": self.incumbent}


def per_run_pnl(mc_dir: Path) -> dict[int, float]:
    """``seed -> final_pnl`` from a Monte Carlo directory's ``mc_runs.jsonl``."""
    out: dict[int, float] = {}
    for row in documents.read_jsonl(mc_dir / "mc_runs.jsonl"):
        out[int(row["seed"])] = float(row["final_pnl"])
    return out


def rerun_incumbent(record: dict[str, Any], seeds: SeedStream, work_dir: Path, tier: Tier, alpha: float,
                    timeout: float = 3600) -> Rerun:
    """Re-runs the incumbent's overlay with the current binary on ``seeds`` into
    ``work_dir/mc`` and judges it against ``tier`` (its suites as the record says)."""
    mc = work_dir / "mc"
    run = client.run(client.monte_carlo_argv(runs=seeds.runs, ticks=seeds.ticks, seed=seeds.first, output_dir=mc),
                     overlay=record["env_overlay"], timeout=timeout)
    failures: list[str] = []
    if not run.ok:
        failures.append(f"monte_carlo failed on the incumbent: {run.describe()}")
    elif not client.verify_pack(mc).ok:
        failures.append("the incumbent's re-run evidence does not verify")
    try:
        m = metrics_from_summary(read_summary(mc / "mc_summary.json"), alpha) if not failures else {}
        pnl = per_run_pnl(mc) if not failures else {}
    except (OSError, ValueError, KeyError, SummaryError) as exc:
        failures.append(f"the incumbent's re-run is unreadable: {exc}")
        m, pnl = {}, {}
    nan = float("nan")
    suites = record.get("suites_passed") or {}
    c = Candidate(candidate_id=str(record.get("candidate_id")), trial_number=int(record.get("trial_number") or -1),
                  pnl_mean=m.get("pnl_mean", nan), pnl_stdev=m.get("pnl_stdev", nan), pnl_lcb=m.get("pnl_lcb", nan),
                  kill_k=m.get("kill_k", nan), kill_n=m.get("kill_n", nan), kill_ucb=m.get("kill_ucb", nan),
                  dd_cvar=m.get("dd_cvar", nan), evidence_verified=not failures,
                  suites_passed={k: v is True for k, v in suites.items() if k.endswith("_v1")})
    return Rerun(mc, c, pnl, tuple(failures or tier_failures(c, tier)))


#: The statistics a challenger may not be worse on than the incumbent.
RISK_BOUNDS = ("kill_ucb",)


def compare(challenger: Candidate, challenger_pnl: dict[int, float], incumbent: Rerun, tier: Tier,
            alpha: float, risk: tuple[str, ...] = RISK_BOUNDS) -> Challenge:
    """Whether ``challenger`` replaces the incumbent (see the module's docstring)."""
    inc = incumbent.candidate
    figures = {"pnl_mean": inc.pnl_mean, "pnl_lcb": inc.pnl_lcb, "kill_ucb": inc.kill_ucb, "dd_cvar": inc.dd_cvar,
               "kill_k": inc.kill_k, "kill_n": inc.kill_n, "mc_dir": str(incumbent.mc_dir)}
    passes = not incumbent.failures
    own = tier_failures(challenger, tier)
    if own:
        return Challenge(False, (f"challenger fails the tier: {'; '.join(own)}",), passes, incumbent.failures,
                         incumbent=figures)
    if not passes:
        return Challenge(True, (f"incumbent {inc.candidate_id} no longer passes the tier with the current binary: "
                                f"{'; '.join(incumbent.failures)}",), False, incumbent.failures, incumbent=figures)
    common = sorted(set(challenger_pnl) & set(incumbent.pnl_by_seed))
    if len(common) < 2 or len(common) != len(challenger_pnl):
        return Challenge(False, (f"the runs cannot be paired: {len(common)} common seed(s) of {len(challenger_pnl)}",),
                         passes, incumbent=figures, n_pairs=len(common))
    a = np.array([challenger_pnl[s] for s in common])
    b = np.array([incumbent.pnl_by_seed[s] for s in common])
    d = a - b
    mean_d = float(d.mean())
    if np.all(d == 0):
        p = 1.0
    else:
        from scipy import stats as sps  # noqa: PLC0415 (0.6 s to import: only for a challenge)

        p = float(sps.ttest_rel(a, b, alternative="greater").pvalue)
    reasons: list[str] = []
    if not (p < alpha):
        reasons.append(f"pnl_mean not better by the paired test: mean difference {mean_d:+.4f} over {len(common)} "
                       f"paired runs, p = {p:.4g} >= alpha {alpha}")
    for stat in risk:
        mine, theirs = float(getattr(challenger, stat)), float(getattr(inc, stat))
        if not (math.isfinite(mine) and math.isfinite(theirs)) or mine > theirs:
            reasons.append(f"{stat} {mine:.4g} is worse than the incumbent's {theirs:.4g} on the same seeds")
    if reasons:
        return Challenge(False, tuple(reasons), passes, n_pairs=len(common), mean_difference=mean_d, p_value=p,
                         incumbent=figures)
    return Challenge(True, (f"better pnl_mean by the paired test: mean difference {mean_d:+.4f} over {len(common)} "
                            f"paired runs, p = {p:.4g} < alpha {alpha}; {', '.join(risk)} not worse; dd_cvar "
                            f"{float(challenger.dd_cvar or math.nan):.4g} vs the incumbent's {float(inc.dd_cvar or math.nan):.4g} "
                            f"(within the tier's {tier.max_dd_cvar})",), passes,
                     n_pairs=len(common), mean_difference=mean_d, p_value=p, incumbent=figures)
