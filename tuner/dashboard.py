"""``python -m tuner.dashboard --study NAME``: optuna-dashboard on 127.0.0.1 for the
study's storage, so nobody has to remember (or type) storage URLs.

The dashboard reads the same database the study writes (it never writes to it). It is
the real optuna-dashboard behind a small correction (:mod:`tuner.views.dashboard_app`):
only feasible trials are ever presented as "Best Trial", and each trial page says why a
trial is infeasible (the computed ``feasibility`` attribute).
"""

from __future__ import annotations

import socket

from tuner._cli import ArgumentParser, add_study_arguments, quiet_optuna, run_main
from tuner.errors import InputError
from tuner.session.open import resolve_study
from tuner.session.storage import make_storage
from tuner.views.dashboard_app import serve, truthful_dashboard

__all__ = ["build_parser", "cli", "main"]

PROG = "python -m tuner.dashboard"


def build_parser() -> ArgumentParser:
    p = ArgumentParser(prog=PROG, description="Open a study in optuna-dashboard (http://127.0.0.1:PORT/), "
                       "read-only; infeasible trials are never shown as best, and each trial page says why "
                       "a trial is infeasible.")
    add_study_arguments(p, purpose="the study to open")
    p.add_argument("--port", metavar="P", type=int, default=8080,
                   help="port to listen on, on 127.0.0.1 only (default 8080)")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    quiet_optuna()
    ref = resolve_study(args.study, args.storage)
    name, spec = ref.name, ref.spec
    if not 0 < args.port < 65536:
        raise InputError(f"--port {args.port}: expected 1..65535")
    if spec.sqlite_path is not None and not spec.sqlite_path.exists():
        raise InputError(f"--storage {spec.redacted}: no such database file")
    storage = make_storage(spec, create=False)
    names = [s.study_name for s in storage.get_all_studies()]
    if name not in names:
        raise InputError(f"--study {name}: no such study in {spec.redacted}" + (f"; studies there: {', '.join(sorted(names))}" if names else ""))
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", args.port))
        except OSError:
            raise InputError(f"--port {args.port}: already in use on 127.0.0.1; choose another") from None
    study_id = storage.get_study_id_from_name(name)
    print(f"optuna-dashboard for study {name} ({spec.redacted}): http://127.0.0.1:{args.port}/dashboard/studies/{study_id}"
          " (Ctrl-C to stop)", flush=True)
    serve(truthful_dashboard(storage), "127.0.0.1", args.port)
    return 0


def cli() -> None:
    """Console entry point ``tuner-dashboard`` (the same as ``python -m tuner.dashboard``)."""
    run_main(PROG, main)


if __name__ == "__main__":
    cli()
