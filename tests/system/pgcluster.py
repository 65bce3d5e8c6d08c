"""A throwaway PostgreSQL cluster for tests: initdb into a temp folder, pg_ctl on a free port.

Debian keeps the server binaries in /usr/lib/postgresql/<version>/bin, off PATH. PostgreSQL
refuses to run as root, so when the tests run as root the cluster's folder is handed to an
unprivileged user (`postgres` when the package created it, else `nobody`) and every server
command runs as that user. The cluster trusts local connections (it listens on 127.0.0.1 and a
socket in its own folder only) and is deliberately configured unlike a developer's laptop: a
session time zone far from UTC and an ICU collation, so code that leans on SQLite's habits
(naive UTC timestamps, byte-order sorting) fails here instead of in production.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg

from tests.system.serverproc import free_port

SUPERUSER = "tinytrail"
# UTC+12:45 (+13:45 in summer): any timestamp read back in the session zone shows up at once.
SESSION_TIMEZONE = "Pacific/Chatham"


def find_bin_dir() -> Path | None:
    """The newest installed server's binaries, or None when PostgreSQL is not installed."""
    found = glob.glob("/usr/lib/postgresql/*/bin/initdb")
    if found:
        newest = max(found, key=lambda p: int(Path(p).parent.parent.name.split(".")[0]))
        return Path(newest).parent
    on_path = shutil.which("initdb")
    if on_path and shutil.which("pg_ctl"):
        return Path(on_path).parent
    return None


def _run_as() -> dict[str, Any]:
    """subprocess arguments that drop root for the server commands (nothing when not root)."""
    if os.geteuid() != 0:
        return {}
    for name in ("postgres", "nobody"):
        try:
            entry = pwd.getpwnam(name)
        except KeyError:
            continue
        return {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}
    raise RuntimeError("running as root and no unprivileged user to run PostgreSQL as")


class Cluster:
    def __init__(self, bin_dir: Path) -> None:
        self.bin_dir = bin_dir
        self.port = free_port()
        # Not under pytest's tmp_path: that lives in a 0700 folder the server user cannot enter.
        self.root = Path(tempfile.mkdtemp(prefix="tinytrail-pg-"))
        self.data = self.root / "data"
        self.socket_dir = self.root / "socket"
        self.log = self.root / "server.log"
        self._as = _run_as()
        self.socket_dir.mkdir()
        if self._as:
            for path in (self.root, self.socket_dir):
                os.chown(path, self._as["user"], self._as["group"])

    def _pg(self, tool: str, *args: str) -> None:
        env = {**os.environ, "LC_ALL": "C.UTF-8", "TZ": "UTC"}
        command = [str(self.bin_dir / tool), *args]
        # Output to a file, never a pipe: a server started by pg_ctl would inherit the pipe and
        # keep it open, and reading it to the end would wait for the server to stop.
        with tempfile.TemporaryFile("w+") as output:
            result = subprocess.run(
                command,
                cwd=self.root,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                **self._as,
            )
            output.seek(0)
            said = output.read()
        if result.returncode != 0:
            log = self.log.read_text() if self.log.exists() else ""
            raise RuntimeError(f"{tool} failed:\n{said}\n{log}")

    def start(self) -> None:
        icu = ["--locale-provider=icu", "--icu-locale=en-US"] if self._has_icu() else []
        self._pg(
            "initdb",
            *("-D", str(self.data), "-U", SUPERUSER, "--auth=trust", "--encoding=UTF8"),
            *("--locale=C.UTF-8", "--no-sync", *icu),
        )
        options = (
            f"-p {self.port} -k {self.socket_dir} -c listen_addresses=127.0.0.1"
            f" -c timezone={SESSION_TIMEZONE} -c fsync=off -c synchronous_commit=off"
            " -c full_page_writes=off -c max_connections=50 -c shared_buffers=16MB"
        )
        start = ("start", "-w", "-t", "60", "-D", str(self.data), "-l", str(self.log))
        self._pg("pg_ctl", *start, "-o", options)

    def restart(self) -> None:
        """A fast shutdown and start: every open connection is cut, as in a failover."""
        restart = ("restart", "-w", "-t", "60", "-D", str(self.data), "-l", str(self.log))
        self._pg("pg_ctl", *restart, "-m", "fast")

    def _has_icu(self) -> bool:
        probe = subprocess.run(
            [str(self.bin_dir / "pg_config"), "--configure"], capture_output=True, text=True
        )
        return "--with-icu" in probe.stdout

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self._pg("pg_ctl", "stop", "-D", str(self.data), "-m", "immediate", "-w")
        shutil.rmtree(self.root, ignore_errors=True)

    def dsn(self, database: str = "postgres") -> str:
        """A libpq connection string, for checks made with psycopg behind the server's back."""
        return f"host=127.0.0.1 port={self.port} user={SUPERUSER} dbname={database}"

    def create_database(self, name: str) -> str:
        """A fresh, empty database; returns its SQLAlchemy URL."""
        with psycopg.connect(self.dsn(), autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://{SUPERUSER}@127.0.0.1:{self.port}/{database}"


@contextmanager
def running_cluster(bin_dir: Path) -> Iterator[Cluster]:
    cluster = Cluster(bin_dir)
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()
