"""A batch the event store refuses is taken apart: what it can take is stored, the rest kept."""

from __future__ import annotations

import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

import duckdb
import pytest

from tests.support import Server
from tinytrail.ingest.flusher import FLUSHER_NICENESS, Unfinished, commit_in_pieces
from tinytrail.ingest.model import Event
from tinytrail.ingest.wal import read_file
from tinytrail.storage.arrow_batches import events_table
from tinytrail.storage.duckdb_store import INSERT_ROWS, DuckDBStore


def _event(seq: int, **changes: object) -> Event:
    values: dict[str, object] = {name: "" for name in Event.__struct_fields__}
    values.update(
        seq=seq, site_id=1, ts=1_700_000_000_000_000 + seq, name="pageview", visitor_id=7,
        session_id=1, is_bot=False, is_excluded=False, city=0, screen_width=0, props={},
        revenue_amount=None, scroll_depth=None, engagement_ms=None, interactive=True, visitor_key=0,
    )  # fmt: skip
    values.update(changes)
    return Event(**values)  # type: ignore[arg-type]


def test_one_event_the_store_cannot_take_is_set_aside_and_the_rest_stored(
    tmp_path: Path,
) -> None:
    store = DuckDBStore(tmp_path / "events.duckdb")
    poison = _event(3, screen_width=70_000)  # does not fit the stored USMALLINT
    events = [_event(1), _event(2), poison, _event(4), _event(5)]
    try:
        store.commit_batch(events, [], [], 5)
    except Exception:
        pass
    else:
        raise AssertionError("the store took a width it cannot hold")
    assert commit_in_pieces(store, tmp_path / "wal", events, [], [], 5) == 1
    assert store.flushed_seq() == 5
    store.close()
    with duckdb.connect(str(tmp_path / "events.duckdb"), read_only=True) as con:
        assert con.execute("SELECT seq FROM events ORDER BY seq").fetchall() == [
            (1,), (2,), (4,), (5,)
        ]  # fmt: skip
    [rejected] = (tmp_path / "wal" / "damaged").iterdir()
    [kept] = read_file(rejected)
    assert (kept.seq, kept.screen_width) == (3, 70_000)


def test_a_batch_bigger_than_one_insert_is_stored_whole_and_in_order(tmp_path: Path) -> None:
    store = DuckDBStore(tmp_path / "events.duckdb")
    count = INSERT_ROWS * 2 + 5  # three slices, the last one short
    store.commit_batch([_event(seq) for seq in range(1, count + 1)], [], [], count)
    assert store.flushed_seq() == count
    store.close()
    with duckdb.connect(str(tmp_path / "events.duckdb"), read_only=True) as con:
        seqs = [seq for (seq,) in con.execute("SELECT seq FROM events").fetchall()]
    assert seqs == list(range(1, count + 1))


def test_revenue_amounts_the_store_cannot_hold_are_stored_without_revenue(
    tmp_path: Path,
) -> None:
    amounts = [15.99, float("nan"), float("inf"), 1e16, -2.5, None]
    events = [_event(n + 1, revenue_amount=a) for n, a in enumerate(amounts)]
    assert events_table(events).column("revenue_amount").to_pylist() == [
        15.99, None, None, None, -2.5, None
    ]  # fmt: skip
    store = DuckDBStore(tmp_path / "events.duckdb")
    store.commit_batch(events, [], [], 6)
    store.close()


class DiskFullAfter(DuckDBStore):
    """The real store, with the disk "filling up" after `ok` commits (fault injection)."""

    def __init__(self, path: Path, ok: int) -> None:
        super().__init__(path)
        self.ok = ok

    def commit_batch(self, *args: Any, **kwargs: Any) -> None:
        if self.ok <= 0:
            raise duckdb.IOException("No space left on device")
        self.ok -= 1
        super().commit_batch(*args, **kwargs)


@pytest.mark.parametrize("ok", [0, 1, 3, 6])  # 6: every piece committed, then the full disk
def test_a_machine_failure_sets_nothing_aside_and_leaves_the_rest_to_retry(
    tmp_path: Path, ok: int
) -> None:
    store = DiskFullAfter(tmp_path / "events.duckdb", ok)
    poison = _event(3, screen_width=70_000)
    events = [_event(1), _event(2), poison, _event(4), _event(5)]
    with pytest.raises(Unfinished) as unfinished:
        commit_in_pieces(store, tmp_path / "wal", events, [], [], 5)
    store.close()
    with duckdb.connect(str(tmp_path / "events.duckdb"), read_only=True) as con:
        stored = [seq for (seq,) in con.execute("SELECT seq FROM events ORDER BY seq").fetchall()]
    left = [e.seq for e in unfinished.value.events]
    assert sorted(stored + left) == [1, 2, 3, 4, 5]
    assert not set(stored) & set(left)
    assert not (tmp_path / "wal" / "damaged").exists()  # nothing set aside for a full disk


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="per-thread nice is Linux's")
def test_the_flusher_runs_below_the_request_threads(server: Server) -> None:
    """Commits and checkpoints must not take CPU from answering collectors."""
    [flusher] = [t for t in threading.enumerate() if t.name == "tinytrail-flusher"]
    deadline = time.monotonic() + 5
    while os.getpriority(os.PRIO_PROCESS, flusher.native_id or 0) < FLUSHER_NICENESS:
        assert time.monotonic() < deadline, "the flusher kept its priority"
        time.sleep(0.01)
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) < FLUSHER_NICENESS
