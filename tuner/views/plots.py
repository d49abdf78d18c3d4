"""Plots of a study, as self-contained HTML that opens offline: Plotly's JavaScript is
written once beside the files (``plotly.min.js``) and referenced relatively.

- ``pareto_front.html``: pnl_mean against dd_cvar and against kill_ucb; infeasible
  trials grey, feasible coloured, the front marked, and each tier's budget drawn as
  lines (a candidate must sit right of / below them to pass).
- ``hypervolume_history.html``: hypervolume of the feasible front after each trial,
  against the fixed reference point.
- ``parallel_coordinates.html``: parameters against pnl_mean.
- ``param_importances.html``: which knobs matter for each objective.
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Callable
from pathlib import Path

import optuna
import plotly.graph_objects as go
from optuna.trial import FrozenTrial, TrialState
from plotly.subplots import make_subplots

from tuner.config.budgets import Budgets
from tuner.names import METRIC_NAMES
from tuner.record import Attr, counted_trials, feasible_points, is_feasible
from tuner.stats.hypervolume import HV_REFERENCE, hypervolume_history

__all__ = ["write_plots"]

#: Position of each objective in a trial's values.
_AT = {name: i for i, name in enumerate(METRIC_NAMES)}

_TIER_COLOURS = {"conservative": "#2ca02c", "balanced": "#ff7f0e", "aggressive": "#d62728"}


def _write(fig: go.Figure, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    # "directory": plotly.min.js is written beside the HTML once and loaded relatively,
    # so the page needs no network and the JavaScript is not copied into every file.
    fig.write_html(str(path), include_plotlyjs="directory", full_html=True)
    return path


def _hover(t: FrozenTrial) -> str:
    cid = t.user_attrs.get(Attr.CANDIDATE_ID, "?")
    params = "<br>".join(f"{k}={v}" for k, v in t.params.items())
    return f"trial {t.number} [{cid}]<br>{params}"


def pareto_figure(study: optuna.Study, budgets: Budgets) -> go.Figure:
    trials = [t for t in study.get_trials(deepcopy=False) if t.state == TrialState.COMPLETE and t.values]
    front = {t.number for t in study.best_trials}
    fig = make_subplots(rows=1, cols=2, shared_yaxes=True,
                        subplot_titles=("pnl_mean vs dd_cvar (CVaR 95 % of max drawdown)",
                                        "pnl_mean vs kill_ucb (Wilson upper bound)"))
    groups = [
        ("infeasible", [t for t in trials if not is_feasible(t)], dict(color="lightgrey", size=7)),
        ("feasible", [t for t in trials if is_feasible(t) and t.number not in front], dict(color="#1f77b4", size=8)),
        ("Pareto front", [t for t in trials if t.number in front], dict(color="#9467bd", size=11, symbol="diamond")),
    ]
    for col, xi in ((1, _AT["dd_cvar"]), (2, _AT["kill_ucb"])):
        for name, ts, marker in groups:
            fig.add_trace(
                go.Scatter(
                    x=[t.values[xi] for t in ts], y=[t.values[_AT["pnl_mean"]] for t in ts], mode="markers", name=name,
                    marker=marker, text=[_hover(t) for t in ts], hovertemplate="%{text}<extra></extra>",
                    legendgroup=name, showlegend=col == 1,
                ),
                row=1, col=col,
            )
    for tier in budgets.tiers.values():
        colour = _TIER_COLOURS.get(tier.name, "black")
        fig.add_vline(x=tier.max_dd_cvar, line=dict(color=colour, dash="dash"), row=1, col=1,
                      annotation_text=f"{tier.name}: dd_cvar ≤ {tier.max_dd_cvar:g}")
        fig.add_vline(x=tier.max_kill_ucb, line=dict(color=colour, dash="dash"), row=1, col=2,
                      annotation_text=f"{tier.name}: kill_ucb ≤ {tier.max_kill_ucb:g}")
        for col in (1, 2):
            fig.add_hline(y=tier.min_pnl_lcb_usd, line=dict(color=colour, dash="dot"), row=1, col=col)
    fig.update_yaxes(title_text="pnl_mean (USD); dotted: tiers' min pnl_lcb", row=1, col=1)
    fig.update_xaxes(title_text="dd_cvar (USD)", row=1, col=1)
    fig.update_xaxes(title_text="kill_ucb", row=1, col=2)
    fig.update_layout(title=f"Study {study.study_name}: trials and tier budgets", height=600)
    return fig


def hypervolume_figure(study: optuna.Study) -> go.Figure:
    trials = counted_trials(study.get_trials(deepcopy=False))
    history = hypervolume_history(feasible_points(trials))
    fig = go.Figure(go.Scatter(x=list(range(1, len(history) + 1)), y=history, mode="lines+markers",
                               name="hypervolume", text=[f"trial {t.number}" for t in trials]))
    fig.update_layout(
        title=f"Hypervolume of the feasible front after each finished trial (reference {HV_REFERENCE}: "
              "pnl_mean, kill_ucb, dd_cvar)",
        xaxis_title="finished trials", yaxis_title="hypervolume (USD x probability x USD)",
    )
    return fig


def _signed_objective(i: int, sign: float) -> Callable[[FrozenTrial], float]:
    def target(t: FrozenTrial) -> float:
        return sign * t.values[i]

    return target


def write_plots(study: optuna.Study, plot_dir: Path, budgets: Budgets) -> list[Path]:
    with warnings.catch_warnings():
        return _write_plots(study, plot_dir, budgets)


def _write_plots(study: optuna.Study, plot_dir: Path, budgets: Budgets) -> list[Path]:
    written = [_write(pareto_figure(study, budgets), plot_dir / "pareto_front.html")]
    complete = [t for t in study.get_trials(deepcopy=False) if t.state == TrialState.COMPLETE]
    if not complete:
        return written
    try:
        written.append(_write(hypervolume_figure(study), plot_dir / "hypervolume_history.html"))
        fig = optuna.visualization.plot_parallel_coordinate(
            study, target=lambda t: t.values[_AT["pnl_mean"]], target_name="pnl_mean")
        written.append(_write(fig, plot_dir / "parallel_coordinates.html"))
    except (ValueError, ZeroDivisionError) as exc:
        print(f"warning: plot skipped: {exc}", file=sys.stderr)
    if len(complete) >= 2:
        try:
            warnings.simplefilter("ignore")  # PED-ANOVA's notes on small studies are not for users
            figs = []
            for i, name in enumerate(METRIC_NAMES):
                # PED-ANOVA scores what leads to LOW target values: negate maximized ones.
                sign = -1.0 if study.directions[i] == optuna.study.StudyDirection.MAXIMIZE else 1.0
                figs.append(optuna.visualization.plot_param_importances(
                    study, target=_signed_objective(i, sign), target_name=name))
            fig = make_subplots(rows=1, cols=len(figs), subplot_titles=[f"importance for {n}" for n in METRIC_NAMES])
            for col, f in enumerate(figs, start=1):
                for trace in f.data:
                    fig.add_trace(trace, row=1, col=col)
            fig.update_layout(title="Parameter importances (PED-ANOVA)", showlegend=False, height=500)
            written.append(_write(fig, plot_dir / "param_importances.html"))
        except (ValueError, RuntimeError, ZeroDivisionError) as exc:
            print(f"warning: importance plot skipped: {exc}", file=sys.stderr)
    return written
