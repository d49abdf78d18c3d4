"""optuna-dashboard as ``python -m tuner.dashboard`` serves it: the real dashboard (its
UI, routes and storage access untouched) behind a small WSGI layer that corrects the
one answer where it misreads our studies.

optuna-dashboard 0.21 computes a multi-objective study's ``best_trials`` with its own
Pareto front, which ignores constraints (optuna-dashboard#772): infeasible trials
(completed, but failing suite checks) are shown as "Best Trial" on the overview card,
in the trial list's badges and filter, and on their trial pages. It also reads only
Optuna's older constraint list, and its trial page has no place for a constraint.

So for ``GET /api/studies/<id>`` (the study detail every page reads) this layer:

- replaces ``best_trials`` with the Pareto front of the *feasible* trials (rank 1 of
  :func:`tuner.views.assess.feasible_ranks`, the same front as ``pareto.csv`` and the
  promoter's), serialized by the dashboard's own serializer;
- sets each trial's ``constraints`` from the trial's stored constraints (Optuna 5's
  ``constraints:<key>`` attributes), so the dashboard's own plots and timeline mark
  infeasible trials the same way;
- adds a computed attribute ``feasibility`` first in each trial's user attributes
  (shown on the trial page and as a trials-table column): ``feasible, Pareto rank 1``,
  ``INFEASIBLE: 2 suite checks failed (research_v1): ...`` or ``FAIL: <reason>``. It is
  not stored: the study is never written by this layer.

Every trial is still listed; nothing is hidden. ``tests/test_dashboard_browser.py``
pins this against the installed dashboard in a real browser.
"""

from __future__ import annotations

import json
import re
import wsgiref.simple_server
from collections.abc import Callable, Iterable
from socketserver import ThreadingMixIn
from typing import TYPE_CHECKING, Any

import optuna_dashboard
from optuna.storages import BaseStorage
from optuna.trial import FrozenTrial
from optuna_dashboard._serializer import serialize_frozen_trial

from tuner.record import TrialView
from tuner.session.read import read_all_trials
from tuner.views.assess import constraint_values, feasible_ranks, retried_as, verdict

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

__all__ = ["FEASIBILITY_ATTR", "correct_study_detail", "serve", "truthful_dashboard"]

#: The computed user attribute that says, on every trial page, why a trial is (in)feasible.
FEASIBILITY_ATTR = "feasibility"

_STUDY_DETAIL = re.compile(r"/api/studies/(\d+)/?")


def correct_study_detail(doc: dict[str, Any], study_id: int, trials: list[FrozenTrial],
                         study_system_attrs: dict[str, Any]) -> dict[str, Any]:
    """The dashboard's study detail ``doc`` with the feasible front as ``best_trials``,
    constraints from the trials' records and the ``feasibility`` attribute on each trial."""
    views = {t._trial_id: TrialView.of(t) for t in trials}
    ranks = feasible_ranks(list(views.values()))
    retries = retried_as(list(views.values()))

    def annotate(serialized: dict[str, Any]) -> dict[str, Any]:
        v = views.get(serialized["trial_id"])
        if v is None:  # a trial newer than our read of the storage: left as the dashboard says
            return serialized
        serialized["constraints"] = constraint_values(v)
        attrs = [a for a in serialized.get("user_attrs", []) if a.get("key") != FEASIBILITY_ATTR]
        serialized["user_attrs"] = [
            {"key": FEASIBILITY_ATTR, "value": verdict(v, ranks.get(v.number), retries.get(v.number))}, *attrs]
        return serialized

    doc["trials"] = [annotate(s) for s in doc.get("trials", [])]
    front = [t for t in trials if ranks.get(t.number) == 1]
    doc["best_trials"] = [annotate(serialize_frozen_trial(study_id, t, study_system_attrs)) for t in front]
    union = [a for a in doc.get("union_user_attrs", []) if a.get("key") != FEASIBILITY_ATTR]
    doc["union_user_attrs"] = [{"key": FEASIBILITY_ATTR, "sortable": False}, *union]
    return doc


def truthful_dashboard(storage: BaseStorage) -> WSGIApplication:
    """optuna-dashboard's WSGI app for ``storage`` with the study detail corrected."""
    inner = optuna_dashboard.wsgi(storage)

    def app(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        match = _STUDY_DETAIL.fullmatch(environ.get("PATH_INFO", ""))
        if environ.get("REQUEST_METHOD") != "GET" or match is None:
            return inner(environ, start_response)
        captured: dict[str, Any] = {}
        written: list[bytes] = []

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable[[bytes], object]:
            captured.update(status=status, headers=headers)
            return written.append

        result = inner(environ, capture)
        try:
            body = b"".join([*written, *result])
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
        status, headers = captured["status"], captured["headers"]
        if status.startswith("200"):
            study_id = int(match.group(1))
            trials = read_all_trials(storage, study_id)
            doc = correct_study_detail(json.loads(body), study_id, trials, storage.get_study_system_attrs(study_id))
            body = json.dumps(doc).encode("utf-8")
            headers = [(k, v) for k, v in headers if k.lower() != "content-length"]
            headers.append(("Content-Length", str(len(body))))
        start_response(status, headers)
        return [body]

    return app


class _Server(ThreadingMixIn, wsgiref.simple_server.WSGIServer):
    daemon_threads = True


class _QuietHandler(wsgiref.simple_server.WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


def serve(app: WSGIApplication, host: str, port: int) -> None:
    """Serves ``app`` on ``host:port`` until interrupted (one thread per request, no
    per-request log lines)."""
    with wsgiref.simple_server.make_server(host, port, app, server_class=_Server, handler_class=_QuietHandler) as httpd:
        httpd.serve_forever()
