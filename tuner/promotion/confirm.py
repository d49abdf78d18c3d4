"""Confirmation: the promoter's out-of-sample step, and the bounds tiers are decided on.

Every finalist (a feasible front candidate that passes a tier on search evidence, at most
K per tier in winner order) is re-simulated on seeds the search never used:
``monte_carlo --runs <confirm runs>`` on the study's ``confirm-mc`` stream, and both
suites with ``sim_eval suite --seed-base <confirm-suite stream> --num-seeds <m>`` (every
scenario on ``m`` fresh seeds of its own; the shipped suites use 4). Every finalist runs
on the same seeds (common random numbers). The outputs go to
``<study dir>/oos/<trial dir name>/<key>/`` (``key`` names runs, ticks and suite seeds),
packed (``write-evidence-pack``) and verified (``verify-evidence-tree``). They are not put
inside the trial directory: its root pack and the digest of that pack recorded at trial
time would no longer verify, and Optuna does not let a finished trial's attributes change.
The metrics and the pack's digest go into the study's user attributes
(``confirmation:<trial number>``); a repeated promotion with the same settings reuses a
confirmation whose pack still verifies with the recorded digest, and re-runs it (the same
bytes, the seeds being fixed) otherwise.

Gates on confirmation evidence, each a one-sided bound at ``alpha / K`` (Bonferroni over
the K finalists of the tier): kill rate (Wilson upper), drawdown CVaR 95 % (bootstrap-t
upper, seeded), mean PnL (Johnson's skew-corrected t lower) and, per suite scenario, the
rate of seeds failing an invariant: with ``max_scenario_failure_rate`` 0 (the default) a
single failing seed fails the scenario, otherwise its Clopper-Pearson upper bound must be
within the allowed rate. A candidate passes only when every bound does, so a candidate
that truly breaks one budget is promoted with probability at most ``alpha / K`` through that
bound, and at most ``alpha`` over the tier's K finalists.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import optuna
from optuna.trial import FrozenTrial

from tuner._io import sha256_file
from tuner.config.budgets import Tier
from tuner.config.paths import suites
from tuner.errors import InputError
from tuner.promotion.verify import trial_directory
from tuner.record import Attr, StudyAttr
from tuner.simulator import client
from tuner.stats.bounds import (
    METHODS,
    bonferroni,
    clopper_pearson_upper,
    cvar_estimate,
    cvar_ucb,
    skew_t_lcb,
    wilson_upper,
)
from tuner.stats.streams import CONFIRM_MC, CONFIRM_SUITE, overlaps, stream_base

__all__ = [
    "ConfirmSettings",
    "Confirmation",
    "Gate",
    "Verdict",
    "check_count",
    "configured",
    "confirm",
    "judge",
    "read_confirmation",
    "simulate",
    "study_attr_key",
    "suites_tag",
]

#: Defaults of ``--confirm-runs``, ``--confirm-suite-seeds`` and ``--finalists``.
DEFAULT_CONFIRM_RUNS = 2000
DEFAULT_SUITE_SEEDS = 16
DEFAULT_FINALISTS = 5
#: Bootstrap resamples of the drawdown CVaR bound.
CVAR_RESAMPLES = 999
#: Environment variables that change the defaults above (flags still win); each must be a
#: whole number of at least the given least value. Meant for tests and for hosts where the
#: defaults are too slow; a promotion's record says which settings it used.
ENV_DEFAULTS = {
    "finalists": ("TUNER_FINALISTS", "--finalists", DEFAULT_FINALISTS, 1),
    "runs": ("TUNER_CONFIRM_RUNS", "--confirm-runs", DEFAULT_CONFIRM_RUNS, 2),
    "suite_seeds": ("TUNER_CONFIRM_SUITE_SEEDS", "--confirm-suite-seeds", DEFAULT_SUITE_SEEDS, 1),
}


def configured(name: str) -> int:
    """The default of ``name`` (``finalists``, ``runs``, ``suite_seeds``): its environment
    variable (:data:`ENV_DEFAULTS`) when set, else the built-in default. Raises
    :class:`~tuner.errors.InputError` (one line) for a value that is not a whole number of
    at least its least value."""
    var, flag, default, least = ENV_DEFAULTS[name]
    text = os.environ.get(var, "").strip()
    if not text:
        return default
    try:
        value = int(text)
    except ValueError:
        raise InputError(f"{var} {text!r} (the default of {flag}): not an integer") from None
    if value < least:
        raise InputError(f"{var} {text} (the default of {flag}): must be at least {least}")
    return value


def check_count(flag: str, value: object, least: int) -> int:
    """``value`` if it is a whole number of at least ``least``; else an :class:`InputError`."""
    if isinstance(value, bool) or not isinstance(value, int) or value < least:
        raise InputError(f"{flag} {value!r}: must be a whole number of at least {least}")
    return value


@dataclass(frozen=True)
class ConfirmSettings:
    """How finalists are confirmed: runs and ticks of the Monte Carlo, fresh seeds per
    suite scenario, and the study seed the streams derive from."""

    study_seed: int
    ticks: int
    runs: int = DEFAULT_CONFIRM_RUNS
    suite_seeds: int = DEFAULT_SUITE_SEEDS
    finalists: int = DEFAULT_FINALISTS
    command_timeout: float = 600.0
    mc_stream: str = CONFIRM_MC
    suite_stream: str = CONFIRM_SUITE

    @property
    def key(self) -> str:
        """Names a confirmation: stream, runs, ticks, seeds per scenario and the first 8 hex
        digits of a digest of the suite files it runs (:func:`suites_tag`), so that a
        confirmation made with other suites is never reused."""
        return f"{self.mc_stream}_r{self.runs}_t{self.ticks}_s{self.suite_seeds}_{suites_tag()}"

    @property
    def mc_seed(self) -> int:
        return stream_base(self.study_seed, self.mc_stream)

    @property
    def suite_seed_base(self) -> int:
        return stream_base(self.study_seed, self.suite_stream)

    def check_disjoint(self, search_seed: int, search_runs: int) -> None:
        """Raises :class:`InputError` if the confirmation's Monte Carlo seeds overlap the
        search's (``search_seed + i``, ``i < search_runs``); with hashed stream bases this
        does not happen in practice, but the promise is checked, not assumed."""
        if overlaps((self.mc_seed, self.runs), (search_seed, max(0, search_runs))):
            raise InputError(f"confirmation stream {self.mc_stream} (seeds {self.mc_seed}..+{self.runs}) overlaps the "
                             f"search's seeds {search_seed}..+{search_runs}; choose another stream")

    def describe(self) -> dict[str, Any]:
        """The settings as a promotion's output and record list them."""
        return {"runs": self.runs, "ticks": self.ticks, "suite_seeds_per_scenario": self.suite_seeds,
                "finalists_per_tier": self.finalists, "key": self.key, "streams": self.streams(),
                "multiplicity": METHODS["multiplicity"],
                "methods": {k: v for k, v in METHODS.items() if k != "multiplicity"}}

    def streams(self) -> dict[str, Any]:
        """The seed streams, as records list them."""
        return {
            self.mc_stream: {"first": self.mc_seed, "count": self.runs, "rule": "run i uses seed + i, wrapping at 2^64"},
            self.suite_stream: {"base": self.suite_seed_base, "seeds_per_scenario": self.suite_seeds,
                                "rule": "scenario j (0-based, suite order) runs base + j*N + i, i < N"},
        }


@dataclass(frozen=True)
class Confirmation:
    """The out-of-sample evidence of one finalist."""

    trial_number: int
    candidate_id: str
    directory: Path
    key: str
    digest: str
    pnl: np.ndarray
    drawdown: np.ndarray
    kill_k: int
    kill_n: int
    #: "<suite>/<scenario>" -> (seeds that failed an invariant, seeds run)
    scenarios: Mapping[str, tuple[int, int]]
    verified: bool
    reused: bool = False
    #: Wall-clock seconds the confirmation took to make (0 when reused).
    seconds: float = 0.0

    def metrics(self) -> dict[str, Any]:
        """Point statistics (no bound): what search and confirmation are compared on."""
        passed = {s: sum(1 for k, v in self.scenarios.items() if k.startswith(s + "/") and v[0] == 0)
                  for s in {k.split("/")[0] for k in self.scenarios}}
        total = {s: sum(1 for k in self.scenarios if k.startswith(s + "/")) for s in passed}
        return {
            "pnl_mean": float(self.pnl.mean()),
            "pnl_stdev": float(self.pnl.std(ddof=1)) if self.pnl.size > 1 else math.nan,
            "dd_cvar": cvar_estimate(self.drawdown),
            "kill_k": self.kill_k,
            "kill_n": self.kill_n,
            "kill_rate": self.kill_k / self.kill_n,
            "scenario_failures": {k: list(v) for k, v in sorted(self.scenarios.items())},
            "suite_pass_rate": {s: passed[s] / total[s] for s in sorted(passed)},
        }


@dataclass(frozen=True)
class Gate:
    """One rule of a tier on confirmation evidence: the bound, its limit and the margin
    (positive: inside the budget)."""

    rule: str
    value: float
    limit: float
    margin: float
    passed: bool
    method: str

    def words(self) -> str:
        if self.rule.startswith("scenario "):
            allowed = "none allowed" if self.limit == 0 else f"allowed rate {self.limit:g}"
            return f"{self.rule}: {allowed}, Clopper-Pearson upper {self.value:.3g}"
        if self.rule == "pnl_lcb":
            op = ">= min" if self.passed else "< min"
        else:
            op = "<= max" if self.passed else "> max"
        return f"{self.rule} {self.value:.4g} {op} {self.limit:.4g} (margin {self.margin:+.4g})"


@dataclass(frozen=True)
class Verdict:
    """A finalist judged against a tier at ``alpha`` (already divided by K)."""

    candidate_id: str
    trial_number: int
    alpha: float
    gates: tuple[Gate, ...]
    metrics: Mapping[str, Any] = field(default_factory=dict)
    evidence_verified: bool = True

    @property
    def passed(self) -> bool:
        return self.evidence_verified and all(g.passed for g in self.gates)

    def failures(self) -> list[str]:
        out = [] if self.evidence_verified else ["confirmation evidence not verified"]
        return out + [g.words() for g in self.gates if not g.passed]

    def bound(self, rule: str) -> float:
        return next((g.value for g in self.gates if g.rule == rule), math.nan)

    def distance(self) -> float:
        """How far the candidate is from passing: the sum over failed numeric rules of the
        shortfall divided by the limit (``|limit|``, or 1 when the limit is 0), plus 1 per
        failed scenario or unverified evidence; 0 when it passes."""
        d = 0.0 if self.evidence_verified else 1.0
        for g in self.gates:
            if g.passed:
                continue
            if g.rule.startswith("scenario "):
                d += 1.0
            else:
                short = -g.margin if math.isfinite(g.margin) else math.inf
                d += short / (abs(g.limit) if g.limit else 1.0)
        return d

    def as_dict(self) -> dict[str, Any]:
        return {"candidate_id": self.candidate_id, "trial": self.trial_number, "alpha": self.alpha,
                "passed": self.passed, "distance": self.distance(), "failures": self.failures(),
                "gates": [g.__dict__ for g in self.gates], "metrics": dict(self.metrics)}


def suites_tag(files: Mapping[str, Path] | None = None) -> str:
    """The first 8 hex digits of SHA-256 over ``<suite name> <sha256 of its file>`` lines of
    the suites a confirmation runs (default: the current ones; a missing file counts as
    ``missing``)."""
    lines = []
    for name, path in sorted((files if files is not None else suites()).items()):
        try:
            digest = sha256_file(path)
        except OSError:
            digest = "missing"
        lines.append(f"{name} {digest}\n")
    return hashlib.sha256("".join(lines).encode()).hexdigest()[:8]


def study_attr_key(trial_number: int) -> str:
    return f"{StudyAttr.CONFIRMATION_PREFIX}{trial_number}"


def oos_directory(t: FrozenTrial, study_dir: Path | None, settings: ConfirmSettings) -> Path | None:
    """``<study dir>/oos/<trial dir name>/<key>``; the study directory is the trial
    directory's grandparent, or (trial directory unreachable, ``--allow-unverified``) the
    given study directory, or the recorded one's grandparent."""
    tdir = trial_directory(t, study_dir)
    recorded = t.user_attrs.get(Attr.TRIAL_DIR)
    if tdir is not None:
        return tdir.parent.parent / "oos" / tdir.name / settings.key
    if not isinstance(recorded, str):
        return None
    path = Path(recorded)
    return (study_dir or path.parent.parent) / "oos" / path.name / settings.key


def confirm(study: optuna.Study, t: FrozenTrial, study_dir: Path | None, settings: ConfirmSettings,
            *, write_attrs: bool = True) -> Confirmation:
    """The confirmation of trial ``t``: reused when stored with these settings and its pack
    still verifies with the recorded digest, run otherwise. Raises
    :class:`~tuner.errors.InputError` when the trial directory is unreachable or a command
    fails (a confirmation that cannot be made is no evidence)."""
    out = oos_directory(t, study_dir, settings)
    cid = str(t.user_attrs.get(Attr.CANDIDATE_ID) or "")
    if out is None:
        raise InputError(f"trial {t.number}: no trial directory recorded; cannot confirm it")
    stored = (study.user_attrs.get(study_attr_key(t.number)) or {}).get(settings.key)
    if isinstance(stored, Mapping) and (out / "evidence_pack" / "SHA256SUMS").is_file():
        check = client.verify_tree(out)
        if check.ok and sha256_file(out / "evidence_pack" / "SHA256SUMS") == stored.get("sha256sums"):
            return _read(t.number, cid, out, settings.key, reused=True)
    overlay = dict(t.user_attrs.get(Attr.OVERLAY) or {})
    started = time.monotonic()
    # Made aside (one name per process), then renamed into place. Another promoter may
    # have put the same confirmation there meanwhile: the seeds are fixed, so the same
    # bytes; an existing directory is kept only when it verifies and lists the same files
    # with the same digests as this one, and replaced otherwise.
    partial = out.with_name(f".{out.name}.partial-{os.getpid()}")
    try:
        if partial.exists():
            shutil.rmtree(partial)
        simulate(overlay, partial, settings, f"confirmation of trial {t.number}")
        sums = "evidence_pack/SHA256SUMS"
        if (out / sums).is_file() and sha256_file(out / sums) == sha256_file(partial / sums) \
                and client.verify_tree(out).ok:
            shutil.rmtree(partial)
        else:
            if out.exists():
                shutil.rmtree(out)
            partial.rename(out)
    except OSError as exc:
        raise InputError(f"confirmation of trial {t.number}: cannot write {exc.filename or out} "
                         f"({exc.strerror or exc})") from None
    check = client.verify_tree(out)
    if not check.ok:
        raise InputError(f"confirmation of trial {t.number}: {out}: evidence does not verify: {check.summary()}")
    c = replace(_read(t.number, cid, out, settings.key, reused=False), seconds=time.monotonic() - started)
    if write_attrs:
        entry = dict(study.user_attrs.get(study_attr_key(t.number)) or {})
        entry[settings.key] = {"directory": str(out), "sha256sums": c.digest, "candidate_id": cid,
                               "streams": settings.streams(), "seconds": round(c.seconds, 3),
                               "metrics": _jsonable(c.metrics())}
        study.set_user_attr(study_attr_key(t.number), entry)
    return c


def simulate(overlay: Mapping[str, str], out: Path, settings: ConfirmSettings, label: str,
             suite_files: Mapping[str, Path] | None = None) -> None:
    """Runs the Monte Carlo and both suites (``suite_files``, default the current
    :func:`~tuner.config.paths.suites`) of ``settings``' streams for ``overlay`` into
    ``out``, packs and verifies it. Raises :class:`InputError` when a command fails."""
    out.mkdir(parents=True, exist_ok=True)

    def run(argv: list[Any], ok: tuple[int, ...] = (0,)) -> None:
        r = client.run(argv, overlay=dict(overlay), timeout=settings.command_timeout)
        if r.returncode not in ok:
            raise InputError(f"{label}: {r.describe()}: {client.binary_said(r)[:300]}")

    run(client.monte_carlo_argv(runs=settings.runs, ticks=settings.ticks, seed=settings.mc_seed,
                                output_dir=out / "mc"))
    for name, path in (suite_files if suite_files is not None else suites()).items():
        run([*client.suite_argv(path, out / "suite" / name), "--seed-base", str(settings.suite_seed_base),
             "--num-seeds", str(settings.suite_seeds)], ok=(0, 1))
    run(client.write_pack_argv(out))
    check = client.verify_tree(out)
    if not check.ok:
        raise InputError(f"{label}: {out}: evidence does not verify: {check.summary()}")


def read_confirmation(number: int, cid: str, out: Path, key: str, *, reused: bool = False) -> Confirmation:
    """The evidence of a confirmation (or fresh-seed) directory written by :func:`simulate`."""
    return _read(number, cid, out, key, reused=reused)


def _read(number: int, cid: str, out: Path, key: str, *, reused: bool) -> Confirmation:
    try:
        rows = [json.loads(line) for line in (out / "mc" / "mc_runs.jsonl").read_text(encoding="utf-8").splitlines()
                if line.strip()]
        pnl = np.array([float(r["final_pnl"]) for r in rows])
        dd = np.array([float(r["max_drawdown"]) for r in rows])
        kills = sum(1 for r in rows if r["killed"])
        scenarios: dict[str, tuple[int, int]] = {}
        for name in suites():
            data = json.loads((out / "suite" / name / "suite_summary.json").read_text(encoding="utf-8"))
            for sc in data["scenarios"]:
                seeds = [r["seed"] for r in sc["runs"]]
                failed = {f["seed"] for v in sc["invariants"] for f in v["failures"]}
                if (sc.get("determinism") or {}).get("passed") is False:
                    failed = set(seeds)
                scenarios[f"{name}/{sc['scenario_id']}"] = (len(failed), len(seeds))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise InputError(f"confirmation in {out}: unreadable outputs ({exc})") from None
    if not rows:
        raise InputError(f"confirmation in {out}: no Monte Carlo runs")
    return Confirmation(number, cid, out, key, sha256_file(out / "evidence_pack" / "SHA256SUMS"), pnl, dd, kills,
                        len(rows), scenarios, verified=True, reused=reused)


def judge(c: Confirmation, tier: Tier, alpha: float, finalists: int) -> Verdict:
    """``c`` against ``tier``: every bound at ``alpha / finalists`` (Bonferroni)."""
    a = bonferroni(alpha, max(1, finalists))
    kill = wilson_upper(c.kill_k, c.kill_n, a)
    dd = cvar_ucb(c.drawdown, a, seed=_bootstrap_seed(c), resamples=CVAR_RESAMPLES)
    pnl = skew_t_lcb(c.pnl, a)
    gates = [
        Gate("kill_ucb", kill, tier.max_kill_ucb, tier.max_kill_ucb - kill, kill <= tier.max_kill_ucb,
             METHODS["kill_ucb"]),
        Gate("dd_cvar_ucb", dd, tier.max_dd_cvar, tier.max_dd_cvar - dd, dd <= tier.max_dd_cvar, METHODS["dd_cvar_ucb"]),
        Gate("pnl_lcb", pnl, tier.min_pnl_lcb_usd, pnl - tier.min_pnl_lcb_usd, pnl >= tier.min_pnl_lcb_usd,
             METHODS["pnl_lcb"]),
    ]
    allowed = tier.max_scenario_failure_rate
    for name, (k, n) in sorted(c.scenarios.items()):
        ucb = clopper_pearson_upper(k, n, a)
        ok = k == 0 if allowed == 0 else ucb <= allowed
        method = ("no failing seed allowed; " if allowed == 0 else "") + METHODS["scenario_failure_ucb"]
        gates.append(Gate(f"scenario {name} fails on {k} of {n} fresh seeds", ucb, allowed, allowed - ucb
                          if allowed else -float(k), ok, method))
    metrics = c.metrics()
    metrics.update(pnl_lcb=pnl, kill_ucb=kill, dd_cvar_ucb=dd)
    return Verdict(c.candidate_id, c.trial_number, a, tuple(gates), metrics, c.verified)


def _bootstrap_seed(c: Confirmation) -> int:
    """The CVaR bootstrap's seed: fixed by the drawdowns themselves (their float64
    bytes), so the same evidence always gives the same bound wherever it lies. (The pack
    digest would not do: the pack names files whose content holds paths, so a moved
    study, or the same study made in another directory, would get another bound, and two
    candidates with identical runs could be ordered differently.)"""
    data = np.ascontiguousarray(c.drawdown, dtype="<f8").tobytes()
    return int(hashlib.sha256(b"cvar-bootstrap/" + data).hexdigest()[:16], 16)


def _jsonable(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value
