"""`tinytrail compact`: rewrite the event store into a fresh file, without its free space.

DuckDB reuses the blocks that deletes and rewrites free (a deleted site, rollups built again,
the last row group rewritten at each checkpoint of a growing table), but never gives them back
to the file system, and appends leave blocks partly filled. A fresh copy packs every table
tightly: after the benchmark's import of 10 million events, 8% of the file was such space.

The copy is made next to the store and swapped in with one rename once it is complete and on
disk: a crash leaves either the old file or the new one, and a leftover copy is removed by the
next run. The server must be stopped; DuckDB lets one process hold the file.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import duckdb

COPY_SUFFIX = ".compacting"


class CompactionError(Exception):
    pass


@dataclass(frozen=True)
class Compacted:
    before: int  # bytes
    after: int


def compact(path: Path, memory_limit: str = "1GB") -> Compacted:
    """Replace the DuckDB file at `path` with a compact copy of it.

    Raises CompactionError when the copy does not hold the same rows, and duckdb.IOException
    when another process holds the file.
    """
    copy = path.with_name(path.name + COPY_SUFFIX)
    for leftover in (copy, copy.with_name(copy.name + ".wal")):
        leftover.unlink(missing_ok=True)
    before = path.stat().st_size
    con = duckdb.connect(str(path), config={"memory_limit": memory_limit})
    try:
        con.execute("SET enable_progress_bar = false")  # a command's output, not a terminal's
        con.execute("CHECKPOINT")  # DuckDB's own log folded in: the copy reads every commit
        source = con.execute("SELECT current_database()").fetchall()[0][0]
        con.execute("ATTACH ? AS compacted", [str(copy)])
        # Rows keep their order (DuckDB preserves insertion order), and with it the runs of
        # times and ids that compress well.
        con.execute(f'COPY FROM DATABASE "{source}" TO compacted')
        _check_same_rows(con, source)
        con.execute("DETACH compacted")  # checkpoints and closes the copy
    except BaseException:
        con.close()
        copy.unlink(missing_ok=True)
        raise
    con.close()
    if path.with_name(path.name + ".wal").exists():
        copy.unlink(missing_ok=True)
        raise CompactionError("the store's own log was not folded in; nothing was changed")
    _sync(copy)
    os.replace(copy, path)
    _sync(path.parent)
    return Compacted(before, path.stat().st_size)


def _check_same_rows(con: duckdb.DuckDBPyConnection, source: str) -> None:
    tables = con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE database_name = ? ORDER BY 1", [source]
    ).fetchall()
    for (table,) in tables:
        counts = [
            con.execute(f'SELECT count(*) FROM "{db}".main."{table}"').fetchall()[0][0]
            for db in (source, "compacted")
        ]
        if counts[0] != counts[1]:
            raise CompactionError(f"{table}: {counts[0]} rows, {counts[1]} in the copy")


def _sync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
