"""The write-ahead log: what makes a 202 a promise.

Collectors append enriched events (nothing personal: no IP, no User-Agent) to an in-memory
buffer; one writer thread writes the buffer as a checksummed frame and fsyncs it, then wakes
every request waiting on that batch (group commit: one fsync serves every request that arrived
meanwhile). Only then is 202 answered. The flusher copies events into the event store and,
once the store has committed them, deletes the segments they lived in. On start, frames whose
events the store lacks are replayed; a torn frame at the tail (crash mid-write) was never
acknowledged, so it is dropped.
"""

from __future__ import annotations

import asyncio
import logging
import os
import struct
import threading
import zlib
from collections.abc import Iterator
from io import BufferedWriter
from pathlib import Path

import msgspec

from tinytrail.ingest.model import Event

log = logging.getLogger(__name__)

_HEADER = struct.Struct("<II")  # payload length, crc32
_ENCODER = msgspec.msgpack.Encoder()
_DECODER = msgspec.msgpack.Decoder(list[Event])
SEGMENT_BYTES = 64 * 1024 * 1024
_Waiter = tuple[int, "asyncio.Future[None]", asyncio.AbstractEventLoop]
IDLE_WAKE = 0.005  # seconds: how soon events nobody waits for (bots) are written anyway


class WriteAheadLog:
    def __init__(self, directory: Path, fsync: bool = True) -> None:
        self.directory = directory
        self.fsync = fsync
        directory.mkdir(parents=True, exist_ok=True)
        self._cond = threading.Condition()
        self._pending: list[Event] = []
        self._appended = 0  # tickets handed out
        self._durable = 0  # tickets on disk
        self._waiters: list[_Waiter] = []
        self._segment_max_seq: dict[Path, int] = {}
        self._closed = False
        self._kick_scheduled = False  # touched only by the event loop's thread
        self._io_lock = threading.Lock()  # the writer thread and rotate() share the file
        self._error: BaseException | None = None
        self._file = self._open_segment()
        self._thread = threading.Thread(target=self._run, name="tinytrail-wal", daemon=True)
        self._thread.start()

    # -- appending --------------------------------------------------------------------------

    def append(self, events: list[Event]) -> int:
        """Queue events for the next group commit; returns the ticket to wait for.

        The writer is not woken here: waking a thread per event costs more than the event's
        whole enrichment. A waiter wakes it once per event-loop turn (see `wait`), and it also
        looks for unawaited events on its own every few milliseconds.
        """
        with self._cond:
            if self._closed:
                raise RuntimeError("write-ahead log is closed")
            self._pending.extend(events)
            self._appended += 1
            return self._appended

    async def wait(self, ticket: int) -> None:
        """Return once the batch holding `ticket` is on disk (raises if the write failed)."""
        loop = asyncio.get_running_loop()
        with self._cond:
            if self._error is not None:
                raise RuntimeError("write-ahead log failed") from self._error
            if self._durable >= ticket:
                return
            future: asyncio.Future[None] = loop.create_future()
            self._waiters.append((ticket, future, loop))
        if not self._kick_scheduled:
            # After every request of this loop turn has appended: one wake-up for all of them.
            self._kick_scheduled = True
            loop.call_soon(self._kick)
        await future

    def _kick(self) -> None:
        self._kick_scheduled = False
        with self._cond:
            self._cond.notify()

    def wait_sync(self, ticket: int, timeout: float = 30.0) -> None:
        with self._cond:
            self._cond.notify()
            if not self._cond.wait_for(
                lambda: self._durable >= ticket or self._error is not None, timeout
            ):
                raise TimeoutError("write-ahead log did not sync in time")
            if self._error is not None:
                raise RuntimeError("write-ahead log failed") from self._error

    # -- the writer thread ------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._pending or self._closed, timeout=IDLE_WAKE)
                if not self._pending:
                    if self._closed:
                        return
                    continue
                batch, self._pending = self._pending, []
                ticket = self._appended
            try:
                with self._io_lock:
                    self._write_frame(batch)
            except BaseException as exc:  # disk full, I/O error: fail loudly, never ack
                log.exception("write-ahead log write failed")
                with self._cond:
                    self._error = exc
                    self._cond.notify_all()
                self._wake(ticket, exc)
                return
            with self._cond:
                self._durable = ticket
                self._cond.notify_all()
            self._wake(ticket, None)

    def _write_frame(self, batch: list[Event]) -> None:
        payload = _ENCODER.encode(batch)
        self._file.write(_HEADER.pack(len(payload), zlib.crc32(payload)) + payload)
        self._file.flush()
        if self.fsync:
            os.fsync(self._file.fileno())
        path = Path(self._file.name)
        self._segment_max_seq[path] = max(self._segment_max_seq.get(path, 0), batch[-1].seq)
        if self._file.tell() > SEGMENT_BYTES:
            self._file.close()
            self._file = self._open_segment()

    def _wake(self, ticket: int, error: BaseException | None) -> None:
        with self._cond:
            ready: list[_Waiter] = []
            waiting: list[_Waiter] = []
            for waiter in self._waiters:
                (ready if waiter[0] <= ticket or error is not None else waiting).append(waiter)
            self._waiters = waiting
        by_loop: dict[asyncio.AbstractEventLoop, list[asyncio.Future[None]]] = {}
        for _, future, loop in ready:
            by_loop.setdefault(loop, []).append(future)
        for loop, futures in by_loop.items():
            loop.call_soon_threadsafe(_resolve, futures, error)

    # -- segments ---------------------------------------------------------------------------

    def _open_segment(self) -> BufferedWriter:
        existing = sorted(self.directory.glob("*.wal"))
        number = int(existing[-1].stem) + 1 if existing else 1
        path = self.directory / f"{number:012d}.wal"
        return open(path, "ab")

    @property
    def current_path(self) -> Path:
        with self._io_lock:
            return Path(self._file.name)

    def release_through(self, seq: int) -> None:
        """Delete closed segments whose events all reached the store (seq <= `seq`)."""
        with self._io_lock:
            current = Path(self._file.name)
            for path, max_seq in list(self._segment_max_seq.items()):
                if path != current and max_seq <= seq:
                    path.unlink(missing_ok=True)
                    del self._segment_max_seq[path]

    def rotate(self) -> None:
        """Start a new segment so the current one can be released after the next flush."""
        with self._io_lock:
            if self._file.tell() > 0:
                self._file.close()
                self._file = self._open_segment()

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        self._thread.join(timeout=10)
        with self._io_lock:
            self._file.close()


def _resolve(futures: list[asyncio.Future[None]], error: BaseException | None) -> None:
    for future in futures:
        if future.done():
            continue
        if error is None:
            future.set_result(None)
        else:
            future.set_exception(RuntimeError("write-ahead log failed"))


def read_segments(directory: Path) -> Iterator[Event]:
    """Every event in the log, oldest first; stops at the first torn or corrupt frame."""
    for path in sorted(directory.glob("*.wal")):
        data = path.read_bytes()
        offset = 0
        while offset + _HEADER.size <= len(data):
            length, crc = _HEADER.unpack_from(data, offset)
            start, end = offset + _HEADER.size, offset + _HEADER.size + length
            if end > len(data) or zlib.crc32(data[start:end]) != crc:
                log.warning("write-ahead log %s: torn frame at byte %d ignored", path.name, offset)
                break
            yield from _DECODER.decode(data[start:end])
            offset = end


def clear_segments(directory: Path, keep_current: Path | None = None) -> None:
    for path in directory.glob("*.wal"):
        if path != keep_current:
            path.unlink(missing_ok=True)
