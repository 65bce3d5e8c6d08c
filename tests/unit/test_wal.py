"""The write-ahead log: frames round-trip, a torn tail is ignored, released segments go."""

from __future__ import annotations

from pathlib import Path

from tinytrail.ingest.model import Event
from tinytrail.ingest.wal import WriteAheadLog, read_segments


def _event(seq: int) -> Event:
    values: dict[str, object] = {name: "" for name in Event.__struct_fields__}
    values.update(
        seq=seq, site_id=1, ts=seq, visitor_id=7, session_id=1, is_bot=False, is_excluded=False,
        city=0, screen_width=0, props={"k": "v"}, revenue_amount=None, scroll_depth=None,
        engagement_ms=None, interactive=True,
    )  # fmt: skip
    return Event(**values)  # type: ignore[arg-type]


def test_appended_events_read_back_in_order(tmp_path: Path) -> None:
    wal = WriteAheadLog(tmp_path)
    for seq in range(1, 6):
        wal.wait_sync(wal.append([_event(seq)]))
    wal.close()
    assert [e.seq for e in read_segments(tmp_path)] == [1, 2, 3, 4, 5]
    assert next(iter(read_segments(tmp_path))).props == {"k": "v"}


def test_torn_tail_frame_is_ignored(tmp_path: Path) -> None:
    wal = WriteAheadLog(tmp_path)
    wal.wait_sync(wal.append([_event(1), _event(2)]))
    wal.wait_sync(wal.append([_event(3)]))
    wal.close()
    [segment] = list(tmp_path.glob("*.wal"))
    segment.write_bytes(segment.read_bytes()[:-3])  # a crash in the middle of the last write
    assert [e.seq for e in read_segments(tmp_path)] == [1, 2]


def test_released_segments_are_deleted(tmp_path: Path) -> None:
    wal = WriteAheadLog(tmp_path)
    wal.wait_sync(wal.append([_event(1)]))
    wal.rotate()
    wal.wait_sync(wal.append([_event(2)]))
    wal.release_through(1)
    assert [e.seq for e in read_segments(tmp_path)] == [2]
    wal.close()
