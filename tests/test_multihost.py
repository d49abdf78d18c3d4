"""Several hosts on one PostgreSQL study, as far as one machine allows.

PostgreSQL listens on 127.0.0.2 only. Each "host" is its own process group (a session)
with its own working directory, its own host name (``TUNER_HOST``) and its own loopback
address: it reaches the server through a relay on 127.0.0.N that connects onward from
127.0.0.N (:mod:`loopproxy`), so the server sees three client machines. The study
directory is shared, as on a network file system. One host's whole process group (its
study, its local workers, their simulator children) is killed with SIGKILL in the middle
of a trial; the others must finish the study with exactly the requested number of
counted trials, the lost trial retried once with the same parameters, and no trial left
RUNNING.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import optuna
import pytest

import pgserver
from e2e import FAST, run_cli
from loopproxy import Relay
from tuner.record import counted_trials
from tuner.simulator.build import ensure_binaries

optuna.logging.set_verbosity(optuna.logging.ERROR)

SERVER_ADDRESS = "127.0.0.2"
HOSTS = {"host-a": "127.0.0.3", "host-b": "127.0.0.4", "host-c": "127.0.0.5"}
VICTIM = "host-a"
TRIALS = 12
#: The victim's first trial (in each of its worker processes) waits after its attributes
#: are written, still RUNNING: the kill then lands mid-trial however fast trials are
#: (without it, a short trial could finish between the poll and the kill).
HOLD = {"TUNER_FAULT_POINT": "objective.attrs:1:sleep=300"}


@pytest.fixture(scope="module")
def pg():
    try:
        server = pgserver.start(host=SERVER_ADDRESS)
    except RuntimeError as exc:  # pragma: no cover - depends on the machine
        print(f"\n*** multi-host PostgreSQL test SKIPPED: {exc} ***\n", file=sys.stderr)
        pytest.skip(f"PostgreSQL server not available: {exc}")
    ensure_binaries(quiet=True)
    yield server
    server.stop()


def _client_addresses(server: pgserver.PgServer) -> set[str]:
    out = server.psql(f"SELECT DISTINCT client_addr FROM pg_stat_activity WHERE datname = '{pgserver.DATABASE}'")
    return {line.strip() for line in out.splitlines() if line.strip()}


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def test_killing_one_host_mid_trial_leaves_exactly_n_trials_and_the_lost_one_retried(
    pg: pgserver.PgServer, tmp_path: Path
) -> None:
    relays = {name: Relay(source=addr, target=(pg.host, pg.port)) for name, addr in HOSTS.items()}
    shared = tmp_path / "shared" / "mh"
    shared.parent.mkdir()
    base_env = {k: v for k, v in os.environ.items() if not k.startswith(("PARAPHINA_", "TUNER_"))}
    base_env.update(TUNER_DB_PASSWORD=pgserver.PASSWORD, TUNER_HEARTBEAT_INTERVAL="1", TUNER_HEARTBEAT_GRACE="4")
    common = ["--study", "mh", "--study-dir", str(shared), "--mc-threads", "1", "--no-promote",
              "--population", "4", *FAST]

    def url(name: str) -> str:
        return pg.url(password=False, host=HOSTS[name], port=relays[name].port)

    try:
        # One host creates the study (its first trial), as an operator would before
        # starting the fleet.
        first = tmp_path / "host-c-setup"
        first.mkdir()
        r = run_cli("tuner.study", [*common, "--storage", url("host-c"), "--trials", "1"], first,
                    env={"TUNER_DB_PASSWORD": pgserver.PASSWORD, "TUNER_HOST": "host-c"})
        assert r.returncode == 0, r.stderr
        procs: dict[str, subprocess.Popen[str]] = {}
        for name in HOSTS:
            cwd = tmp_path / name
            cwd.mkdir()
            procs[name] = subprocess.Popen(
                [sys.executable, "-m", "tuner.study", *common, "--storage", url(name), "--trials", str(TRIALS),
                 "--workers", "2"],
                cwd=cwd, env={**base_env, "TUNER_HOST": name, **(HOLD if name == VICTIM else {})}, start_new_session=True,
                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
            )
        # Wait until the victim host is inside a trial (a RUNNING trial it owns that has
        # started its simulator work), seeing on the way every host's own address.
        study = optuna.load_study(study_name="mh", storage=pg.url())
        seen: set[str] = set()
        victim_trial = None
        deadline = time.monotonic() + 180
        while victim_trial is None and time.monotonic() < deadline:
            seen |= _client_addresses(pg)
            for t in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)):
                worker = t.user_attrs.get("worker", "")
                if worker.startswith(f"{VICTIM}:") and t.user_attrs.get("candidate_id"):
                    victim_trial = t.number
            time.sleep(0.2)
        assert victim_trial is not None, "the victim host never ran a trial"
        victim = procs[VICTIM]
        os.killpg(victim.pid, signal.SIGKILL)
        victim.wait(timeout=30)
        for _ in range(100):  # its orphans (workers, simulator children) die with the group
            if not _group_alive(victim.pid):
                break
            time.sleep(0.1)
        assert not _group_alive(victim.pid), "a process of the killed host survived"
        errs = {name: p.communicate(timeout=300)[1] for name, p in procs.items() if name != VICTIM}
        codes = {name: p.returncode for name, p in procs.items()}
        assert codes[VICTIM] == -signal.SIGKILL, codes
        assert all(codes[n] == 0 for n in errs), (codes, {n: e.strip().splitlines()[-3:] for n, e in errs.items()})
        assert set(HOSTS.values()) <= seen, f"the server saw clients at {sorted(seen)}"
    finally:
        for relay in relays.values():
            relay.close()

    trials = optuna.load_study(study_name="mh", storage=pg.url()).get_trials()
    counted = counted_trials(trials)
    assert len(counted) == TRIALS
    # No trial ran twice: every counted candidate is simulated once (a repeat is a reuse).
    simulated = [t.user_attrs["candidate_id"] for t in counted
                 if t.state.name == "COMPLETE" and "reused_from" not in t.user_attrs]
    assert len(simulated) == len(set(simulated)), Counter(simulated).most_common(3)
    assert not [t for t in trials if t.state.name == "RUNNING"]
    lost = [t for t in trials if t.state.name == "FAIL"]
    assert victim_trial in {t.number for t in lost}
    for dead in lost:
        retries = [t for t in trials if t.system_attrs.get("failed_trial") == dead.number]
        assert len(retries) == 1 and retries[0].state.name == "COMPLETE", (dead.number, retries)
        if len(dead.params) == len(retries[0].params):
            assert retries[0].params == dead.params
    hosts = Counter(str(t.user_attrs.get("worker", "?")).rsplit(":", 1)[0] for t in counted)
    assert set(hosts) <= set(HOSTS) and {"host-b", "host-c"} <= set(hosts), hosts
