"""Plausible's Events API, `POST /api/event`, over HTTP (plausible-reference.md section 2)."""

from __future__ import annotations

import json
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

import pytest

from tests.support import CHROME_UA, Server

EVENT = "/api/event"
GOOGLEBOT_UA = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
PRICING = {
    "n": "pageview",
    "u": "https://example.com/pricing?utm_source=newsletter",
    "d": "example.com",
    "r": "https://www.google.com/",
}


@pytest.fixture
def site(server: Server) -> dict[str, Any]:
    _, website = server.tenant("example.com")
    return website


def send(
    server: Server,
    body: Any,
    content_type: str = "text/plain",
    user_agent: str = CHROME_UA,
    ip: str = "203.0.113.7",
) -> Any:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    response = server.client.post(
        EVENT,
        content=content,
        headers={"Content-Type": content_type, "User-Agent": user_agent, "X-Forwarded-For": ip},
    )
    assert "Traceback" not in response.text
    return response


def pageview(url: str = "https://example.com/", **fields: Any) -> dict[str, Any]:
    return {"n": "pageview", "u": url, "d": "example.com", **fields}


def assert_ok(response: Any) -> None:
    assert response.status_code == 202, response.text
    assert response.text == "ok"
    assert "x-plausible-dropped" not in response.headers


def assert_dropped(response: Any, count: int = 1) -> None:
    assert response.status_code == 202, response.text
    assert response.text == "ok"
    assert response.headers["x-plausible-dropped"] == str(count)


def assert_field_error(response: Any, field: str) -> list[str]:
    assert response.status_code == 400, response.text
    body = response.json()
    assert set(body) == {"errors"}
    messages = body["errors"][field]
    assert isinstance(messages, list)
    assert messages
    assert all(isinstance(message, str) and message for message in messages)
    return list(messages)


def only_event(server: Server) -> dict[str, Any]:
    [event] = server.events()
    return event


# -- accepted pageviews ---------------------------------------------------------------------


@pytest.mark.parametrize("content_type", ["text/plain", "application/json"])
def test_pageview_is_accepted_with_either_content_type(
    server: Server, site: dict[str, Any], content_type: str
) -> None:
    assert_ok(send(server, PRICING, content_type))
    event = only_event(server)
    assert event["name"] == "pageview"
    assert event["pathname"] == "/pricing"
    assert event["hostname"] == "example.com"
    assert event["referrer"] == "google.com"
    assert event["utm_source"] == "newsletter"
    # Reference 4.4: a tagged source (utm_source/source/ref) wins over the referrer's name.
    assert event["referrer_source"] == "newsletter"


@pytest.mark.parametrize(
    ("query", "utm_source", "source", "channel"),
    [
        ("source=newsletter", "newsletter", "newsletter", "Email"),
        ("ref=producthunt", "producthunt", "Product Hunt", "Organic Social"),
    ],
)
def test_the_tagged_source_is_stored_as_utm_source(
    server: Server, site: dict[str, Any], query: str, utm_source: str, source: str, channel: str
) -> None:
    # Reference 4.4: whichever of utm_source, source, ref tags the page, utm_source keeps it.
    assert_ok(send(server, pageview(f"https://example.com/d?{query}")))
    event = only_event(server)
    assert (event["utm_source"], event["referrer_source"]) == (utm_source, source)
    assert event["channel"] == channel


@pytest.mark.parametrize(
    ("referrer", "query", "medium", "channel"),
    [
        ("https://www.google.de/", "gclid=123", "(gclid)", "Paid Search"),
        ("https://www.bing.com/", "msclkid=123", "(msclkid)", "Paid Search"),
        ("https://www.google.de/", "gclid=123&utm_medium=cpc", "cpc", "Paid Search"),
        ("https://www.google.de/", "fbclid=123", "", "Organic Search"),
    ],
)
def test_auto_tagged_ads_get_their_inferred_medium(
    server: Server, site: dict[str, Any], referrer: str, query: str, medium: str, channel: str
) -> None:
    assert_ok(send(server, pageview(f"https://example.com/?{query}", r=referrer)))
    event = only_event(server)
    assert (event["utm_medium"], event["channel"]) == (medium, channel)


def test_untagged_google_referrer_is_the_source(server: Server, site: dict[str, Any]) -> None:
    body = {**PRICING, "u": "https://example.com/pricing"}
    assert_ok(send(server, body))
    event = only_event(server)
    assert event["referrer_source"] == "Google"
    assert event["channel"] == "Organic Search"


def test_long_keys_are_accepted(server: Server, site: dict[str, Any]) -> None:
    body = {
        "name": "Signup",
        "url": "https://example.com/join",
        "domain": "example.com",
        "referrer": "https://t.co/abc",
        "props": {"plan": "pro"},
    }
    assert_ok(send(server, body))
    event = only_event(server)
    assert event["name"] == "Signup"
    assert event["pathname"] == "/join"
    assert event["referrer"] == "t.co/abc"
    assert event["referrer_source"] == "Twitter"
    assert event["props"] == {"plan": "pro"}


def test_domain_defaults_to_the_url_host(server: Server, site: dict[str, Any]) -> None:
    _, other = server.tenant("other.example")
    assert_ok(send(server, {"n": "pageview", "u": "https://other.example/about"}))
    event = only_event(server)
    assert event["site_id"] == site_id_of(server, other)
    assert event["pathname"] == "/about"


def test_www_is_stripped_from_the_url_host(server: Server, site: dict[str, Any]) -> None:
    assert_ok(send(server, {"n": "pageview", "u": "https://www.example.com/about"}))
    assert only_event(server)["hostname"] == "example.com"


def test_www_is_stripped_from_the_domain(server: Server, site: dict[str, Any]) -> None:
    assert_ok(send(server, pageview(d="www.example.com")))
    assert only_event(server)["site_id"] == site_id_of(server, site)


def test_comma_separated_domains_send_to_each_site(server: Server, site: dict[str, Any]) -> None:
    _, other = server.tenant("other.example")
    assert_ok(send(server, pageview("https://example.com/shared", d="example.com,other.example")))
    events = server.events()
    assert len(events) == 2
    assert {event["site_id"] for event in events} == {
        site_id_of(server, site),
        site_id_of(server, other),
    }
    assert {event["pathname"] for event in events} == {"/shared"}


def test_comma_separated_domains_with_spaces_and_an_unknown_one(
    server: Server, site: dict[str, Any]
) -> None:
    assert_dropped(send(server, pageview(d="example.com, unknown.example")), 1)
    assert len(server.events()) == 1


def test_unknown_domain_is_dropped_with_header(server: Server, site: dict[str, Any]) -> None:
    response = send(server, pageview("https://unknown.example/", d="unknown.example"))
    assert_dropped(response, 1)
    assert server.events() == []


def test_unknown_url_host_without_domain_is_dropped(server: Server, site: dict[str, Any]) -> None:
    assert_dropped(send(server, {"n": "pageview", "u": "https://unknown.example/"}), 1)
    assert server.events() == []


def test_bot_user_agent_is_dropped_with_header(server: Server, site: dict[str, Any]) -> None:
    assert_dropped(send(server, pageview(), user_agent=GOOGLEBOT_UA), 1)
    assert [event for event in server.events() if not event["is_bot"]] == []


def test_referrer_spam_is_dropped_with_header(server: Server, site: dict[str, Any]) -> None:
    # Plausible drops it; TinyTrail keeps it flagged as bot traffic, out of every report.
    assert_dropped(send(server, pageview(r="https://buttons-for-website.com/")), 1)
    assert [event["is_bot"] for event in server.events()] == [True]


def test_url_without_host_is_stored_with_hostname_none(
    server: Server, site: dict[str, Any]
) -> None:
    assert_ok(send(server, pageview("/just/a/path")))
    event = only_event(server)
    assert event["hostname"] == "(none)"
    assert event["pathname"] == "/just/a/path"


def test_integer_event_name_is_stored_as_string(server: Server, site: dict[str, Any]) -> None:
    assert_ok(send(server, pageview(n=404)))
    assert only_event(server)["name"] == "404"


def test_url_path_is_uri_decoded(server: Server, site: dict[str, Any]) -> None:
    assert_ok(send(server, pageview("https://example.com/caf%C3%A9/men%C3%BC")))
    assert only_event(server)["pathname"] == "/café/menü"


def test_fragment_is_ignored_without_hash_mode(server: Server, site: dict[str, Any]) -> None:
    assert_ok(send(server, pageview("https://example.com/app#/settings")))
    assert only_event(server)["pathname"] == "/app"


def test_hash_mode_appends_the_fragment(server: Server, site: dict[str, Any]) -> None:
    assert_ok(send(server, pageview("https://example.com/app#/settings", h=1)))
    assert only_event(server)["pathname"] == "/app#/settings"


# -- props ----------------------------------------------------------------------------------


def test_props_object_is_stored_as_strings(server: Server, site: dict[str, Any]) -> None:
    props = {"plan": "pro", "seats": 3, "trial": True, "price": 9.5}
    assert_ok(send(server, pageview(p=props)))
    assert only_event(server)["props"] == {
        "plan": "pro",
        "seats": "3",
        "trial": "true",
        "price": "9.5",
    }


def test_props_as_json_string_are_stored(server: Server, site: dict[str, Any]) -> None:
    assert_ok(send(server, pageview(p=json.dumps({"plan": "pro", "seats": 3}))))
    assert only_event(server)["props"] == {"plan": "pro", "seats": "3"}


def test_meta_key_is_an_alias_for_props(server: Server, site: dict[str, Any]) -> None:
    assert_ok(send(server, pageview(m={"plan": "pro"})))
    assert only_event(server)["props"] == {"plan": "pro"}


def test_props_that_are_not_an_object_are_ignored(server: Server, site: dict[str, Any]) -> None:
    assert_ok(send(server, pageview(p="not json")))
    assert_ok(send(server, pageview(p=["a", "b"])))
    assert [event["props"] for event in server.events()] == [{}, {}]


def test_non_scalar_and_blank_prop_values_are_dropped(server: Server, site: dict[str, Any]) -> None:
    props = {
        "plan": "pro",
        "list": [1, 2],
        "object": {"nested": True},
        "empty": "",
        "spaces": "   ",
        "nothing": None,
    }
    assert_ok(send(server, pageview(p=props)))
    assert only_event(server)["props"] == {"plan": "pro"}


def test_at_most_30_props_are_kept(server: Server, site: dict[str, Any]) -> None:
    props = {f"key{i}": f"value{i}" for i in range(35)}
    assert_ok(send(server, pageview(p=props)))
    stored = only_event(server)["props"]
    assert len(stored) == 30
    assert all(props[key] == value for key, value in stored.items())


def test_prop_value_over_2000_bytes_is_rejected(server: Server, site: dict[str, Any]) -> None:
    assert_field_error(send(server, pageview(p={"big": "x" * 2001})), "props")
    assert server.events() == []


def test_prop_key_over_300_bytes_is_rejected(server: Server, site: dict[str, Any]) -> None:
    assert_field_error(send(server, pageview(p={"k" * 301: "v"})), "props")
    assert server.events() == []


def test_prop_value_length_is_counted_in_bytes(server: Server, site: dict[str, Any]) -> None:
    # 1001 two-byte characters: 1001 characters but 2002 bytes.
    assert_field_error(send(server, pageview(p={"big": "é" * 1001})), "props")
    assert server.events() == []


# -- revenue and interactivity --------------------------------------------------------------


def test_revenue_is_stored(server: Server, site: dict[str, Any]) -> None:
    body = pageview(n="Purchase", **{"$": {"currency": "EUR", "amount": "12.5"}})
    assert_ok(send(server, body))
    event = only_event(server)
    assert float(event["revenue_amount"]) == 12.5
    assert event["revenue_currency"] == "EUR"


def test_revenue_with_numeric_amount_and_long_key(server: Server, site: dict[str, Any]) -> None:
    body = pageview(n="Purchase", revenue={"currency": "usd", "amount": 30})
    assert_ok(send(server, body))
    event = only_event(server)
    assert float(event["revenue_amount"]) == 30.0
    assert event["revenue_currency"] == "USD"


@pytest.mark.parametrize(
    "revenue",
    [
        {"currency": "EURO", "amount": "12.5"},
        {"currency": "EUR", "amount": "twelve"},
        {"currency": "EUR"},
        {"amount": 10},
        {"currency": 978, "amount": 10},
        {"currency": "EUR", "amount": True},
        # Amounts the stored DECIMAL(18, 3) cannot hold: one of them used to stop every flush.
        {"currency": "EUR", "amount": "1e400"},
        {"currency": "EUR", "amount": "NaN"},
        {"currency": "EUR", "amount": "-Infinity"},
        {"currency": "EUR", "amount": 10000000000000000},
        "12.5 EUR",
        [12.5, "EUR"],
    ],
)
def test_invalid_revenue_is_silently_discarded(
    server: Server, site: dict[str, Any], revenue: Any
) -> None:
    assert_ok(send(server, pageview(n="Purchase", **{"$": revenue})))
    event = only_event(server)
    assert event["name"] == "Purchase"
    assert event["revenue_amount"] is None
    assert event["revenue_currency"] == ""


def test_interactive_false_is_stored(server: Server, site: dict[str, Any]) -> None:
    assert_ok(send(server, pageview(n="Video Autoplay", i=False)))
    assert only_event(server)["interactive"] is False


def test_events_are_interactive_by_default(server: Server, site: dict[str, Any]) -> None:
    assert_ok(send(server, pageview(n="Signup")))
    assert only_event(server)["interactive"] is True


# -- engagement -----------------------------------------------------------------------------


def test_engagement_event_stores_scroll_depth_and_time(
    server: Server, site: dict[str, Any]
) -> None:
    assert_ok(send(server, pageview("https://example.com/article")))
    server.flush()  # as the background flusher would, between the two requests
    server.clock.advance(seconds=30)
    body = pageview("https://example.com/article", n="engagement", sd=80, e=12_345)
    assert_ok(send(server, body))
    view, engagement = server.events()
    assert engagement["name"] == "engagement"
    assert engagement["scroll_depth"] == 80
    assert engagement["engagement_ms"] == 12_345
    assert engagement["session_id"] == view["session_id"]


def test_engagement_without_a_visit_is_dropped(server: Server, site: dict[str, Any]) -> None:
    # Reference 4.2: engagement never creates a session; without one the event is dropped.
    assert_dropped(send(server, pageview(n="engagement", sd=50, e=1000)))
    assert server.events() == []
    assert_ok(send(server, pageview()))
    assert_ok(send(server, pageview(n="engagement", sd=50, e=1000)))
    assert [e["name"] for e in server.events()] == ["pageview", "engagement"]


def test_engagement_with_only_scroll_depth_is_accepted(
    server: Server, site: dict[str, Any]
) -> None:
    assert_ok(send(server, pageview()))
    assert_ok(send(server, pageview(n="engagement", sd=150)))
    engagement = server.events()[-1]
    assert engagement["scroll_depth"] == 100
    assert engagement["engagement_ms"] is None


def test_engagement_with_only_engaged_time_is_accepted(
    server: Server, site: dict[str, Any]
) -> None:
    assert_ok(send(server, pageview()))
    assert_ok(send(server, pageview(n="engagement", e=5000)))
    engagement = server.events()[-1]
    assert engagement["engagement_ms"] == 5000
    assert engagement["scroll_depth"] is None


@pytest.mark.parametrize(
    "fields",
    [{}, {"sd": "50"}, {"e": -1}, {"sd": -5, "e": "10"}, {"sd": None, "e": None}],
    ids=["neither", "string-sd", "negative-e", "both-invalid", "nulls"],
)
def test_engagement_without_valid_sd_or_e_is_rejected(
    server: Server, site: dict[str, Any], fields: dict[str, Any]
) -> None:
    response = send(server, pageview(n="engagement", **fields))
    assert response.status_code == 400
    assert "errors" in response.json()
    assert server.events() == []


# -- invalid requests -----------------------------------------------------------------------


def test_invalid_json_is_rejected(server: Server, site: dict[str, Any]) -> None:
    response = send(server, b'{"n": "pageview", "u": ')
    assert response.status_code == 400
    assert response.json() == {"errors": {"request": ["Unable to parse request body as json"]}}


@pytest.mark.parametrize("body", [b"", b"[1, 2]", b'"pageview"', b"\x00\xff\xfe\x80"])
def test_non_object_bodies_are_rejected_as_unparsable(
    server: Server, site: dict[str, Any], body: bytes
) -> None:
    response = send(server, body)
    assert response.status_code == 400
    assert response.json() == {"errors": {"request": ["Unable to parse request body as json"]}}


def test_missing_url_is_rejected(server: Server, site: dict[str, Any]) -> None:
    assert_field_error(send(server, {"n": "pageview", "d": "example.com"}), "url")
    assert server.events() == []


def test_blank_domain_is_rejected(server: Server, site: dict[str, Any]) -> None:
    response = send(server, pageview(d=""))
    assert response.status_code == 400
    assert response.json() == {"errors": {"domain": ["can't be blank"]}}


def test_missing_name_is_rejected(server: Server, site: dict[str, Any]) -> None:
    body = {"u": "https://example.com/", "d": "example.com"}
    assert_field_error(send(server, body), "event_name")
    assert server.events() == []


def test_name_over_120_characters_is_rejected(server: Server, site: dict[str, Any]) -> None:
    assert_field_error(send(server, pageview(n="x" * 121)), "event_name")


def test_url_over_2000_bytes_is_rejected(server: Server, site: dict[str, Any]) -> None:
    url = "https://example.com/" + "a" * 2000
    assert_field_error(send(server, pageview(url)), "url")
    assert server.events() == []


def test_url_length_is_counted_in_bytes(server: Server, site: dict[str, Any]) -> None:
    url = "https://example.com/" + "é" * 1000  # 1020 characters, 2020 bytes
    assert_field_error(send(server, pageview(url)), "url")


def test_data_url_is_rejected(server: Server, site: dict[str, Any]) -> None:
    assert_field_error(send(server, pageview("data:text/html,<h1>hi</h1>")), "url")
    assert server.events() == []


# -- CORS -----------------------------------------------------------------------------------


def test_preflight_answers_204_with_cors_headers(server: Server) -> None:
    response = server.client.options(
        EVENT,
        headers={"Origin": "https://example.com", "Access-Control-Request-Method": "POST"},
    )
    assert response.status_code == 204
    assert response.headers["Access-Control-Allow-Origin"] == "https://example.com"
    assert "POST" in response.headers["Access-Control-Allow-Methods"]
    assert "Content-Type" in response.headers["Access-Control-Allow-Headers"]


def test_event_response_carries_cors_headers(server: Server, site: dict[str, Any]) -> None:
    response = server.client.post(
        EVENT,
        content=json.dumps(pageview()).encode(),
        headers={"Content-Type": "text/plain", "User-Agent": CHROME_UA, "Origin": "https://x.io"},
    )
    assert response.status_code == 202
    assert response.headers["Access-Control-Allow-Origin"] == "https://x.io"


@pytest.mark.parametrize(
    ("body", "status"),
    [(b'{"n": "pageview", "u": ', 400), (b'{"p": "' + b"x" * 70_000 + b'"}', 413)],
    ids=["unparsable", "too-large"],
)
def test_unreadable_requests_carry_cors_headers(
    server: Server, site: dict[str, Any], body: bytes, status: int
) -> None:
    # The official tracker posts cross-origin and hands `{status}` to its callback: without
    # CORS headers the browser hides the answer and the callback gets a network error instead.
    response = server.client.post(
        EVENT,
        content=body,
        headers={"Content-Type": "text/plain", "User-Agent": CHROME_UA, "Origin": "https://x.io"},
    )
    assert response.status_code == status
    assert response.headers["Access-Control-Allow-Origin"] == "https://x.io"


# -- helpers needing the store --------------------------------------------------------------


def site_id_of(server: Server, website: dict[str, Any]) -> int:
    rules = server.runtime.sites.by_uuid(website["id"])
    assert rules is not None
    return rules.id


# -- the visitor's IP: Plausible's rule, whoever sends it -------------------------------------

VISITOR_IP = "81.2.69.142"


def visitor_ids(server: Server, **forms: dict[str, str]) -> dict[str, int]:
    """Send one pageview per header set (same User-Agent): the visitor id each got."""
    for n, headers in enumerate(forms.values()):
        response = server.client.post(
            EVENT,
            content=json.dumps(pageview(f"https://example.com/{n}")).encode(),
            headers={"Content-Type": "text/plain", "User-Agent": CHROME_UA, **headers},
        )
        assert_ok(response)
    rows = server.events("name = 'pageview'")
    return {form: int(row["visitor_id"]) for form, row in zip(forms, rows, strict=True)}


@pytest.mark.parametrize("trusted", ["", "127.0.0.1"])
def test_the_visitor_ip_is_the_first_valid_forwarded_address(
    make_server: Callable[..., AbstractContextManager[Server]], trusted: str
) -> None:
    """plausible-reference.md 2.1: X-Forwarded-For's first valid IP is the client's, trusted
    proxy or not (server-side senders put the visitor's IP there); other proxy headers too."""
    with make_server(TINYTRAIL_TRUSTED_PROXIES=trusted) as server:
        server.tenant("example.com")
        ids = visitor_ids(
            server,
            alone={"X-Forwarded-For": VISITOR_IP},
            proxied={"X-Forwarded-For": f"{VISITOR_IP}, 10.1.1.1"},
            twice={"X-Forwarded-For": f"{VISITOR_IP}, 10.9.9.9, 127.0.0.1"},
            garbage_first={"X-Forwarded-For": f"unknown, {VISITOR_IP}"},
            plausible_ip={"X-Plausible-IP": VISITOR_IP, "X-Forwarded-For": "198.51.100.1"},
            cloudflare={"CF-Connecting-IP": VISITOR_IP},
            forwarded={"Forwarded": f'for=unknown, for="{VISITOR_IP}:4711";proto=https'},
            other={"X-Forwarded-For": "198.51.100.1"},
        )
        assert len({v for form, v in ids.items() if form != "other"}) == 1, ids
        assert ids["other"] != ids["alone"]
        countries = {row["country"] for row in server.events("name = 'pageview'")}
        assert len(countries) <= 2  # one visitor's country, and the other address's


def test_the_rate_limit_counts_the_sender_not_the_forwarded_address(
    make_server: Callable[..., AbstractContextManager[Server]],
) -> None:
    limits = {"TINYTRAIL_RATE_LIMITS": "on", "TINYTRAIL_RATE_LIMIT_EVENTS": "3/60s"}
    with make_server(TINYTRAIL_TRUSTED_PROXIES="", **limits) as server:
        server.tenant("example.com")
        statuses = [send(server, pageview(), ip=f"198.51.100.{n}").status_code for n in range(1, 6)]
        assert statuses == [202, 202, 202, 429, 429]


def test_no_rate_limit_by_default_as_in_plausible(
    make_server: Callable[..., AbstractContextManager[Server]],
) -> None:
    """A server-side sender sends every visitor's events from one address; Plausible never
    answers 429 here. Only an operator's TINYTRAIL_RATE_LIMIT_EVENTS sets a limit."""
    with make_server(TINYTRAIL_RATE_LIMITS="on") as server:
        server.tenant("example.com")
        statuses = {
            send(server, pageview(), ip=f"198.51.100.{n % 250}").status_code for n in range(300)
        }
        assert statuses == {202}
        assert len(server.events("name = 'pageview'")) == 300
