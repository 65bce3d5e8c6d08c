"""`GET`/`POST /count`, as count.js calls it: the GIF, statuses, X-Goatcounter, site lookup."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.goatcounter_client import account
from tests.support import CHROME_UA, Server

PAGE = "https://example.com/blog/post"


def beacon(
    server: Server, method: str = "GET", headers: dict[str, str] | None = None, **params: Any
) -> Any:
    sent = {"User-Agent": CHROME_UA, "Referer": PAGE, "X-Forwarded-For": "203.0.113.5"}
    return server.client.request(
        method, "/count", params=params, headers={**sent, **(headers or {})}
    )


@pytest.fixture
def site(server: Server) -> dict[str, Any]:
    return account(server)[1]


def test_a_pageview_answers_the_gif(server: Server, site: dict[str, Any]) -> None:
    response = beacon(server, p="/foo.html", t="Foo", s="1920", q="?utm_source=feed", rnd="ab1cd")
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/gif"
    assert response.content.startswith(b"GIF89a") and len(response.content) == 43
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert response.headers["Cross-Origin-Resource-Policy"] == "cross-origin"
    assert response.headers["Connection"] == "close"
    [event] = server.events()
    assert (event["name"], event["pathname"], event["site_id"]) == (
        "pageview",
        "/foo.html",
        site["gc_id"],
    )
    assert (event["screen_width"], event["utm_source"]) == (1920, "feed")
    assert event["browser"] == "Chrome"


@pytest.mark.parametrize(
    ("params", "name", "pathname"),
    [
        ({"p": "foo.html"}, "pageview", "/foo.html"),
        ({"p": "foo.html", "e": "true"}, "foo.html", "/blog/post"),
        ({"p": "/foo.html?a=b&c=d"}, "pageview", "/foo.html?a=b&c=d"),
        ({"p": "/" + "x" * 2047}, "pageview", "/" + "x" * 2047),
        ({"p": "/x", "s": "1920,1080,2"}, "pageview", "/x"),
    ],
)
def test_paths_and_events(
    server: Server, site: dict[str, Any], params: dict[str, str], name: str, pathname: str
) -> None:
    assert beacon(server, **params).status_code == 200
    [event] = server.events()
    assert (event["name"], event["pathname"]) == (name, pathname)


def test_favicons_are_answered_but_not_stored(server: Server, site: dict[str, Any]) -> None:
    assert beacon(server, p="/favicon.ico").status_code == 200
    assert server.events() == []


def test_post_with_an_empty_body_like_send_beacon(server: Server, site: dict[str, Any]) -> None:
    assert beacon(server, "POST", p="/beacon").status_code == 200
    assert server.events()[0]["pathname"] == "/beacon"


@pytest.mark.parametrize(
    ("params", "reason"),
    [
        ({"p": "/" + "x" * 2048}, "ignored because path is longer than 2048 bytes (2049)"),
        ({}, "not valid: path: must be set, must be longer than 1 characters."),
        ({"p": "/x", "t": "t" * 1025}, "not valid: title: must be shorter than 1024 characters."),
        ({"p": "/x", "b": "5"}, "wrong value: b=5"),
        ({"p": "/x", "b": "robot"}, 'error decoding parameters: b: invalid number "robot"'),
        ({"p": "/x", "s": "xxx"}, 'error decoding parameters: s: invalid number "xxx"'),
        ({"p": "/x", "s": "inf"}, "not valid: size: screen size +Inf is out of range of int32."),
        ({"p": "/x", "s": "1e400"}, "not valid: size: screen size +Inf is out of range of int32."),
        (
            {"p": "/x", "s": "3e9,1,1"},
            "not valid: size: screen size 3e+09 is out of range of int32.",
        ),
    ],
)
def test_refusals_are_400_with_a_reason(
    server: Server, site: dict[str, Any], params: dict[str, str], reason: str
) -> None:
    response = beacon(server, **params)
    assert response.status_code == 400
    assert response.headers["X-Goatcounter"] == reason
    assert response.content.startswith(b"GIF89a")
    assert server.events() == []


def test_prefetches_are_answered_but_not_counted(server: Server, site: dict[str, Any]) -> None:
    for header in ({"X-Moz": "prefetch"}, {"Purpose": "preview"}, {"X-Purpose": "prefetch"}):
        assert beacon(server, headers=header, p="/x").status_code == 200
    assert server.events() == []


def test_ignored_ips_get_202(server: Server) -> None:
    gc, site = account(server)
    gc.send("PATCH", f"/sites/{site['gc_id']}", {"settings": {"ignore_ips": "203.0.113.5"}})
    response = beacon(server, p="/x")
    assert response.status_code == 202
    assert response.headers["X-Goatcounter"] == (
        'ignored because "203.0.113.5" is in the IP ignore list'
    )
    assert server.events() == []


def test_bot_hints_from_count_js(server: Server, site: dict[str, Any]) -> None:
    assert beacon(server, p="/x", b="150").status_code == 200
    assert server.events()[0]["is_bot"] is True


def test_referrers_are_classified(server: Server, site: dict[str, Any]) -> None:
    beacon(server, p="/x", r="https://www.google.com/search?q=x")
    event = server.events()[0]
    assert (event["referrer_source"], event["referrer"]) == ("Google", "google.com/search")


def test_the_site_is_found_by_cname_origin_or_referer(server: Server) -> None:
    gc, first = account(server)
    second = gc.send(
        "PUT", "/sites", {"cname": "stats.two.example", "link_domain": "two.example"}
    ).json()
    beacon(server, headers={"Host": "stats.two.example", "Referer": ""}, p="/by-host")
    beacon(server, headers={"Origin": "https://two.example", "Referer": ""}, p="/by-origin")
    beacon(server, headers={"Referer": "https://www.two.example/page"}, p="/by-referer")
    beacon(server, p="/first")
    placed = {e["pathname"]: e["site_id"] for e in server.events()}
    assert placed == {
        "/by-host": second["id"],
        "/by-origin": second["id"],
        "/by-referer": second["id"],
        "/first": first["gc_id"],
    }


def test_an_unknown_site_is_404(server: Server) -> None:
    account(server, "one.example")
    account(server, "two.example")
    response = beacon(server, headers={"Referer": "https://nowhere.example/"}, p="/x")
    assert response.status_code == 404
    assert response.headers["X-Goatcounter"] == "no site found for this request"


def test_a_single_site_takes_every_request(server: Server, site: dict[str, Any]) -> None:
    response = beacon(server, headers={"Referer": "https://elsewhere.example/"}, p="/x")
    assert response.status_code == 200
    assert server.events()[0]["site_id"] == site["gc_id"]


def test_ns_makes_every_hit_its_own_visitor(server: Server, site: dict[str, Any]) -> None:
    beacon(server, p="/x", ns="1")
    beacon(server, p="/x", ns="1")
    first, second = server.events()
    assert first["visitor_id"] != second["visitor_id"]
    # Nothing is kept to recognise them again: no visitor key, in memory or on disk.
    assert server.runtime.store.fetch("SELECT count(*) FROM visitor_keys") == [(0,)]
    assert len(server.runtime.ingestor.visits.numbers) == 0


@pytest.mark.parametrize("size", ["NaN", "nan,1080,2", "-inf", "-1e400", "-5", "-3e9", "0", ""])
def test_sizes_without_a_usable_width_are_unknown(
    server: Server, site: dict[str, Any], size: str
) -> None:
    assert beacon(server, p="/x", s=size).status_code == 200
    [event] = server.events()
    assert event["screen_width"] == 0
