"""A TinyTrail server (or the empty-handler app) as a child process: start, probe, stop."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType

import httpx

ADMIN_KEY = "tt_bench_admin_key_0123456789abcdef"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def memory_kib(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM (peak resident set) of a process, in KiB; empty once it is gone."""
    found: dict[str, int] = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                found[key] = int(value.split()[0])
    except OSError:
        pass
    return found


class Process:
    """A child process serving HTTP on a free loopback port, logging to a file."""

    def __init__(self, argv: list[str], log: Path, env: dict[str, str] | None = None) -> None:
        self.argv = argv
        self.log = log
        self.env = {**os.environ, **(env or {})}
        self.port = free_port()
        self.env["TINYTRAIL_PORT"] = str(self.port)
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def start(self, ready_path: str, timeout: float = 120) -> float:
        """Start and wait until `ready_path` answers 200; returns the seconds that took."""
        self.log.parent.mkdir(parents=True, exist_ok=True)
        started = time.monotonic()
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                [*self.argv, "--port", str(self.port)],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = started + timeout
        with httpx.Client(timeout=1) as client:
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"{self.argv[-1]} exited early; see {self.log}")
                try:
                    if client.get(self.url + ready_path).status_code == 200:
                        return time.monotonic() - started
                except httpx.HTTPError:
                    pass
                time.sleep(0.01)
        self.stop()
        raise RuntimeError(f"not ready after {timeout} s; see {self.log}")

    def memory(self) -> dict[str, int]:
        return memory_kib(self.pid) if self.proc is not None else {}

    def stop(self, timeout: float = 120) -> None:
        """SIGTERM (the server checkpoints its store), then SIGKILL if it hangs."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=30)

    def __enter__(self) -> Process:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.stop()


def tinytrail(data_dir: Path, log: Path, **env: str) -> Process:
    """`tinytrail serve` on `data_dir` with rate limits off and the bench's admin key."""
    settings = {
        "TINYTRAIL_DATA_DIR": str(data_dir),
        "TINYTRAIL_ADMIN_API_KEY": ADMIN_KEY,
        "TINYTRAIL_RATE_LIMITS": "off",
        "TINYTRAIL_TRUSTED_PROXIES": "127.0.0.1",
        "TINYTRAIL_LOG_LEVEL": "warning",
        **env,
    }
    return Process([sys.executable, "-m", "tinytrail.cli", "serve"], log, settings)


def empty_app(log: Path) -> Process:
    return Process([sys.executable, "-m", "bench.empty_app"], log)
