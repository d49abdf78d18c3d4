"""Plots of a study, as HTML pages that open offline.

By default Plotly's JavaScript is written once beside the pages (``plots/plotly.min.js``)
and loaded relatively; ``self_contained=True`` (``--self-contained-plots``) puts it
inside every page instead, so one file can be mailed or attached on its own (about
4.5 MB each). A later rewrite of the outputs keeps the form the pages already have.

- ``pareto_front.html``: pnl_mean against dd_cvar and against kill_ucb. Infeasible
  trials grey, feasible blue, the feasible Pareto front purple, promoted winners as
  stars (from the ``PROMOTION_RECORD.json`` of each tier in the presets directory,
  when it names this study and trial). A whisker runs from each point down to its
  ``pnl_lcb``, the bound the tiers' ``min pnl_lcb`` lines (dotted) are about. Each
  tier's limits are one legend entry (click to hide). Hovering a point shows its
  objectives, bounds, tier verdicts and, when infeasible, why.
- ``hypervolume_history.html``: hypervolume of the feasible front after each trial.
- ``parallel_coordinates.html``: every knob, every objective, ``pnl_lcb`` and
  feasibility, one line per completed trial, coloured by pnl_mean.
- ``param_importances.html``: which knobs matter for each objective (PED-ANOVA), one
  panel per objective with the values written on the bars.
"""

from __future__ import annotations

import json
import math
import sys
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import optuna
import plotly.graph_objects as go
from optuna.trial import FrozenTrial, TrialState
from plotly.subplots import make_subplots

from tuner.config.budgets import Budgets
from tuner.config.paths import DEFAULT_PROMOTED_DIR
from tuner.names import KNOB_NAMES, METRIC_NAMES, OBJECTIVES, PROFILE_KNOB, RISK_PROFILES
from tuner.promotion.provenance import RECORD_FILE
from tuner.record import counted_trials, feasible_points
from tuner.stats.hypervolume import HV_REFERENCE, hypervolume_history
from tuner.views.assess import Assessment, assess

__all__ = ["knob_label", "promoted_trials", "write_plots"]

_TIER_COLOURS = {"conservative": "#2ca02c", "balanced": "#ff7f0e", "aggressive": "#d62728"}
_UNITS = {o.name: o.unit for o in OBJECTIVES}
#: The script tag of a page that loads the shared plotly.min.js.
_SHARED_SCRIPT = 'src="plotly.min.js"'


def knob_label(knob: str) -> str:
    """``PARAPHINA_HEDGE_BAND_BASE`` -> ``hedge_band_base`` (axis and bar labels)."""
    return knob.removeprefix("PARAPHINA_").lower()


def _write(fig: go.Figure, path: Path, self_contained: bool) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    # "directory": plotly.min.js is written beside the HTML once and loaded relatively,
    # so the page needs no network and the JavaScript is not copied into every file.
    fig.write_html(str(path), include_plotlyjs=True if self_contained else "directory", full_html=True)
    return path


def _is_self_contained(plot_dir: Path) -> bool:
    """Whether the pages already in ``plot_dir`` carry their own JavaScript."""
    page = plot_dir / "pareto_front.html"
    try:
        with open(page, encoding="utf-8", errors="replace") as fh:
            head = fh.read(1 << 16)
    except OSError:
        return False
    return _SHARED_SCRIPT not in head


def promoted_trials(promoted_dir: Path, study_name: str, tiers: Sequence[str]) -> dict[int, list[str]]:
    """Trial number -> the tiers whose current ``PROMOTION_RECORD.json`` in
    ``promoted_dir`` names this study and trial (with the trial's candidate id)."""
    out: dict[int, list[str]] = {}
    for tier in tiers:
        try:
            record = json.loads((promoted_dir / tier / RECORD_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if not isinstance(record, dict) or record.get("study_name") != study_name:
            continue
        number = record.get("trial_number")
        if isinstance(number, int) and not isinstance(number, bool):
            out.setdefault(number, []).append(f"{tier}:{record.get('candidate_id')}")
    return out


def _num(value: Any, spec: str) -> str:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return "-"
    return format(value, spec)


def _hover(a: Assessment, promoted: Sequence[str]) -> str:
    v = a.view
    values = v.values or {}
    lines = [f"<b>trial {v.number}</b> · {v.candidate_id or '?'} · {v.profile or '?'}"]
    lines.append(f"pnl_mean {_num(values.get('pnl_mean'), ',.2f')} USD · pnl_lcb {_num(v.metric('pnl_lcb'), ',.2f')} USD")
    kills = v.metrics.get("kill_k"), v.metrics.get("kill_n")
    lines.append(f"kill_ucb {_num(values.get('kill_ucb'), '.4f')} ({_num(kills[0], 'd')} of {_num(kills[1], 'd')} runs "
                 f"killed) · dd_cvar {_num(values.get('dd_cvar'), ',.1f')} USD")
    lines.append(a.verdict)
    if a.feasible:
        passed = a.passed_tiers
        lines.append("tiers passed (search evidence): " + (", ".join(passed) if passed else "none"))
        lines += [f"{tier} fails: {'; '.join(f)}" for tier, f in a.tiers.items() if f]
    else:
        lines.append("tiers passed: none (infeasible)")
    for p in promoted:
        lines.append(f"<b>PROMOTED</b> to {p.split(':')[0]}")
    knobs = [f"{knob_label(k)} {(_num(x, '.4g') if not isinstance(x, str) else x)}"
             for k, x in v.params.items() if k != PROFILE_KNOB]
    lines += [" · ".join(knobs[i:i + 3]) for i in range(0, len(knobs), 3)]
    return "<br>".join(lines)


def pareto_figure(study: optuna.Study, budgets: Budgets, promoted_dir: Path | None = None) -> go.Figure:
    trials = study.get_trials(deepcopy=False)
    assessed = [a for a in assess(trials, budgets) if a.view.state == "COMPLETE" and a.view.values]
    promoted = promoted_trials(promoted_dir or DEFAULT_PROMOTED_DIR, study.study_name, list(budgets.tiers))
    by_candidate = {a.number: a.view.candidate_id for a in assessed}
    promoted = {n: [p for p in ps if p.split(":", 1)[1] == by_candidate.get(n)] for n, ps in promoted.items()}
    fig = make_subplots(rows=1, cols=2, shared_yaxes=True, horizontal_spacing=0.06,
                        subplot_titles=("pnl_mean vs dd_cvar (CVaR 95 % of the max drawdown)",
                                        "pnl_mean vs kill_ucb (Wilson upper bound of the kill rate)"))
    groups = [
        ("infeasible", [a for a in assessed if not a.feasible], dict(color="#b0b0b0", size=7)),
        ("feasible", [a for a in assessed if a.feasible and a.pareto_rank != 1], dict(color="#1f77b4", size=8)),
        ("feasible Pareto front", [a for a in assessed if a.pareto_rank == 1],
         dict(color="#9467bd", size=11, symbol="diamond")),
        ("promoted winner", [a for a in assessed if promoted.get(a.number)],
         dict(color="gold", size=18, symbol="star", line=dict(color="black", width=1))),
    ]
    for col, x_name in ((1, "dd_cvar"), (2, "kill_ucb")):
        for name, group, marker in groups:
            if not group and name == "promoted winner":
                continue
            pnl = [(a.view.values or {})["pnl_mean"] for a in group]
            lcb = [a.view.metric("pnl_lcb") for a in group]
            fig.add_trace(
                go.Scatter(
                    x=[(a.view.values or {})[x_name] for a in group], y=pnl, mode="markers", name=name,
                    marker=marker, text=[_hover(a, promoted.get(a.number, [])) for a in group],
                    hovertemplate="%{text}<extra></extra>", legendgroup=name, showlegend=col == 1,
                    error_y=dict(type="data", symmetric=False, array=[0.0] * len(group),
                                 arrayminus=[p - q if math.isfinite(q) else 0.0 for p, q in zip(pnl, lcb, strict=True)],
                                 thickness=1, width=0, color=marker["color"]) if name != "promoted winner" else None,
                ),
                row=1, col=col,
            )
    for tier in budgets.tiers.values():
        colour = _TIER_COLOURS.get(tier.name, "black")
        label = (f"{tier.name} tier: dd_cvar ≤ {tier.max_dd_cvar:g} USD, kill_ucb ≤ {tier.max_kill_ucb:g}, "
                 f"pnl_lcb ≥ {tier.min_pnl_lcb_usd:g} USD")
        common = dict(legendgroup=f"tier {tier.name}", name=label)
        fig.add_vline(x=tier.max_dd_cvar, line=dict(color=colour, dash="dash"), row=1, col=1, showlegend=True, **common)
        fig.add_vline(x=tier.max_kill_ucb, line=dict(color=colour, dash="dash"), row=1, col=2, showlegend=False,
                      **common)
        for col in (1, 2):
            fig.add_hline(y=tier.min_pnl_lcb_usd, line=dict(color=colour, dash="dot"), row=1, col=col,
                          showlegend=False, **common)
    fig.update_yaxes(title_text="pnl_mean (USD); whisker down to pnl_lcb", tickformat=",.0f", row=1, col=1)
    fig.update_xaxes(title_text="dd_cvar (USD): a tier's dashed line is its max", tickformat=",.0f", row=1, col=1)
    fig.update_xaxes(title_text="kill_ucb: a tier's dashed line is its max", tickformat=".2f", row=1, col=2)
    fig.update_layout(
        title=f"Study {study.study_name}: trials and tier budgets (dotted: a tier's min pnl_lcb; "
              "a candidate passes where its whisker ends above the dotted line and it sits left of both dashed ones)",
        title_font_size=14, height=650, hoverlabel=dict(align="left"),
        legend=dict(orientation="h", yanchor="top", y=-0.15, xanchor="left", x=0),
        margin=dict(b=170),
    )
    return fig


def hypervolume_figure(study: optuna.Study) -> go.Figure:
    trials = counted_trials(study.get_trials(deepcopy=False))
    history = hypervolume_history(feasible_points(trials))
    fig = go.Figure(go.Scatter(x=list(range(1, len(history) + 1)), y=history, mode="lines+markers",
                               name="hypervolume", text=[f"trial {t.number}" for t in trials],
                               hovertemplate="%{text}: hypervolume %{y:.4g}<extra></extra>"))
    fig.update_layout(
        title=f"Hypervolume of the feasible front after each finished trial (reference {HV_REFERENCE}: "
              "pnl_mean, kill_ucb, dd_cvar)",
        xaxis_title="finished trials", yaxis_title="hypervolume (USD x probability x USD)",
    )
    return fig


def _dimension(label: str, values: list[float], **extra: Any) -> dict[str, Any]:
    finite = [x for x in values if math.isfinite(x)]
    lo, hi = (min(finite), max(finite)) if finite else (0.0, 1.0)
    if lo == hi:
        lo, hi = lo - 0.5, hi + 0.5
    return dict(label=label, values=values, range=[lo, hi], **extra)


def parallel_figure(study: optuna.Study) -> go.Figure:
    complete = [a for a in assess(study.get_trials(deepcopy=False)) if a.view.state == "COMPLETE" and a.view.values]
    dims: list[dict[str, Any]] = []
    for knob in KNOB_NAMES:
        raw = [a.view.params.get(knob) for a in complete]
        if knob == PROFILE_KNOB:
            codes = [float(RISK_PROFILES.index(x)) if x in RISK_PROFILES else math.nan for x in raw]
            dims.append(dict(label=knob_label(knob), values=codes, range=[0, len(RISK_PROFILES) - 1],
                             tickvals=list(range(len(RISK_PROFILES))), ticktext=list(RISK_PROFILES)))
        else:
            dims.append(_dimension(knob_label(knob), [float(x) if isinstance(x, (int, float)) else math.nan for x in raw]))
    for name in METRIC_NAMES:
        unit = f" ({_UNITS[name]})" if _UNITS[name] == "USD" else ""
        dims.append(_dimension(f"{name}{unit}", [(a.view.values or {})[name] for a in complete]))
    dims.append(_dimension("pnl_lcb (USD)", [a.view.metric("pnl_lcb") for a in complete]))
    dims.append(dict(label="feasible", values=[1.0 if a.feasible else 0.0 for a in complete], range=[0, 1],
                     tickvals=[0, 1], ticktext=["no", "yes"]))
    pnl = [(a.view.values or {})["pnl_mean"] for a in complete]
    fig = go.Figure(go.Parcoords(
        line=dict(color=pnl, colorscale="Viridis", showscale=True, colorbar=dict(title="pnl_mean (USD)")),
        dimensions=dims, labelangle=-20, labelside="top",
    ))
    fig.update_layout(title=f"Study {study.study_name}: every completed trial across knobs and objectives",
                      height=600, margin=dict(t=150, l=60, r=60))
    return fig


def _signed_objective(i: int, sign: float) -> Callable[[FrozenTrial], float]:
    def target(t: FrozenTrial) -> float:
        return sign * t.values[i]

    return target


def importance_figure(study: optuna.Study) -> go.Figure:
    fig = make_subplots(rows=len(METRIC_NAMES), cols=1, vertical_spacing=0.09,
                        subplot_titles=[f"importance for {n} ({o.description})" for n, o in zip(METRIC_NAMES, OBJECTIVES,
                                                                                                strict=True)])
    for i, name in enumerate(METRIC_NAMES):
        # PED-ANOVA scores what leads to LOW target values: negate maximized ones.
        sign = -1.0 if study.directions[i] == optuna.study.StudyDirection.MAXIMIZE else 1.0
        scores = optuna.importance.get_param_importances(study, target=_signed_objective(i, sign))
        ordered = sorted(scores.items(), key=lambda kv: kv[1])
        fig.add_trace(go.Bar(
            x=[s for _, s in ordered], y=[knob_label(k) for k, _ in ordered], orientation="h", name=name,
            text=[f"{s:.2f}" for _, s in ordered], textposition="outside", cliponaxis=False,
            hovertemplate="%{y}: %{x:.3f}<extra>" + name + "</extra>",
        ), row=i + 1, col=1)
        last = i == len(METRIC_NAMES) - 1
        fig.update_xaxes(range=[0, 1.1], title_text="importance (share of the total, 0 to 1)" if last else None,
                         row=i + 1, col=1)
        fig.update_yaxes(automargin=True, row=i + 1, col=1)
    fig.update_layout(title="Parameter importances (PED-ANOVA)", showlegend=False,
                      height=330 * len(METRIC_NAMES), margin=dict(l=160))
    return fig


def write_plots(study: optuna.Study, plot_dir: Path, budgets: Budgets, *, promoted_dir: Path | None = None,
                self_contained: bool | None = None) -> list[Path]:
    """Writes the plots into ``plot_dir``; returns the paths written. ``self_contained``
    None keeps the form the pages already have (shared ``plotly.min.js`` for new ones);
    ``promoted_dir`` (default ``configs/presets/promoted``) is where winners are read."""
    inline = _is_self_contained(plot_dir) if self_contained is None else self_contained
    with warnings.catch_warnings():
        return _write_plots(study, plot_dir, budgets, promoted_dir, inline)


def _write_plots(study: optuna.Study, plot_dir: Path, budgets: Budgets, promoted_dir: Path | None,
                 inline: bool) -> list[Path]:
    written = [_write(pareto_figure(study, budgets, promoted_dir), plot_dir / "pareto_front.html", inline)]
    complete = [t for t in study.get_trials(deepcopy=False) if t.state == TrialState.COMPLETE]
    if not complete:
        return written
    try:
        written.append(_write(hypervolume_figure(study), plot_dir / "hypervolume_history.html", inline))
        written.append(_write(parallel_figure(study), plot_dir / "parallel_coordinates.html", inline))
    except (ValueError, ZeroDivisionError) as exc:
        print(f"warning: plot skipped: {exc}", file=sys.stderr)
    if len(complete) >= 2:
        try:
            warnings.simplefilter("ignore")  # PED-ANOVA's notes on small studies are not for users
            written.append(_write(importance_figure(study), plot_dir / "param_importances.html", inline))
        except (ValueError, RuntimeError, ZeroDivisionError) as exc:
            print(f"warning: importance plot skipped: {exc}", file=sys.stderr)
    return written
