"""The write-ahead log: what makes a 202 a promise.

Collectors append enriched events (nothing personal: no IP, no User-Agent) to an in-memory
buffer; one writer thread writes the buffer as a checksummed frame and fsyncs it, then wakes
every request waiting on that batch (group commit: one fsync serves every request that arrived
meanwhile). Only then is 202 answered. The flusher copies events into the event store and,
once the store has committed them, deletes the segments they lived in. On start, frames whose
events the store lacks are replayed; a torn frame at the tail (crash mid-write) was never
acknowledged, so it is dropped. A frame damaged inside a segment (a bad disk block) is skipped,
the frames after it are still replayed, and the segment is kept in `damaged/` for a person.

A write that fails (disk full, I/O error) fails only the requests waiting on it; the next write
goes to a fresh segment, so ingestion resumes by itself once the disk works again.
"""

from __future__ import annotations

import asyncio
import contextlib
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


class LogUnavailable(RuntimeError):
    """The log could not write a batch (disk full or broken): its events were not acknowledged."""


class WriteAheadLog:
    def __init__(self, directory: Path, fsync: bool = True) -> None:
        self.directory = directory
        self.fsync = fsync
        directory.mkdir(parents=True, exist_ok=True)
        # A plain lock under the condition: appending and waiting take it directly (twice per
        # request), which costs half of entering the condition through its Python wrapper.
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        self._pending: list[Event] = []
        self._appended = 0  # tickets handed out
        self._durable = 0  # tickets on disk
        self._waiters: list[_Waiter] = []
        self._segment_max_seq: dict[Path, int] = {}
        self._closed = False
        self._kick_scheduled = False  # touched only by the event loop's thread
        self._io_lock = threading.Lock()  # the writer thread and rotate() share the file
        self._failing = False  # the last write failed
        self._failed: list[tuple[int, int]] = []  # ticket ranges of the last failed writes
        self._last_number = 0
        self._file: BufferedWriter | None = self._open_segment()
        self._thread = threading.Thread(target=self._run, name="tinytrail-wal", daemon=True)
        self._thread.start()

    # -- appending --------------------------------------------------------------------------

    def append(self, events: list[Event]) -> int:
        """Queue events for the next group commit; returns the ticket to wait for.

        The writer is not woken here: waking a thread per event costs more than the event's
        whole enrichment. A waiter wakes it once per event-loop turn (see `wait`), and it also
        looks for unawaited events on its own every few milliseconds.
        """
        with self._lock:
            if self._closed:
                raise RuntimeError("write-ahead log is closed")
            self._pending.extend(events)
            self._appended += 1
            return self._appended

    async def wait(self, ticket: int) -> None:
        """Return once the batch holding `ticket` is on disk (raises if the write failed)."""
        future = self.durable(ticket)
        if future is not None:
            await future

    def durable(self, ticket: int) -> asyncio.Future[None] | None:
        """`wait` as a future to await (None when already on disk), for the collectors: one
        coroutine less per event."""
        loop = asyncio.get_running_loop()
        with self._lock:
            if self._durable >= ticket:
                return None
            future: asyncio.Future[None] = loop.create_future()
            self._waiters.append((ticket, future, loop))
        if not self._kick_scheduled:
            # After every request of this loop turn has appended: one wake-up for all of them.
            self._kick_scheduled = True
            loop.call_soon(self._kick)
        return future

    def _kick(self) -> None:
        self._kick_scheduled = False
        with self._cond:
            self._cond.notify()

    def wait_sync(self, ticket: int, timeout: float = 30.0) -> None:
        with self._cond:
            self._cond.notify()
            if not self._cond.wait_for(lambda: self._durable >= ticket, timeout):
                raise TimeoutError("write-ahead log did not sync in time")
            if any(first <= ticket <= last for first, last in self._failed):
                raise LogUnavailable("write-ahead log failed")

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
            except Exception as exc:  # disk full, I/O error: fail loudly, never ack
                log.exception("write-ahead log write failed")
                with self._cond:
                    self._failing = True
                    self._failed = [*self._failed[-99:], (self._durable + 1, ticket)]
                    self._durable = ticket  # answered (with an error): nobody waits on them
                    self._cond.notify_all()
                self._wake(ticket, exc)
                # The frame may be half written: later frames go to a fresh segment, where
                # replay will find them (it stops at a torn frame within a segment).
                self._abandon_segment()
                continue
            with self._cond:
                self._failing = False  # the disk works (again)
                self._durable = ticket
                self._cond.notify_all()
            self._wake(ticket, None)

    @property
    def healthy(self) -> bool:
        """False while writes fail (full or broken disk): collectors then answer errors."""
        return not self._failing

    def _write_frame(self, batch: list[Event]) -> None:
        if self._file is None:
            self._file = self._open_segment()
        payload = _ENCODER.encode(batch)
        self._file.write(_HEADER.pack(len(payload), zlib.crc32(payload)) + payload)
        self._file.flush()
        if self.fsync:
            os.fsync(self._file.fileno())
        path = Path(self._file.name)
        self._segment_max_seq[path] = max(self._segment_max_seq.get(path, 0), batch[-1].seq)
        if self._file.tell() > SEGMENT_BYTES:
            try:
                self._switch_segment()
            except OSError:  # the frame is on disk: this batch succeeded all the same
                log.exception("write-ahead log: no new segment; the current one stays open")

    def _switch_segment(self) -> None:
        """Open the next segment, then close the current one (which stays if opening fails)."""
        fresh = self._open_segment()
        if self._file is not None:
            self._file.close()
        self._file = fresh

    def _abandon_segment(self) -> None:
        with self._io_lock:
            if self._file is not None:
                with contextlib.suppress(OSError):
                    self._file.close()
                self._file = None  # the next write opens a new segment

    def _wake(self, ticket: int, error: BaseException | None) -> None:
        with self._cond:
            ready: list[_Waiter] = []
            waiting: list[_Waiter] = []
            for waiter in self._waiters:
                (ready if waiter[0] <= ticket else waiting).append(waiter)
            self._waiters = waiting
        by_loop: dict[asyncio.AbstractEventLoop, list[asyncio.Future[None]]] = {}
        for _, future, loop in ready:
            by_loop.setdefault(loop, []).append(future)
        for loop, futures in by_loop.items():
            loop.call_soon_threadsafe(_resolve, futures, error)

    # -- segments ---------------------------------------------------------------------------

    def _open_segment(self) -> BufferedWriter:
        existing = segments(self.directory)
        number = int(existing[-1].stem) + 1 if existing else 1
        self._last_number = max(number, self._last_number + 1)
        path = self.directory / f"{self._last_number:012d}.wal"
        return open(path, "ab")

    @property
    def current_path(self) -> Path | None:
        with self._io_lock:
            return Path(self._file.name) if self._file is not None else None

    def release_through(self, seq: int) -> None:
        """Delete closed segments whose events all reached the store (seq <= `seq`)."""
        with self._io_lock:
            current = Path(self._file.name) if self._file is not None else None
            for path, max_seq in list(self._segment_max_seq.items()):
                if path != current and max_seq <= seq:
                    path.unlink(missing_ok=True)
                    del self._segment_max_seq[path]

    def rotate(self) -> None:
        """Start a new segment so the current one can be released after the next flush."""
        with self._io_lock:
            if self._file is None or self._file.tell() == 0:
                return
            try:
                self._switch_segment()
            except OSError:
                log.exception("write-ahead log: no new segment; the current one stays open")

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        self._thread.join(timeout=10)
        with self._io_lock:
            if self._file is not None:
                with contextlib.suppress(OSError):
                    self._file.close()


def _resolve(futures: list[asyncio.Future[None]], error: BaseException | None) -> None:
    for future in futures:
        if future.done():
            continue
        if error is None:
            future.set_result(None)
        else:
            future.set_exception(LogUnavailable("write-ahead log failed"))


def segments(directory: Path) -> list[Path]:
    """The log's segment files, oldest first (other files in the folder are not ours)."""
    found = [p for p in directory.glob("*.wal") if p.stem.isdigit()]
    return sorted(found, key=lambda p: int(p.stem))


def read_segments(directory: Path, damaged: list[Path] | None = None) -> Iterator[Event]:
    """Every event in the log, oldest first.

    A torn frame at a segment's end (a crash mid-write, never acknowledged) ends that segment.
    A damaged frame inside one (checksum or contents wrong, length plausible) is skipped and
    the frames after it are still read; segments with such damage are listed in `damaged`, to
    be kept aside instead of deleted.
    """
    for path in segments(directory):
        yield from read_file(path, damaged)


def read_file(path: Path, damaged: list[Path] | None = None) -> Iterator[Event]:
    """The events of one log file (a segment, or events the store refused)."""
    data = path.read_bytes()
    offset = 0
    while offset + _HEADER.size <= len(data):
        length, crc = _HEADER.unpack_from(data, offset)
        start, end = offset + _HEADER.size, offset + _HEADER.size + length
        if end > len(data) or length == 0:
            log.warning("write-ahead log %s: torn frame at byte %d ignored", path.name, offset)
            break
        try:
            if zlib.crc32(data[start:end]) != crc:
                raise ValueError("checksum mismatch")
            events = _DECODER.decode(data[start:end])
        except (ValueError, msgspec.DecodeError) as exc:
            log.error("write-ahead log %s: damaged frame at %d: %s", path.name, offset, exc)
            if damaged is not None and path not in damaged:
                damaged.append(path)
            offset = end
            continue
        yield from events
        offset = end


def clear_segments(directory: Path, keep_current: Path | None = None) -> None:
    for path in segments(directory):
        if path != keep_current:
            path.unlink(missing_ok=True)


def write_rejected(directory: Path, events: list[Event]) -> Path:
    """Keep events the store refused, as one log frame in `damaged/`, for a person to look at."""
    aside = directory / "damaged"
    aside.mkdir(parents=True, exist_ok=True)
    path = aside / f"rejected-{events[0].seq:012d}.wal"
    payload = _ENCODER.encode(events)
    with open(path, "wb") as out:
        out.write(_HEADER.pack(len(payload), zlib.crc32(payload)) + payload)
        out.flush()
        os.fsync(out.fileno())
    return path


def set_aside(directory: Path, paths: list[Path]) -> None:
    """Move damaged segments into `damaged/` for a person to look at, instead of deleting them."""
    if not paths:
        return
    aside = directory / "damaged"
    aside.mkdir(parents=True, exist_ok=True)
    for path in paths:
        path.rename(aside / path.name)
