"""Moves accepted events from memory into the event store, and the log out of the way.

Runs on its own thread every `flush_interval_ms`, so collectors never wait on a store insert.
After the store commits a batch, the log segments that held it are deleted. If a commit fails
the batch is kept and retried with the next one; the log keeps it meanwhile, so even a crash in
between loses nothing. On start-up, `recover` replays what the log holds beyond the store's last
committed sequence number.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime

from tinytrail.ingest.model import Event
from tinytrail.ingest.pipeline import Ingestor
from tinytrail.ingest.sessions import Visit
from tinytrail.ingest.wal import clear_segments, read_segments
from tinytrail.storage.duckdb_store import DuckDBStore
from tinytrail.timeutil import to_us, utcnow

log = logging.getLogger(__name__)


def recover(store: DuckDBStore, ingestor: Ingestor, known_sites: set[int]) -> int:
    """Replay logged events the store lacks, then empty the log; returns how many.

    Events of sites deleted since they were logged are skipped.
    """
    stored = store.flushed_seq()
    missing = [
        e
        for e in read_segments(ingestor.wal.directory)
        if e.seq > stored and e.site_id in known_sites
    ]
    if missing:
        touched = ingestor.replay(missing)
        store.commit_batch(missing, touched, [], ingestor.last_seq)
        log.info("replayed %d events from the write-ahead log", len(missing))
    ingestor.wal.rotate()
    clear_segments(ingestor.wal.directory, keep_current=ingestor.wal.current_path)
    return len(missing)


class Flusher:
    def __init__(
        self,
        store: DuckDBStore,
        ingestor: Ingestor,
        interval_ms: int,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.store = store
        self.clock = clock
        self.ingestor = ingestor
        self.interval = max(interval_ms, 10) / 1000
        self.healthy = True
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._carry: tuple[list[Event], dict[int, Visit], list[Visit]] | None = None
        self._thread = threading.Thread(target=self._run, name="tinytrail-flusher", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.flush()
                self.healthy = True
            except Exception:
                self.healthy = False
                log.exception("flush to the event store failed; will retry, the log keeps it")

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
            try:
                self.store.commit_batch(events, list(touched.values()), closed, max_seq)
            except BaseException:
                self._carry = (events, touched, closed)
                raise
            self._carry = None
            self.ingestor.wal.rotate()
            self.ingestor.wal.release_through(max_seq)
            return len(events)

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=30)
        self.flush()
