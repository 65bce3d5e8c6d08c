"""`POST /api/v1/collect` decodes common bodies in C: the result is the general decoder's."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from tinytrail.api.tinytrail import collect
from tinytrail.errors import InvalidInput

SITE = "5a4d3b1e-8a6c-4f3e-9b1a-2c3d4e5f6a7b"
COMMON: list[dict[str, Any]] = [
    {"website_id": SITE, "event_type": "page_view", "url": "https://a.example/", "path": "/"},
    {
        "website_id": SITE,
        "event_type": "signup",
        "url": "https://a.example/x?utm_source=nl",
        "path": "/x",
        "referrer": "https://www.google.com/",
        "utm_source": "news",
        "utm_medium": None,
        "screen_width": 1440,
        "screen_height": 900.5,
        "properties": {"plan": "pro", "seats": 3, "nested": [1, {"a": None}]},
        "unknown": {"ignored": True},
    },
    {"website_id": SITE, "event_type": "x", "url": "u", "path": "p", "screen_width": None},
]


def _encode(payload: Any) -> bytes:
    return msgspec.json.encode(payload)


@pytest.mark.parametrize("payload", COMMON)
def test_the_fast_path_decodes_as_the_general_one(payload: dict[str, Any]) -> None:
    body = _encode(payload)
    fast = collect._common(body)
    assert fast is not None
    assert fast == collect._checked(body)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{", "Malformed JSON body"),
        (b"[1]", "The JSON body must be an object"),
        (_encode({"event_type": "x", "url": "u", "path": "p"}), "website_id is required"),
        (_encode({"website_id": None, "url": 5}), "website_id is required"),
        (_encode({"website_id": SITE, "event_type": 5}), "event_type must be a string"),
        (_encode({**COMMON[0], "referrer": 5}), "referrer must be a string"),
        (_encode({**COMMON[0], "screen_width": True}), "screen_width must be a number"),
        (_encode({**COMMON[0], "screen_height": "9"}), "screen_height must be a number"),
    ],
)
def test_other_bodies_take_the_general_path(body: bytes, message: str) -> None:
    assert collect._common(body) is None
    with pytest.raises(InvalidInput) as caught:
        collect._checked(body)
    assert str(caught.value) == message


def test_a_later_duplicate_key_wins_on_both_paths() -> None:
    body = b'{"website_id":"a","event_type":"x","url":"u","path":"p","path":"/q"}'
    fast = collect._common(body)
    assert fast is not None and fast.path == "/q"
    assert fast == collect._checked(body)
    # A first value of another type: the general path decides (and accepts the last one).
    mixed = b'{"website_id":"a","event_type":"x","url":"u","path":5,"path":"/q"}'
    assert collect._common(mixed) is None
    assert collect._checked(mixed).path == "/q"
