"""`Ingestor._moment` reuses the site's date within a UTC second, never across its midnight."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from tinytrail.ingest.pipeline import Ingestor
from tinytrail.timeutil import to_us


def _ingestor() -> Ingestor:
    ingestor = Ingestor.__new__(Ingestor)  # `_moment` only needs its memo
    ingestor._stamp = None
    return ingestor


def _second(moment: datetime) -> int:
    """The moment in µs, truncated to its whole second (times are stored to the second)."""
    return to_us(moment) // 1_000_000 * 1_000_000


def test_each_moment_is_converted_as_astimezone_would() -> None:
    ingestor = _ingestor()
    zones = [ZoneInfo("America/New_York"), ZoneInfo("Asia/Kathmandu"), ZoneInfo("Etc/UTC")]
    # Around New York's and Kathmandu's (+05:45) midnights and a DST change, by half seconds.
    starts = [
        datetime(2024, 3, 10, 4, 59, 58, tzinfo=UTC),
        datetime(2024, 3, 10, 18, 14, 58, tzinfo=UTC),
        datetime(2024, 11, 3, 3, 59, 58, tzinfo=UTC),
    ]
    for start in starts:
        for step in range(8):
            moment = start + timedelta(microseconds=500_000 * step)
            for zone in zones:
                expected = (_second(moment), moment.astimezone(zone).date())
                assert ingestor._moment(moment, zone) == expected
                assert ingestor._moment(moment, zone) == expected  # the same object again


def test_other_tzinfos_are_converted_every_time() -> None:
    ingestor = _ingestor()
    zone = ZoneInfo("America/New_York")
    utc = datetime(2024, 3, 10, 4, 59, 59, 100, tzinfo=UTC)
    ingestor._moment(utc, zone)
    plus_one = utc.astimezone(timezone(timedelta(hours=1)))
    assert ingestor._moment(plus_one, zone) == (_second(plus_one), plus_one.astimezone(zone).date())
    naive = datetime(2024, 3, 10, 5, 0, 0)
    assert ingestor._moment(naive, zone) == (_second(naive), naive.astimezone(zone).date())
