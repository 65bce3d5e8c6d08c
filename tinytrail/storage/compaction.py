"""`tinytrail compact`: rewrite the event store into a fresh file, without its free space.

DuckDB reuses the blocks that deletes and rewrites free (a deleted site, rollups built again,
the last row group rewritten at each checkpoint of a growing table), but never gives them back
to the file system, and appends leave blocks partly filled. A fresh copy packs every table
tightly: after the benchmark's import of 10 million events, 9% of the file was such space.

The copy is made next to the store, checked from disk, and swapped in with one rename: a crash
leaves the old file or the new one (and perhaps a copy, `events.duckdb.compacting`, which the
next run removes). The server must be stopped. DuckDB lets one process hold the file, and
from the moment DuckDB lets go of it until the rename, this process holds the same lock, so
nothing can open the old file and write to it in between.
"""

from __future__ import annotations

import fcntl
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb

COPY_SUFFIX = ".compacting"


class CompactionError(Exception):
    """Compaction stopped; `replaced` says whether the store was already swapped."""

    def __init__(self, message: str, replaced: bool = False) -> None:
        super().__init__(message)
        self.replaced = replaced


@dataclass(frozen=True)
class Compacted:
    before: int  # bytes, once DuckDB's own log was folded in
    after: int


def compact(path: Path, memory_limit: str = "160MB") -> Compacted:
    """Replace the DuckDB file at `path` with a compact copy of it.

    Raises CompactionError (the store unchanged unless it says `replaced`), duckdb.Error
    (another process holds the file, the disk is full, ...) or OSError; on any error before
    the swap, the copy is removed.
    """
    copy = path.with_name(path.name + COPY_SUFFIX)
    _remove(copy)
    try:
        before, counts, stamp = _copy(path, copy, memory_limit)
        with _held(path, stamp):
            _check_copy(copy, counts)
            shutil.copymode(path, copy)
            owner, made = path.stat(), copy.stat()
            if (owner.st_uid, owner.st_gid) != (made.st_uid, made.st_gid):
                os.chown(copy, owner.st_uid, owner.st_gid)  # the server's user must open it
            _sync(copy)
            os.replace(copy, path)
    except BaseException:
        _remove(copy)
        raise
    try:
        _sync(path.parent)
        return Compacted(before, path.stat().st_size)
    except OSError as exc:
        raise CompactionError(f"the store was replaced, then: {exc}", replaced=True) from exc


def _copy(path: Path, copy: Path, memory_limit: str) -> tuple[int, dict[str, int], tuple[int, int]]:
    """Write the copy; returns the store's size, each table's row count, and the store's
    size and modification time once DuckDB let go of it."""
    con = duckdb.connect(str(path), config={"memory_limit": memory_limit})
    try:
        con.execute("SET enable_progress_bar = false")  # a command's output, not a terminal's
        con.execute("CHECKPOINT")  # DuckDB's own log folded in: the copy reads every commit
        before = path.stat().st_size
        source = con.execute("SELECT current_database()").fetchall()[0][0]
        counts = _row_counts(con, source)
        con.execute("ATTACH ? AS compacted", [str(copy)])
        # Rows keep their order (DuckDB preserves insertion order), and with it the runs of
        # times and ids that compress well.
        con.execute(f'COPY FROM DATABASE "{source}" TO compacted')
        # Explicitly: DETACH would only log a checkpoint that failed (a full disk, say),
        # leaving the rows in the copy's log, which the rename would then orphan.
        con.execute("CHECKPOINT compacted")
        con.execute("DETACH compacted")
    finally:
        con.close()
    stat = path.stat()
    for log in (path, copy):
        if _log_of(log).exists():
            raise CompactionError(f"{_log_of(log)} was left behind; the store is unchanged")
    return before, counts, (stat.st_size, stat.st_mtime_ns)


def _check_copy(copy: Path, counts: dict[str, int]) -> None:
    """The copy, opened afresh from disk, holds every table with all its rows."""
    con = duckdb.connect(str(copy), read_only=True)
    try:
        found = _row_counts(con, con.execute("SELECT current_database()").fetchall()[0][0])
    finally:
        con.close()
    for table, rows in counts.items():
        if found.get(table) != rows:
            raise CompactionError(
                f"{table}: {rows} rows, {found.get(table)} in the copy; the store is unchanged"
            )


def _row_counts(con: duckdb.DuckDBPyConnection, database: str) -> dict[str, int]:
    tables = con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE database_name = ?", [database]
    ).fetchall()
    return {
        table: con.execute(f'SELECT count(*) FROM "{database}".main."{table}"').fetchall()[0][0]
        for (table,) in tables
    }


@contextmanager
def _held(path: Path, stamp: tuple[int, int]) -> Iterator[None]:
    """The lock DuckDB takes on the file (a POSIX write lock on all of it), held by us, on
    the file as DuckDB left it (`stamp`: its size and modification time then)."""
    fd = os.open(path, os.O_RDWR)
    try:
        try:
            fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            raise CompactionError(
                "another process opened the store during compaction; it is unchanged"
            ) from exc
        stat = os.fstat(fd)
        if (stat.st_size, stat.st_mtime_ns) != stamp:
            raise CompactionError(
                "another process wrote to the store during compaction; it is unchanged"
            )
        yield
    finally:
        os.close(fd)  # releases the lock


def _log_of(path: Path) -> Path:
    return path.with_name(path.name + ".wal")


def _remove(copy: Path) -> None:
    for leftover in (copy, _log_of(copy)):
        leftover.unlink(missing_ok=True)


def _sync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
