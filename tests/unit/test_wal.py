"""The write-ahead log: frames round-trip, a torn tail is ignored, released segments go."""

from __future__ import annotations

from pathlib import Path

import pytest

from tinytrail.ingest.model import Event
from tinytrail.ingest.wal import LogUnavailable, WriteAheadLog, read_segments, segments, set_aside


def _event(seq: int) -> Event:
    values: dict[str, object] = {name: "" for name in Event.__struct_fields__}
    values.update(
        seq=seq, site_id=1, ts=seq, visitor_id=7, session_id=1, is_bot=False, is_excluded=False,
        city=0, screen_width=0, props={"k": "v"}, revenue_amount=None, scroll_depth=None,
        engagement_ms=None, interactive=True, visitor_key=0,
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


def test_a_failed_write_is_refused_and_the_next_one_works(tmp_path: Path) -> None:
    wal = WriteAheadLog(tmp_path)
    wal.wait_sync(wal.append([_event(1)]))
    broken = wal._file
    assert broken is not None
    broken.close()  # as if the disk had failed under the open segment
    with pytest.raises(LogUnavailable):
        wal.wait_sync(wal.append([_event(2)]))
    assert not wal.healthy
    wal.wait_sync(wal.append([_event(3)]))  # a fresh segment takes it
    assert wal.healthy
    wal.rotate()
    wal.wait_sync(wal.append([_event(4)]))
    wal.close()
    assert [e.seq for e in read_segments(tmp_path)] == [1, 3, 4]
    assert len(segments(tmp_path)) == 3


def test_zero_padding_and_stray_files_do_not_stop_a_replay(tmp_path: Path) -> None:
    wal = WriteAheadLog(tmp_path)
    wal.wait_sync(wal.append([_event(1)]))
    wal.close()
    [segment] = segments(tmp_path)
    with open(segment, "ab") as tail:
        tail.write(bytes(8))  # a zero-length "frame": what a crash can leave behind
    (tmp_path / "backup.wal").write_bytes(b"not ours")
    assert [e.seq for e in read_segments(tmp_path)] == [1]
    again = WriteAheadLog(tmp_path)  # numbering ignores the stray file
    again.wait_sync(again.append([_event(2)]))
    again.close()
    assert [e.seq for e in read_segments(tmp_path)] == [1, 2]


def test_a_damaged_frame_is_skipped_and_its_segment_kept_aside(tmp_path: Path) -> None:
    wal = WriteAheadLog(tmp_path)
    for seq in range(1, 4):
        wal.wait_sync(wal.append([_event(seq)]))
    wal.close()
    [segment] = segments(tmp_path)
    data = bytearray(segment.read_bytes())
    data[12] ^= 0xFF  # one flipped byte inside the first frame's payload
    segment.write_bytes(bytes(data))
    damaged: list[Path] = []
    assert [e.seq for e in read_segments(tmp_path, damaged)] == [2, 3]
    assert damaged == [segment]
    set_aside(tmp_path, damaged)
    assert segments(tmp_path) == []
    assert (tmp_path / "damaged" / segment.name).exists()
