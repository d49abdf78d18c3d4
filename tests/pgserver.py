"""A real PostgreSQL server for the tests: Debian's binaries, ``initdb`` in a temporary
directory, listening only on 127.0.0.1 at a free port, password authentication, stopped
at the end. When running as root, the server runs as the ``postgres`` system user
(PostgreSQL refuses to run as root)."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

USER = "tuner"
PASSWORD = "pw-Xq7-secret"
DATABASE = "studies"


def find_pg_bin() -> Path | None:
    """Directory of initdb/pg_ctl (Debian keeps them out of PATH)."""
    found = shutil.which("initdb")
    if found:
        return Path(found).resolve().parent
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), reverse=True)
    return Path(versions[0]).parent if versions else None


def _free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


@dataclass
class PgServer:
    bin_dir: Path
    data_dir: Path
    port: int
    run_as: str | None
    host: str = "127.0.0.1"

    def url(self, password: bool = True, user: str = USER, db: str = DATABASE, host: str | None = None,
            port: int | None = None) -> str:
        auth = f"{user}:{PASSWORD}" if password else user
        return f"postgresql+psycopg://{auth}@{host or self.host}:{port or self.port}/{db}"

    def _cmd(self, *args: str) -> list[str]:
        return ["runuser", "-u", self.run_as, "--", *args] if self.run_as else list(args)

    def stop(self) -> None:
        subprocess.run(self._cmd(str(self.bin_dir / "pg_ctl"), "-D", str(self.data_dir), "-m", "immediate", "stop"),
                       capture_output=True, timeout=60)
        shutil.rmtree(self.data_dir.parent, ignore_errors=True)

    def psql(self, sql: str, db: str = DATABASE) -> str:
        env = dict(os.environ, PGPASSWORD=PASSWORD)
        psql = self.bin_dir / "psql"
        exe = str(psql) if psql.exists() else "psql"
        out = subprocess.run([exe, "-h", self.host, "-p", str(self.port), "-U", USER, "-d", db, "-At", "-c", sql],
                             capture_output=True, text=True, env=env, timeout=60, check=True)
        return out.stdout


def start(host: str = "127.0.0.1") -> PgServer:
    """Starts a throwaway server listening on ``host`` (a loopback address) only, taking
    password logins from every loopback address; raises RuntimeError with the reason
    when it cannot."""
    bin_dir = find_pg_bin()
    if bin_dir is None:
        raise RuntimeError("PostgreSQL server binaries not found (install Debian's postgresql package)")
    run_as = None
    base = Path(tempfile.mkdtemp(prefix="tuner-pg-"))
    if os.geteuid() == 0:
        run_as = "postgres"
        pw = pwd.getpwnam(run_as)
        os.chown(base, pw.pw_uid, pw.pw_gid)
    data = base / "data"
    pwfile = base / "pwfile"
    pwfile.write_text(PASSWORD + "\n")
    if run_as:
        os.chown(pwfile, pwd.getpwnam(run_as).pw_uid, -1)
    server = PgServer(bin_dir, data, _free_port(host), run_as, host)
    init = subprocess.run(
        server._cmd(str(bin_dir / "initdb"), "-D", str(data), "-U", USER, "--pwfile", str(pwfile),
                    "--auth=scram-sha-256", "-E", "UTF8", "--no-sync"),
        capture_output=True, text=True, timeout=120,
    )
    if init.returncode != 0:
        raise RuntimeError(f"initdb failed: {init.stderr.strip()[-500:]}")
    with open(data / "pg_hba.conf", "a", encoding="utf-8") as hba:  # clients on any loopback address
        hba.write("host all all 127.0.0.0/8 scram-sha-256\n")
    opts = f"-c listen_addresses={host} -c port={server.port} -c unix_socket_directories={base} -c fsync=off -c max_connections=100"
    ctl = subprocess.run(
        server._cmd(str(bin_dir / "pg_ctl"), "-D", str(data), "-o", opts, "-l", str(base / "log"), "-w", "-t", "60", "start"),
        capture_output=True, text=True, timeout=120,
    )
    if ctl.returncode != 0:
        log = (base / "log").read_text() if (base / "log").exists() else ""
        raise RuntimeError(f"pg_ctl start failed: {ctl.stderr.strip()[-300:]} {log[-500:]}")
    for _ in range(50):
        try:
            server.psql("SELECT 1", db="postgres")
            break
        except subprocess.CalledProcessError:
            time.sleep(0.2)
    server.psql(f"CREATE DATABASE {DATABASE}", db="postgres")
    return server
