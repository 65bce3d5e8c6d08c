"""Periodic tasks, in one table: what runs, how often."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass

from tinytrail.runtime import Runtime

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Job:
    name: str
    every_seconds: float
    run: Callable[[Runtime], object]


JOBS: tuple[Job, ...] = (
    # Salts older than any timezone's yesterday are deleted: ids can no longer be linked.
    Job("forget-old-salts", 3600, lambda rt: rt.forget_old_salts()),
    # Daily rollups of closed days: checked often, cheap when there is nothing to do.
    Job("aggregate-closed-days", 900, lambda rt: rt.aggregate_pending()),
    # GoatCounter export files are kept for 24 hours (their rows stay, answering 400 "deleted").
    Job("goatcounter-export-cleanup", 3600, lambda rt: rt.goatcounter.exports.cleanup()),
    Job(
        "dashboard-sessions-expiry",
        3600,
        lambda rt: rt.dashboard_sessions.purge_expired(rt.clock()),
    ),
)


async def run_jobs(runtime: Runtime) -> None:
    """Run each job once at start, then on its interval, on a worker thread."""
    next_run = dict.fromkeys((job.name for job in JOBS), 0.0)
    loop = asyncio.get_running_loop()
    while True:
        now = loop.time()
        for job in JOBS:
            if now >= next_run[job.name]:
                next_run[job.name] = now + job.every_seconds
                try:
                    await asyncio.to_thread(job.run, runtime)
                except Exception:
                    log.exception("job %s failed", job.name)
        await asyncio.sleep(5)
