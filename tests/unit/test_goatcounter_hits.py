"""`/api/v0/count` decodes common batches in C: the result is the general decoder's."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from tinytrail.api.goatcounter import count
from tinytrail.api.goatcounter.common import GoatCounterError

AGENT = "Mozilla/5.0 (X11; Linux x86_64; rv:131.0) Gecko/20100101 Firefox/131.0"
COMMON: list[dict[str, Any]] = [
    {"path": "/a", "user_agent": AGENT, "ip": "1.2.3.4", "size": "1440"},
    {"path": "/b?x=1", "title": "B", "ref": "https://example.com/", "query": "utm_source=x"},
    {"path": "click", "event": True, "session": "s1", "bot": 2, "location": "NL"},
    {"path": "/c", "size": [1280, 720], "language": "nl", "created_at": "2024-01-02T03:04:05Z"},
    {"path": "/d", "size": 1920.5, "created_at": "", "event": False, "bot": 0},
    {"path": "/e", "size": None},
    {},
]


def _used(decoded: list[count.RawHit]) -> list[count.RawHit]:
    """What the handler reads: `size` and `created_at` only as the decoded width and time."""
    return [
        (msgspec.structs.replace(fields, size=None, created_at=""), width, created_at)
        for fields, width, created_at in decoded
    ]


def test_the_fast_path_decodes_as_the_general_one() -> None:
    general = [count._decode_hit(item) for item in COMMON]
    assert _used(count._decode_hits(COMMON)) == _used(general)


@pytest.mark.parametrize(
    "odd",
    [
        {"Path": "/upper"},  # keys match case-insensitively
        {"path": "/n", "title": None},  # null is the zero value
        {"path": "/z", "event": 1, "bot": 1.0},  # zbool and whole floats
        {"path": "/t", "created_at": 0},  # a falsy non-string time is no time
    ],
)
def test_other_batches_take_the_general_path(odd: dict[str, Any]) -> None:
    items = [*COMMON, odd]
    general = [count._decode_hit(item) for item in items]
    assert _used(count._decode_hits(items)) == _used(general)


def test_the_first_error_in_order_wins() -> None:
    # A bad time in the first hit (a valid type) comes before a type error in the second.
    items = [{"path": "/a", "created_at": "yesterday"}, {"path": 5}]
    with pytest.raises(GoatCounterError) as caught:
        count._decode_hits(items)
    assert "parsing time" in str(caught.value.body)


@pytest.mark.parametrize("size", [True, "abc", [1, "x"]])
def test_a_bad_time_is_reported_before_a_bad_size_in_the_same_hit(size: Any) -> None:
    # Found by differential fuzzing against the general decoder: both paths name the time.
    item = {"path": "/a", "session": "s", "size": size, "created_at": "bad"}
    for decode in (count._decode_hits, lambda items: [count._decode_hit(i) for i in items]):
        with pytest.raises(GoatCounterError) as caught:
            decode([item])
        assert "parsing time" in str(caught.value.body), decode
