"""One self-contained HTML page per promoted tier, for a risk committee: the decision
and the tier's budget, the metrics with their bounds and margins, the winner's PnL and
drawdown distributions beside the incumbent's on the same seeds, the finalists
considered, the suites, and the provenance. Plotly's JavaScript is inside the page (no
network, no other file); the record names the page (``report_file``).

The promoter calls :func:`promotion_report` before it commits, so the page is written
with the record, all tiers or none.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import plotly.graph_objects as go
from plotly.offline import get_plotlyjs

from tuner.simulator import documents

__all__ = ["promotion_report"]


def _runs(mc_dir: Path | None) -> list[dict[str, Any]]:
    if mc_dir is None or not documents.exists(mc_dir / "mc_runs.jsonl"):
        return []
    rows: list[dict[str, Any]] = documents.read_jsonl(mc_dir / "mc_runs.jsonl")
    return rows


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    return html.escape(str(v))


def _table(rows: list[tuple[Any, ...]], head: tuple[str, ...]) -> str:
    th = "".join(f"<th>{html.escape(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{_fmt(c)}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>"


def _distribution(key: str, title: str, winner: list[dict[str, Any]], incumbent: list[dict[str, Any]],
                  div: str) -> str:
    fig = go.Figure()
    fig.add_trace(go.Histogram(x=[r[key] for r in winner], name="promoted", opacity=0.6))
    if incumbent:
        fig.add_trace(go.Histogram(x=[r[key] for r in incumbent], name="incumbent, same seeds", opacity=0.6))
    fig.update_layout(barmode="overlay", title=title, xaxis_title="USD", yaxis_title="runs", height=360)
    return fig.to_html(full_html=False, include_plotlyjs=False, div_id=div)


def promotion_report(record: dict[str, Any], *, winner_mc: Path | None, incumbent_mc: Path | None,
                     finalists: list[dict[str, Any]]) -> str:
    """The page's HTML for ``record`` (a schema-4 record with its ``decision``)."""
    st, budget, prov = record["statistics"], record["tier_budget"], record.get("provenance") or {}
    decision = record.get("decision") or {}
    challenge = decision.get("challenge") or {}
    conf = record.get("confirmation") or {}
    if conf.get("gates"):
        # The tier was decided on these: the confirmation's bounds at alpha / K.
        margins = [(g.get("rule"), g.get("value"), g.get("limit"), g.get("margin"), g.get("method"))
                   for g in conf["gates"]]
    else:
        margins = [
            ("kill_ucb", st.get("kill_ucb"), f"<= {budget['max_kill_ucb']}", budget["max_kill_ucb"] - (st.get("kill_ucb") or 0), ""),
            ("dd_cvar", st.get("dd_cvar"), f"<= {budget['max_dd_cvar']}", budget["max_dd_cvar"] - (st.get("dd_cvar") or 0), ""),
            ("pnl_lcb", st.get("pnl_lcb"), f">= {budget['min_pnl_lcb_usd']}", (st.get("pnl_lcb") or 0) - budget["min_pnl_lcb_usd"], ""),
            ("pnl_mean", st.get("pnl_mean"), "", "", ""),
        ]
    inc = challenge.get("incumbent_on_same_seeds") or {}
    winner_runs, incumbent_runs = _runs(winner_mc), _runs(incumbent_mc)
    why = "; ".join(challenge.get("reasons") or []) or "no incumbent: first promotion of this tier"
    sections = [
        f"<h1>Promotion of tier {html.escape(record['tier'])}: {html.escape(record['candidate_id'])}</h1>",
        f"<p>Study <b>{html.escape(record['study_name'])}</b>, trial {record['trial_number']}, promoted at "
        f"{html.escape(record['promoted_at'])}; preset <code>{html.escape(record['env_file'])}</code> "
        f"(sha256 <code>{html.escape(record['candidate_hash'])}</code>); record "
        f"<code>{html.escape(record.get('record_file') or '')}</code>.</p>",
        "<h2>Decision</h2>",
        f"<p>Incumbent: {html.escape(str(decision.get('incumbent')))}. {html.escape(why)}</p>",
        _table([(k, challenge.get(k)) for k in ("n_pairs", "mean_difference", "p_value")] +
               [(f"incumbent {k} (same seeds)", inc.get(k)) for k in ("pnl_mean", "pnl_lcb", "kill_ucb", "dd_cvar")],
               ("", "value")) if challenge else "",
        (f"<h2>Confirmation on fresh seeds: the tier's gates, bounds at alpha / K = {conf.get('alpha')}</h2>"
         f"<p>{conf.get('runs')} Monte Carlo runs, {conf.get('suite_seeds_per_scenario')} fresh seed(s) per suite "
         f"scenario, {conf.get('finalists')} finalist(s); {html.escape(str(conf.get('multiplicity')))}. Search "
         f"statistics (study seeds, alpha {st['alpha']}): pnl_mean {st.get('pnl_mean')}, pnl_lcb {st.get('pnl_lcb')}, "
         f"kill_ucb {st.get('kill_ucb')}, dd_cvar {st.get('dd_cvar')}.</p>" if conf.get("gates") else
         f"<h2>Metrics at alpha {st['alpha']} (study alpha {st.get('study_alpha')})</h2>"),
        _table(margins, ("rule", "bound", "budget", "margin", "method")),
        "<h2>Distributions on the confirmation's seeds</h2>" if conf.get("gates") else
        "<h2>Distributions on the evidence's seeds</h2>",
        _distribution("final_pnl", "final PnL per run", winner_runs, incumbent_runs, "pnl_hist") if winner_runs else
        "<p>(the trial's mc_runs.jsonl is not reachable)</p>",
        _distribution("max_drawdown", "max drawdown per run", winner_runs, incumbent_runs, "dd_hist") if winner_runs
        else "",
        "<h2>Finalists: search versus confirmation</h2>",
        _table([(f.get("candidate_id"), f.get("trial"), f.get("pnl_mean"), f.get("confirm_pnl_mean"), f.get("pnl_lcb"),
                 f.get("confirm_pnl_lcb"), f.get("kill_ucb"), f.get("confirm_kill_ucb"), f.get("dd_cvar"),
                 f.get("confirm_dd_cvar_ucb"), f.get("note", "")) for f in finalists],
               ("candidate", "trial", "pnl_mean search", "pnl_mean confirm", "pnl_lcb search", "pnl_lcb confirm",
                "kill_ucb search", "kill_ucb confirm", "dd_cvar search", "dd_cvar_ucb confirm", "note")),
        "<p>Search: the study's seeds, bounds at the budgets' alpha. Confirmation: fresh seeds the search never "
        "used, bounds at alpha / K; the tier is decided on the confirmation only.</p>",
        "<h2>Suites</h2>",
        _table(sorted((k, v, ((conf.get("metrics") or {}).get("suite_pass_rate") or {}).get(k))
                      for k, v in (record.get("suites_passed") or {}).items()),
               ("suite", "passed (shipped seeds)", "scenarios without a failing fresh seed (confirmation)")),
        "<h2>Provenance (when the evidence was made)</h2>",
        _table([("git_commit", prov.get("git_commit")), ("git_dirty", prov.get("git_dirty")),
                ("git_diff_sha256", prov.get("git_diff_sha256"))] +
               [(f"sha256 {k}", v) for k, v in sorted((prov.get("binaries_sha256") or {}).items())] +
               [("storage", record.get("storage")), ("sampler", record.get("sampler")),
                ("optuna", record.get("optuna_version"))], ("", "value")),
    ]
    style = ("body{font-family:sans-serif;max-width:1100px;margin:2em auto}table{border-collapse:collapse;margin:1em 0}"
             "td,th{border:1px solid #ccc;padding:3px 8px;text-align:left}code{font-size:90%}")
    return ("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Promotion "
            f"{html.escape(record['tier'])} {html.escape(record['candidate_id'])}</title><style>{style}</style>"
            f"<script type=\"text/javascript\">{get_plotlyjs()}</script></head><body>"
            + "\n".join(sections) + "</body></html>\n")
