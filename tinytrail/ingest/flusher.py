"""Moves accepted events from memory into the event store, and the log out of the way.

Runs on its own thread every `flush_interval_ms`, so collectors never wait on a store insert;
sooner when events pile up faster than that (`Flusher.hurry_at`).
After the store commits a batch, the log segments that held it are deleted. If a commit fails
the batch is kept and retried with the next one; the log keeps it meanwhile, so even a crash in
between loses nothing. On start-up, `recover` replays what the log holds beyond the store's last
committed sequence number.

A batch the store keeps refusing (one event it cannot take must not stop ingestion for good)
is taken apart after a few tries: the events it can take are committed in log order, the
ones it cannot are set aside in the log's `damaged/` folder with the reason logged, never
silently dropped. Failures of the machine rather than of the data (disk full, I/O errors, out
of memory) never set anything aside: what is left of the batch waits for the next try.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from tinytrail.ingest.model import Event
from tinytrail.ingest.pipeline import Ingestor
from tinytrail.ingest.sessions import Visit
from tinytrail.ingest.wal import clear_segments, read_segments, set_aside, write_rejected
from tinytrail.storage.duckdb_store import MACHINE_FAILURES, DuckDBStore
from tinytrail.timeutil import to_us, utcnow

log = logging.getLogger(__name__)
ISOLATE_AFTER = 3  # failed commits of the same batch before it is taken apart
# The flusher thread's nice value (Linux): below the threads that answer requests.
FLUSHER_NICENESS = 10
# Fewer pending events than this are never flushed ahead of the interval: a batch worth the
# early commit (and, with a small TINYTRAIL_MAX_BACKLOG, the bound alone holds collectors).
HURRY_FLOOR = 10_000


def _yield_to_requests() -> None:
    """Lower this thread's CPU priority, so that commits and the store's checkpoints (up to
    a second of CPU now and then) do not delay the answers to collectors on a busy machine.

    With the flusher at nice 10, the p99 latency of /api/event at 5,000 events/s went from
    ~20-38 ms to ~15 ms on the 2-core bench machine, with the same throughput and no backlog
    (it needs ~10 us of CPU per event, well within its share). Linux only: elsewhere the call
    would lower the whole process.
    """
    if not sys.platform.startswith("linux"):
        return
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), FLUSHER_NICENESS)
    except OSError:  # not allowed here (some containers): run at the normal priority
        log.debug("could not lower the flusher's priority", exc_info=True)


def recover(store: DuckDBStore, ingestor: Ingestor, known_sites: set[int]) -> int:
    """Replay logged events the store lacks, then empty the log; returns how many.

    Events of sites deleted since they were logged are skipped.
    """
    stored = store.flushed_seq()
    damaged: list[Path] = []
    directory = ingestor.wal.directory
    missing = [
        e for e in read_segments(directory, damaged) if e.seq > stored and e.site_id in known_sites
    ]
    if missing:
        touched = ingestor.replay(missing)
        try:
            store.commit_batch(missing, touched, [], ingestor.last_seq)
        except Exception:
            log.exception("replaying the write-ahead log failed; committing it piece by piece")
            commit_in_pieces(store, directory, missing, touched, [], ingestor.last_seq)
        log.info("replayed %d events from the write-ahead log", len(missing))
    ingestor.wal.rotate()
    set_aside(directory, damaged)
    clear_segments(directory, keep_current=ingestor.wal.current_path)
    return len(missing)


class Unfinished(Exception):
    """The machine failed part-way through a batch; what is left of it, to try again."""

    def __init__(self, events: list[Event], touched: list[Visit], closed: list[Visit]) -> None:
        super().__init__(f"{len(events)} events left")
        self.events, self.touched, self.closed = events, touched, closed


def commit_in_pieces(
    store: DuckDBStore,
    log_directory: Path,
    events: list[Event],
    touched: list[Visit],
    closed: list[Visit],
    max_seq: int | None,
) -> int:
    """Commit a batch the store refused as a whole; returns how many events were set aside.

    Halves are tried in log order, down to single events; each committed piece records its
    last sequence number, so a crash meanwhile replays only what follows it. Visits go
    first, on their own (they are rewritten at every flush; a bad one is logged and left).
    Raises `Unfinished` with what is left when the machine rather than the data fails.
    """
    try:
        store.commit_batch([], touched, closed, None)
    except MACHINE_FAILURES as exc:
        raise Unfinished(events, touched, closed) from exc
    except Exception:
        log.exception("the visits of a refused batch could not be stored either; left out")
    rejected: list[tuple[Event, str]] = []

    def commit(part: list[Event]) -> None:
        try:
            store.commit_batch(part, [], [], part[-1].seq if max_seq is not None else None)
        except MACHINE_FAILURES as exc:
            raise Unfinished([e for e in events if e.seq >= part[0].seq], [], []) from exc
        except Exception as exc:
            if len(part) == 1:
                rejected.append((part[0], f"{type(exc).__name__}: {exc}"))
                return
            middle = len(part) // 2
            commit(part[:middle])
            commit(part[middle:])

    if events:
        commit(events)
    if max_seq is not None:
        try:
            store.commit_batch([], [], [], max_seq)
        except Exception as exc:
            # Every piece is committed: only the refused events are left (never the
            # committed ones, which a retry would store twice).
            raise Unfinished([event for event, _ in rejected], [], []) from exc
    if rejected:
        kept = [event for event, _ in rejected]
        try:
            path = write_rejected(log_directory, kept)
        except OSError as exc:  # not even that can be written: keep them for the next try
            raise Unfinished(kept, [], []) from exc
        log.error(
            "the event store refused %d event(s), kept in %s; first reason: %s",
            len(rejected),
            path,
            rejected[0][1],
        )
    return len(rejected)


class Flusher:
    def __init__(
        self,
        store: DuckDBStore,
        ingestor: Ingestor,
        interval_ms: int,
        clock: Callable[[], datetime] = utcnow,
        max_backlog: int = 0,
    ) -> None:
        self.store = store
        self.clock = clock
        self.ingestor = ingestor
        self.interval = max(interval_ms, 10) / 1000
        # A quarter of the backlog's bound (TINYTRAIL_MAX_BACKLOG; 0: none) is flushed at once
        # rather than at the next tick: under GoatCounter batches (60,000 events/s and more)
        # the flusher otherwise idled through each interval while collectors were held at
        # the bound.
        self.hurry_at = max(max_backlog // 4, HURRY_FLOOR) if max_backlog > 0 else sys.maxsize
        self.healthy = True
        # Events taken from the ingestor that the store has not committed yet (the batch
        # being written, or one carried over after a failure): part of the backlog.
        self.in_hand = 0
        self._stop = threading.Event()
        self._wake = threading.Event()  # set to flush before the interval is over
        self._lock = threading.Lock()
        self._carry: tuple[list[Event], dict[int, Visit], list[Visit]] | None = None
        self._failures = 0  # consecutive failed commits (of the carried batch)
        self._thread = threading.Thread(target=self._run, name="tinytrail-flusher", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        _yield_to_requests()
        while True:
            self._wake.wait(self.interval)
            self._wake.clear()
            if self._stop.is_set():
                return
            try:
                self.flush()
                self.healthy = True
            except Exception:
                self.healthy = False
                log.exception("flush to the event store failed; will retry, the log keeps it")
                # A failing store is retried once an interval, however big the backlog
                # grows (collectors keep nudging): not in a loop that would hammer it.
                if self._stop.wait(self.interval):
                    return

    def flush(self) -> int:
        """Commit everything accepted so far; returns the number of events written."""
        with self._lock:
            events, touched_list, closed, max_seq = self.ingestor.take_pending(to_us(self.clock()))
            touched = {v.session_id: v for v in touched_list}
            if self._carry is not None:
                old_events, old_touched, old_closed = self._carry
                events = old_events + events
                touched = {**old_touched, **touched}
                closed = old_closed + closed
            if not events and not touched and not closed:
                return 0
            self.in_hand = len(events)
            try:
                self.store.commit_batch(events, list(touched.values()), closed, max_seq)
            except Exception:
                self._failures += 1
                if self._failures < ISOLATE_AFTER:
                    self._carry = (events, touched, closed)
                    raise
                log.exception("the event store refused the same batch %d times", self._failures)
                directory = self.ingestor.wal.directory
                try:
                    commit_in_pieces(
                        self.store, directory, events, list(touched.values()), closed, max_seq
                    )
                except Unfinished as left:
                    touched_left = {v.session_id: v for v in left.touched}
                    self._carry = (left.events, touched_left, left.closed)
                    self.in_hand = len(left.events)
                    raise
            self._failures = 0
            self._carry = None
            self.in_hand = 0
            self.ingestor.wal.rotate()
            self.ingestor.wal.release_through(max_seq)
            return len(events)

    def backlog(self) -> int:
        """Accepted events not in the store yet: waiting in the ingestor, or in hand here."""
        return len(self.ingestor.pending_events) + self.in_hand

    def nudge(self) -> None:
        """Called by collectors after accepting events: flush now if they pile up."""
        if len(self.ingestor.pending_events) >= self.hurry_at:
            self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout=30)
        self.flush()
