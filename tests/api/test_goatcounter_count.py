"""`POST /api/v0/count` over HTTP: the hit schema, per-hit errors, filters, sessions, privacy."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from tests.api.goatcounter_client import NO_SESSION, GoatCounter, account, ago, hit
from tests.support import Server


@pytest.fixture
def gc(server: Server) -> GoatCounter:
    return account(server)[0]


def test_valid_hits_are_stored_and_answered_with_goatcounters_body(
    server: Server, gc: GoatCounter
) -> None:
    response = gc.count(hit("/docs/", title="Docs"), hit("/about"))
    assert response.status_code == 202
    assert response.text == '{"status":"ok"}'
    assert response.headers["X-Rate-Limit-Limit"] == "60"
    events = server.events()
    assert [(e["name"], e["pathname"]) for e in events] == [
        ("pageview", "/docs"),
        ("pageview", "/about"),
    ]
    assert events[0]["browser"] == "Chrome"
    assert events[0]["hostname"] == "example.com"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"hits": []}, "no hits"),
        ({}, "no hits"),
        (
            {"hits": [hit(f"/{n}") for n in range(501)]},
            "maximum amount of pageviews in one batch is 500",
        ),
    ],
)
def test_empty_and_oversized_batches_are_refused(
    server: Server, gc: GoatCounter, body: dict[str, Any], message: str
) -> None:
    response = gc.send("POST", "/count", body)
    assert response.status_code == 400
    assert response.json() == {"error": message}
    assert server.events() == []


def test_five_hundred_hits_are_accepted(server: Server, gc: GoatCounter) -> None:
    response = gc.count(*[hit(f"/p{n}") for n in range(500)])
    assert response.status_code == 202
    assert len(server.events()) == 500


def test_per_hit_errors_keep_the_valid_hits(server: Server, gc: GoatCounter) -> None:
    future = (server.clock.now + timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    response = gc.count(
        hit("/ok"),
        {"path": "/no-identity"},
        hit("/later", created_at=future),
        hit(""),
        hit("/t", title="x" * 1025, ref="r" * 2049),
    )
    assert response.status_code == 400
    assert response.json() == {
        "errors": {
            "1": NO_SESSION,
            "2": "created_at: in the future.",
            "3": "path: must be set, must be longer than 1 characters.",
            "4": "ref: must be shorter than 2048 characters.\n"
            "title: must be shorter than 1024 characters.\n",
        }
    }
    assert [e["pathname"] for e in server.events()] == ["/ok"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"hits": [hit("/")], "foo": 1}, 'unknown parameter: "foo"'),
        ({"hits": [{**hit("/"), "colour": "red"}]}, 'unknown parameter: "colour"'),
    ],
)
def test_unknown_keys_are_rejected(gc: GoatCounter, body: dict[str, Any], message: str) -> None:
    response = gc.send("POST", "/count", body)
    assert response.status_code == 400
    assert response.json() == {"error": message}


@pytest.mark.parametrize(
    "body",
    [
        {"hits": [{**hit("/"), "path": 5}]},
        {"hits": [hit("/", title=["x"])]},
        {"hits": [hit("/")], "no_sessions": "yes"},
        {"hits": {"path": "/"}},
        {"hits": ["/"]},
        {"hits": [hit("/")], "filter": "ip"},
        {"hits": [hit("/", bot="150")]},
        {"hits": [hit("/", event="true")]},
        {"hits": [hit("/", event=None)]},
        {"hits": [hit("/", created_at="yesterday")]},
        {"hits": [hit("/", created_at="2026-03-01 10:00:00")]},
        {"hits": [hit("/", size="wide")]},
        {"hits": [hit("/", size={"w": 1})]},
        {"hits": [hit("/", session=7)]},
        {"hits": [hit("/", ref=1)]},
        {"hits": [hit("/", query=True)]},
        {"hits": [hit("/", user_agent=["x"])]},
        {"hits": [hit("/", location=31)]},
        {"hits": [hit("/", language={"tag": "en"})]},
        {"hits": [hit("/", ip=127)]},
        {"hits": [hit("/", bot=1.5)]},
        {"hits": [hit("/", size=True)]},
        {"hits": [hit("/")], "filter": [1]},
    ],
)
def test_wrong_types_reject_the_whole_request(
    server: Server, gc: GoatCounter, body: dict[str, Any]
) -> None:
    response = gc.send("POST", "/count", body)
    assert response.status_code == 400, response.text
    assert response.json()["error"].startswith("invalid JSON: ")
    assert server.events() == []


@pytest.mark.parametrize("content", [b"{not json", b"[1, 2]", b'"hits"', b"\xff\xfe"])
def test_bodies_that_are_not_a_json_object(server: Server, gc: GoatCounter, content: bytes) -> None:
    response = server.client.post("/api/v0/count", content=content, headers=gc.headers())
    assert response.status_code == 400
    assert response.json()["error"].startswith("invalid JSON: ")


def test_a_wrong_content_type_is_415_with_an_empty_body(server: Server, gc: GoatCounter) -> None:
    headers = gc.headers(**{"Content-Type": "text/plain"})
    response = server.client.post("/api/v0/count", content=b'{"hits": []}', headers=headers)
    assert response.status_code == 415
    assert response.content == b""


def test_keys_match_case_insensitively(server: Server, gc: GoatCounter) -> None:
    response = gc.send("POST", "/count", {"Hits": [{"Path": "/x", "SESSION": "s"}]})
    assert response.status_code == 202
    assert server.events()[0]["pathname"] == "/x"


def test_ignored_ips_are_filtered_and_reported(server: Server) -> None:
    gc, site = account(server)
    server.client.patch(
        f"/api/v1/websites/{site['id']}",
        json={"excluded_ips": ["198.51.100.0/24"]},
        headers={"X-API-KEY": gc.key},
    )
    blocked = hit("/blocked", ip="198.51.100.4")
    response = gc.count(blocked, hit("/kept"), blocked)
    assert response.status_code == 202
    assert response.headers["X-Goatcounter-Filter"] == "0, 2"
    assert [e["pathname"] for e in server.events()] == ["/kept"]
    # An empty filter list turns the IP filter off: the hit is stored (and flagged excluded).
    response = gc.count(blocked, filter=[])
    assert "X-Goatcounter-Filter" not in response.headers
    assert len(server.events()) == 2


def test_unknown_filter_values_are_refused(server: Server, gc: GoatCounter) -> None:
    response = gc.count(hit("/"), filter=["ip", "foo", "bar"])
    assert response.status_code == 400
    assert response.json() == {"error": "unknown value in Filter: [foo bar]"}
    assert server.events() == []


def test_sessions_group_hits_into_one_visitor_and_are_never_stored(
    server: Server, gc: GoatCounter
) -> None:
    secret = "session-7f3a9c-unique-marker"
    gc.count({"path": "/a", "session": secret}, {"path": "/b", "session": secret})
    gc.count({"path": "/c", "session": "someone-else"})
    events = server.events()
    assert events[0]["visitor_id"] == events[1]["visitor_id"] != events[2]["visitor_id"]
    assert events[0]["session_id"] == events[1]["session_id"]
    server.runtime.store.checkpoint()
    for path in server.data_dir.rglob("*"):
        if path.is_file():
            assert secret.encode() not in path.read_bytes(), path


def test_no_sessions_accepts_anonymous_hits_each_as_its_own_visitor(
    server: Server, gc: GoatCounter
) -> None:
    response = gc.count({"path": "/a"}, {"path": "/a"}, no_sessions=True)
    assert response.status_code == 202
    events = server.events()
    assert events[0]["visitor_id"] != events[1]["visitor_id"]
    assert not any(e["is_bot"] for e in events)  # no User-Agent is no bot signal here
    # Nothing is kept to recognise them again: no visitor key, in memory or on disk.
    assert server.runtime.store.fetch("SELECT count(*) FROM visitor_keys") == [(0,)]
    assert len(server.runtime.ingestor.visits.numbers) == 0


def test_created_at_in_the_past_is_kept_to_the_second(server: Server, gc: GoatCounter) -> None:
    moment = ago(server, days=3, hours=2)
    gc.count(hit("/old", created_at=moment.strftime("%Y-%m-%dT%H:%M:%S.123+00:00")))
    stored = server.events()[0]["ts"]
    assert stored == moment.replace(microsecond=0, tzinfo=None)


@pytest.mark.parametrize(
    ("created_at", "message"),
    [
        ("0001-01-01T00:00:00Z", "created_at: must be after 1970-01-01."),
        ("0001-01-01T00:00:00+14:00", "created_at: must be after 1970-01-01."),
        ("1000-01-01T00:00:00Z", "created_at: must be after 1970-01-01."),
        ("1969-12-31T23:59:59Z", "created_at: must be after 1970-01-01."),
        ("1970-01-01T00:00:00+01:00", "created_at: must be after 1970-01-01."),
        ("2026-03-18T12:00:06Z", "created_at: in the future."),
        ("9999-12-31T23:59:59Z", "created_at: in the future."),
        ("9999-12-31T23:59:59-12:00", "created_at: in the future."),
    ],
)
def test_created_at_before_1970_or_in_the_future_is_an_error_of_that_hit(
    server: Server, gc: GoatCounter, created_at: str, message: str
) -> None:
    response = gc.count(hit("/kept"), hit("/refused", created_at=created_at))
    assert (response.status_code, response.json()) == (400, {"errors": {"1": message}})
    assert [e["pathname"] for e in server.events()] == ["/kept"]


def test_created_at_from_1970_to_five_seconds_ahead_is_accepted(
    server: Server, gc: GoatCounter
) -> None:
    response = gc.count(
        hit("/epoch", created_at="1970-01-01T00:00:00Z"),
        hit("/soon", created_at="2026-03-18T12:00:05Z"),
    )
    assert response.status_code == 202, response.text
    assert [e["pathname"] for e in server.events()] == ["/epoch", "/soon"]


def test_created_at_errors_join_the_hits_other_problems(gc: GoatCounter) -> None:
    response = gc.count(hit("", created_at="1000-01-01T00:00:00Z"))
    assert response.json() == {
        "errors": {
            "0": "created_at: must be after 1970-01-01.\n"
            "path: must be set, must be longer than 1 characters.\n"
        }
    }


@pytest.mark.parametrize(
    ("size", "width"),
    [("1920,1080,2", 1920), ("1920,1080", 1920), ("1280", 1280), ([1024, 768], 1024), (800, 800)],
)
def test_size_keeps_the_width(server: Server, gc: GoatCounter, size: Any, width: int) -> None:
    gc.count(hit("/", size=size))
    assert server.events()[0]["screen_width"] == width


def test_a_size_beyond_int32_is_an_error_of_that_hit(gc: GoatCounter) -> None:
    response = gc.count(hit("/", size="2147483648"))
    assert response.json() == {"errors": {"0": "screen size 2.14748e+09 is out of range of int32"}}


@pytest.mark.parametrize(
    "size", ["inf", "+Inf", "Infinity", "1e400", "1e308,1,1", 1e308, 10**400, [10**400, 1]]
)
def test_infinite_and_huge_sizes_are_errors_of_that_hit(
    server: Server, gc: GoatCounter, size: Any
) -> None:
    response = gc.count(hit("/kept"), hit("/", size=size))
    assert response.status_code == 400
    message = response.json()["errors"]["1"]
    assert message.startswith("screen size ") and message.endswith(" is out of range of int32")
    assert [e["pathname"] for e in server.events()] == ["/kept"]


@pytest.mark.parametrize(
    "size",
    [
        "NaN",
        "nan,1080,2",
        "-inf",
        "-Infinity",
        "-1e400",
        "-5",
        "-3e9",
        -1e308,
        [-1e308],
        -(10**400),
    ],
)
def test_sizes_without_a_usable_width_are_unknown(
    server: Server, gc: GoatCounter, size: Any
) -> None:
    response = gc.count(hit("/", size=size))
    assert response.status_code == 202, response.text
    assert server.events()[0]["screen_width"] == 0


def test_a_body_less_post_with_an_undecodable_content_type_is_415(
    server: Server, gc: GoatCounter
) -> None:
    headers = gc.headers(**{"Content-Type": "text/plain"})
    response = server.client.post("/api/v0/count", headers=headers)
    assert response.status_code == 415
    assert response.content == b""
    form = gc.headers(**{"Content-Type": "application/x-www-form-urlencoded"})
    response = server.client.post("/api/v0/count", headers=form)
    assert (response.status_code, response.json()) == (400, {"error": "no hits"})


def test_a_null_event_flag_is_reported_as_json(server: Server, gc: GoatCounter) -> None:
    response = gc.count(hit("/", event=None))
    assert response.status_code == 400
    assert response.json()["error"].endswith("invalid value for hits.event: null")


def test_favicons_and_html_paths_are_answered_but_not_stored(
    server: Server, gc: GoatCounter
) -> None:
    response = gc.count(
        hit("/favicon.ico"), hit("/<html><body>"), hit("/servlet/redirect.srv/x"), hit("/kept")
    )
    assert response.status_code == 202
    assert [e["pathname"] for e in server.events()] == ["/kept"]


def test_bots_get_no_path_ids(server: Server, gc: GoatCounter) -> None:
    gc.count(
        hit("/by-bot", bot=1, title="Bot", ip="192.0.2.1"),
        hit("/by-curl", user_agent="curl/8.5.0", title="Curl", ip="192.0.2.2"),
        hit("/by-human", title="Human", ip="192.0.2.3"),
    )
    server.flush()
    paths = [p["path"] for p in gc.get("/paths").json()["paths"]]
    assert paths == ["/by-human"]


def test_referrer_spam_is_not_counted(server: Server, gc: GoatCounter) -> None:
    gc.count(
        hit("/from-spam", ref="https://semalt.com/", ip="192.0.2.1"),
        hit("/from-spam-subdomain", ref="https://a.b.darodar.com/x", ip="192.0.2.2"),
        hit("/from-search", ref="https://www.google.com/", ip="192.0.2.3"),
    )
    server.flush()
    paths = [p["path"] for p in gc.get("/paths").json()["paths"]]
    assert paths == ["/from-search"]


def test_bot_hints_and_bot_user_agents(server: Server, gc: GoatCounter) -> None:
    # Distinct visitors: a visit's first event decides its attributes, bot flag included.
    gc.count(
        hit("/hint", bot=150, ip="192.0.2.1"),
        hit("/curl", user_agent="curl/8.5.0", ip="192.0.2.2"),
        hit("/human", ip="192.0.2.3"),
    )
    flags = {e["pathname"]: e["is_bot"] for e in server.events()}
    assert flags == {"/hint": True, "/curl": True, "/human": False}


def test_location_wins_over_the_ip_lookup(server: Server, gc: GoatCounter) -> None:
    gc.count(
        hit("/tx", location="US-TX", ip="1.1.1.1"),
        hit("/nl", location="nl", ip="192.0.2.2"),
        hit("/ip", ip="1.0.0.1"),
    )
    places = {e["pathname"]: (e["country"], e["region"]) for e in server.events()}
    assert places == {"/tx": ("US", "US-TX"), "/nl": ("NL", ""), "/ip": ("AU", "")}


def test_events_and_path_cleaning(server: Server, gc: GoatCounter) -> None:
    gc.count(
        hit("/click-signup", event=True),
        hit("", event=1),
        hit(" /foo/?utm_source=x&b=2&a=1&fbclid=z "),
        hit("/web/20200101000000/https://example.com/archived"),
    )
    named = [(e["name"], e["pathname"]) for e in server.events()]
    assert named == [
        ("click-signup", "/"),
        ("(no event name)", "/"),
        ("pageview", "/foo?a=1&b=2"),
        ("pageview", "/archived"),
    ]


def test_referrers_and_campaigns(server: Server, gc: GoatCounter) -> None:
    gc.count(
        hit("/a", ref="https://news.ycombinator.com/item?id=1", session="1"),
        hit("/b", query="?ref=AAA", session="2"),
        hit("/c", query="utm_source=mail&utm_campaign=spring", session="3"),
        hit("/d", ref="Newsletter", session="4"),
    )
    rows = {e["pathname"]: e for e in server.events()}
    assert rows["/a"]["referrer_source"] == "Hacker News"
    assert rows["/a"]["referrer"] == "news.ycombinator.com/item"
    assert (rows["/b"]["utm_source"], rows["/b"]["referrer_source"]) == ("AAA", "AAA")
    assert (rows["/c"]["utm_source"], rows["/c"]["utm_campaign"]) == ("mail", "spring")
    assert rows["/d"]["referrer_source"] == "Newsletter"


def test_a_key_without_the_count_scope_gets_403(server: Server) -> None:
    gc, _ = account(server)
    response = server.client.post(
        "/api/v1/api-keys",
        json={"name": "stats only", "scopes": ["stats"]},
        headers={"X-API-KEY": gc.key},
    )
    scoped = GoatCounter(server, response.json()["data"]["key"])
    response = scoped.count(hit("/"))
    assert response.status_code == 403
    assert response.json() == {"error": "requires 'count' permissions"}


def test_hits_go_to_the_site_the_host_names(server: Server) -> None:
    gc, first = account(server)
    created = gc.send("PUT", "/sites", {"cname": "stats.second.org", "link_domain": "second.org"})
    second_id = created.json()["id"]
    GoatCounter(server, gc.key, host="stats.second.org").count(hit("/by-cname"))
    GoatCounter(server, gc.key, host="second.org:8000").count(hit("/by-domain"))
    gc.count(hit("/default"))
    sites = {e["pathname"]: e["site_id"] for e in server.events()}
    assert sites == {"/by-cname": second_id, "/by-domain": second_id, "/default": first["gc_id"]}
