"""The study plots a researcher reads: tier budgets in the legend (no overlapping
labels), hover text with objectives, bounds, tier verdicts and the reason a trial is
infeasible at sensible precision, promoted winners marked, every objective in the
parallel coordinates with readable names, importances one panel per objective, and a
self-contained form; each page renders in headless chromium without a JavaScript error."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import optuna
import pytest
from browser import Browser, file_url
from fakestudy import FEASIBLE_FRONT, INFEASIBLE, make_study

from tuner.config.budgets import load_budgets
from tuner.config.paths import DEFAULT_BUDGETS
from tuner.names import KNOB_NAMES, METRIC_NAMES
from tuner.views import plots

BUDGETS = load_budgets(DEFAULT_BUDGETS)
#: A float printed with more digits than anyone reads (the raw repr of a double).
LONG_FLOAT = re.compile(r"\d\.\d{6,}")


@pytest.fixture(scope="module")
def study(tmp_path_factory: pytest.TempPathFactory) -> tuple[optuna.Study, Path]:
    root = tmp_path_factory.mktemp("plots")
    db = make_study(root)
    s = optuna.load_study(study_name="fake", storage=f"sqlite:///{db}")
    promoted = root / "promoted"
    (promoted / "balanced").mkdir(parents=True)
    winner = s.trials[2]
    (promoted / "balanced" / "PROMOTION_RECORD.json").write_text(json.dumps(
        {"study_name": "fake", "trial_number": 2, "candidate_id": winner.user_attrs["candidate_id"], "tier": "balanced"}))
    (promoted / "aggressive").mkdir()
    (promoted / "aggressive" / "PROMOTION_RECORD.json").write_text(json.dumps(
        {"study_name": "another", "trial_number": 1, "candidate_id": "x"}))  # another study's: not marked
    return s, promoted


def _by_name(fig: Any) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {}
    for trace in fig.data:
        out.setdefault(trace.name, []).append(trace)
    return out


def test_pareto_plot_puts_tiers_in_the_legend_and_says_everything_on_hover(study: tuple[optuna.Study, Path]) -> None:
    s, promoted = study
    fig = plots.pareto_figure(s, BUDGETS, promoted)
    # Tier limits are legend entries, one per tier, not text written over the plot.
    assert [a.text for a in fig.layout.annotations] == [a.text for a in fig.layout.annotations if "pnl_mean vs" in a.text]
    tier_entries = [sh.name for sh in fig.layout.shapes if sh.showlegend]
    assert len(tier_entries) == len(BUDGETS.tiers)
    assert all(f"{t} tier: dd_cvar ≤" in e for t, e in zip(BUDGETS.tiers, tier_entries, strict=True))
    traces = _by_name(fig)
    hover = {int(re.search(r"trial (\d+)", t).group(1)): t for tr in fig.data for t in tr.text}
    assert set(hover) == {0, 1, 2, 4, 5}  # every completed trial
    for number, text in hover.items():
        assert not LONG_FLOAT.search(text), text
        for fragment in ("pnl_mean", "pnl_lcb", "kill_ucb", "runs killed", "dd_cvar", "USD", "tiers passed"):
            assert fragment in text, (number, fragment, text)
    for number in INFEASIBLE:
        assert "INFEASIBLE: " in hover[number] and "suite check" in hover[number]
    assert "conservative" in hover[1].split("tiers passed (search evidence): ")[1]
    # Winners of this study's current records are marked; another study's are not.
    stars = traces["promoted winner"]
    assert [re.search(r"trial (\d+)", t).group(1) for tr in stars for t in tr.text] == ["2", "2"]
    assert "PROMOTED</b> to balanced" in hover[2]
    front = {int(re.search(r"trial (\d+)", t).group(1)) for tr in traces["feasible Pareto front"] for t in tr.text}
    assert front == FEASIBLE_FRONT
    # The whisker shows pnl_lcb, the bound the dotted min pnl_lcb lines are about.
    assert all(tr.error_y.arrayminus is not None for tr in traces["feasible"])


def test_parallel_coordinates_has_every_knob_and_objective_with_readable_names(study: tuple[optuna.Study, Path]) -> None:
    fig = plots.parallel_figure(study[0])
    labels = [d.label for d in fig.data[0].dimensions]
    for name in METRIC_NAMES:
        assert any(lab.split()[0] == name for lab in labels), (name, labels)
    assert [plots.knob_label(k) for k in KNOB_NAMES] == labels[:len(KNOB_NAMES)]
    assert all(not lab.startswith("PARAPHINA_") and len(lab) <= 20 for lab in labels), labels
    assert "pnl_lcb (USD)" in labels and "feasible" in labels


def test_importances_are_one_panel_per_objective_with_values_on_the_bars(study: tuple[optuna.Study, Path]) -> None:
    fig = plots.importance_figure(study[0])
    assert len(fig.data) == len(METRIC_NAMES)
    domains = sorted(tuple(fig.layout[f"yaxis{'' if i == 1 else i}"].domain) for i in range(1, len(METRIC_NAMES) + 1))
    for (lo1, hi1), (lo2, _hi2) in zip(domains, domains[1:], strict=False):
        assert hi1 < lo2, "panels overlap"
    for bar in fig.data:
        assert all(re.fullmatch(r"\d\.\d\d", t) for t in bar.text)
        assert all(not y.startswith("PARAPHINA_") for y in bar.y)


def test_self_contained_plots_need_no_other_file_and_a_rewrite_keeps_the_form(tmp_path: Path,
                                                                            study: tuple[optuna.Study, Path]) -> None:
    s, promoted = study
    inline = plots.write_plots(s, tmp_path / "inline", BUDGETS, promoted_dir=promoted, self_contained=True)
    shared = plots.write_plots(s, tmp_path / "shared", BUDGETS, promoted_dir=promoted)
    assert {p.name for p in inline} == {p.name for p in shared} == {
        "pareto_front.html", "hypervolume_history.html", "parallel_coordinates.html", "param_importances.html"}
    for page in inline:
        html = page.read_text()
        assert 'src="plotly.min.js"' not in html and len(html) > 3_000_000
    assert not (tmp_path / "inline" / "plotly.min.js").exists()
    assert all('src="plotly.min.js"' in p.read_text() for p in shared)
    again = plots.write_plots(s, tmp_path / "inline", BUDGETS, promoted_dir=promoted)  # self_contained=None
    assert all('src="plotly.min.js"' not in p.read_text() for p in again)


#: Pairs of visible text boxes that overlap (legend, titles, annotations, tick and axis labels).
_OVERLAPS = """(() => {
  const sel = '.legendtext, .gtitle, .annotation-text, .g-xtitle text, .g-ytitle text, .xtick text, .ytick text,'
            + ' .axis-title, .tick text, .g-y2title text';
  const boxes = [...document.querySelectorAll(sel)].filter(e => e.textContent.trim())
    .map(e => [e.textContent.trim(), e.getBoundingClientRect()]).filter(([, r]) => r.width > 0 && r.height > 0);
  const out = [];
  for (let i = 0; i < boxes.length; i++) for (let j = i + 1; j < boxes.length; j++) {
    const [a, r] = boxes[i], [b, q] = boxes[j];
    const w = Math.min(r.right, q.right) - Math.max(r.left, q.left), h = Math.min(r.bottom, q.bottom) - Math.max(r.top, q.top);
    if (w > 2 && h > 2) out.push(a + ' / ' + b);
  }
  return JSON.stringify({n: boxes.length, overlaps: out});
})()"""


def test_every_plot_renders_in_a_browser_without_errors_or_overlapping_text(
        browser: Browser, tmp_path: Path, study: tuple[optuna.Study, Path]) -> None:
    s, promoted = study
    for page_path in plots.write_plots(s, tmp_path / "plots", BUDGETS, promoted_dir=promoted):
        page = browser.page(file_url(page_path))
        try:
            page.wait_for("document.querySelector('.js-plotly-plot .main-svg') !== null")
            page.wait_for("document.querySelector('.js-plotly-plot')._fullLayout !== undefined")
            result = json.loads(page.evaluate(_OVERLAPS))
            assert result["n"] > 5, page_path.name
            assert result["overlaps"] == [], (page_path.name, result["overlaps"])
            if page_path.name == "pareto_front.html":
                legend = page.evaluate("[...document.querySelectorAll('.legendtext')].map(e => e.textContent).join('|')")
                for tier in BUDGETS.tiers:
                    assert f"{tier} tier: dd_cvar ≤" in legend
                assert "promoted winner" in legend
            assert page.errors() == [], (page_path.name, page.errors())
        finally:
            page.close()
