"""``python -m tuner.dashboard --study NAME``: optuna-dashboard on 127.0.0.1 for the
study's storage, so nobody has to remember (or type) storage URLs.

The dashboard reads the same database the study writes. Infeasible trials show as
infeasible there because every trial also carries its constraint in the older list
format optuna-dashboard 0.21 reads (see ``tuner.objective``).
"""

from __future__ import annotations

import socket

from tuner.cli import ArgumentParser, quiet_optuna, run_main
from tuner.errors import InputError
from tuner.identifiers import validate_study_name
from tuner.storage import default_storage_url, make_storage, parse_storage

__all__ = ["main"]

PROG = "python -m tuner.dashboard"


def main(argv: list[str] | None = None) -> int:
    p = ArgumentParser(prog=PROG, description="Open a study in optuna-dashboard (http://127.0.0.1:PORT/).")
    p.add_argument("--study", metavar="NAME", required=True)
    p.add_argument("--storage", metavar="URL", help="Optuna storage (default sqlite:///studies/<study>.db)")
    p.add_argument("--port", metavar="P", type=int, default=8080, help="port on 127.0.0.1 (default 8080)")
    args = p.parse_args(argv)
    quiet_optuna()
    name = validate_study_name(args.study)
    if not 0 < args.port < 65536:
        raise InputError(f"--port {args.port}: expected 1..65535")
    spec = parse_storage(args.storage or default_storage_url(name))
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
    import optuna_dashboard

    study_id = storage.get_study_id_from_name(name)
    print(f"optuna-dashboard for study {name} ({spec.redacted}): http://127.0.0.1:{args.port}/dashboard/studies/{study_id}"
          " (Ctrl-C to stop)", flush=True)
    optuna_dashboard.run_server(storage, host="127.0.0.1", port=args.port)
    return 0


if __name__ == "__main__":
    run_main(PROG, main)
