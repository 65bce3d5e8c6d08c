"""`POST/OPTIONS /api/v1/collect` over HTTP: responses, stored rows, drops, limits and visits."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.support import CHROME_UA, IPHONE_UA, Clock, Server

COLLECT = "/api/v1/collect"
FIREFOX_UA = "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0"
GOOGLEBOT_UA = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
HEADLESS_UA = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "HeadlessChrome/120.0.0.0 Safari/537.36"
)
CURL_UA = "curl/8.4.0"

MakeServer = Callable[..., AbstractContextManager[Server]]


# -- helpers --------------------------------------------------------------------------------


@pytest.fixture
def site(server: Server) -> dict[str, Any]:
    _, website = server.tenant()
    return website


def payload(website_id: str, /, **fields: Any) -> dict[str, Any]:
    body = {
        "website_id": website_id,
        "event_type": "page_view",
        "url": "https://example.com/",
        "path": "/",
    }
    body.update(fields)
    return body


def post_raw(
    server: Server,
    body: bytes | Iterator[bytes],
    content_type: str = "application/json",
    **headers: str | bytes,
) -> Any:
    response = server.client.post(
        COLLECT,
        content=body,
        headers={"Content-Type": content_type, "User-Agent": CHROME_UA, **headers},
    )
    assert "Traceback" not in response.text
    return response


def post_json(server: Server, body: Any, **headers: str | bytes) -> Any:
    return post_raw(server, json.dumps(body).encode(), **headers)


def assert_invalid_payload(response: Any) -> None:
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["status"] == "error"
    assert body["error"]["code"] == "INVALID_PAYLOAD"
    assert isinstance(body["error"]["message"], str)
    assert body["error"]["message"]


def only_event(server: Server) -> dict[str, Any]:
    [event] = server.events()
    return event


def later(server: Server, **delta: float) -> None:
    """Let time pass the way it does in production: the flusher runs, then the clock moves."""
    server.flush()
    server.clock.advance(**delta)


# -- CORS -----------------------------------------------------------------------------------


def test_preflight_answers_204_with_cors_headers(server: Server) -> None:
    response = server.client.options(
        COLLECT,
        headers={
            "Origin": "https://shop.example.com",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "Content-Type",
        },
    )
    assert response.status_code == 204
    assert response.content == b""
    assert response.headers["Access-Control-Allow-Origin"] == "https://shop.example.com"
    assert response.headers["Access-Control-Allow-Methods"] == "POST, OPTIONS"
    assert response.headers["Access-Control-Allow-Headers"] == "Content-Type"
    assert response.headers["Access-Control-Allow-Credentials"] == "true"
    assert "Origin" in response.headers["Vary"]


def test_collect_response_echoes_origin(server: Server, site: dict[str, Any]) -> None:
    response = post_json(server, payload(site["id"]), Origin="https://example.com")
    assert response.status_code == 202
    assert response.headers["Access-Control-Allow-Origin"] == "https://example.com"
    assert response.headers["Access-Control-Allow-Credentials"] == "true"


# -- accepted events and their stored fields ------------------------------------------------


def test_page_view_is_accepted_and_stored_as_pageview(server: Server, site: dict[str, Any]) -> None:
    response = server.collect(site["id"], "/pricing")
    assert response.status_code == 202
    assert response.json() == {"status": "accepted"}
    event = only_event(server)
    assert event["name"] == "pageview"
    assert event["pathname"] == "/pricing"
    assert event["hostname"] == "example.com"
    assert event["is_bot"] is False
    assert event["is_excluded"] is False


def test_hostname_comes_from_the_url_without_www(server: Server, site: dict[str, Any]) -> None:
    response = server.collect(site["id"], "/", host="www.example.com")
    assert response.status_code == 202
    assert only_event(server)["hostname"] == "example.com"


def test_chrome_on_windows_is_a_desktop(server: Server, site: dict[str, Any]) -> None:
    assert server.collect(site["id"], ua=CHROME_UA).status_code == 202
    event = only_event(server)
    assert (event["browser"], event["os"], event["device"]) == ("Chrome", "Windows", "Desktop")


def test_iphone_is_mobile_safari_on_ios(server: Server, site: dict[str, Any]) -> None:
    assert server.collect(site["id"], ua=IPHONE_UA).status_code == 202
    event = only_event(server)
    assert (event["browser"], event["os"], event["device"]) == ("Safari", "iOS", "Mobile")


def test_utm_parameters_are_read_from_the_url_query(server: Server, site: dict[str, Any]) -> None:
    path = (
        "/landing?utm_source=newsletter&utm_medium=email&utm_campaign=spring"
        "&utm_content=hero&utm_term=shoes"
    )
    assert server.collect(site["id"], path).status_code == 202
    event = only_event(server)
    assert event["pathname"] == "/landing"
    assert event["utm_source"] == "newsletter"
    assert event["utm_medium"] == "email"
    assert event["utm_campaign"] == "spring"
    assert event["utm_content"] == "hero"
    assert event["utm_term"] == "shoes"


def test_explicit_utm_fields_are_stored(server: Server, site: dict[str, Any]) -> None:
    response = server.collect(
        site["id"], "/", utm_source="newsletter", utm_medium="email", utm_campaign="spring"
    )
    assert response.status_code == 202
    event = only_event(server)
    assert event["utm_source"] == "newsletter"
    assert event["utm_medium"] == "email"
    assert event["utm_campaign"] == "spring"


def test_referrer_is_cleaned_and_named(server: Server, site: dict[str, Any]) -> None:
    response = server.collect(site["id"], "/", referrer="https://t.co/abc/?amp=1#frag")
    assert response.status_code == 202
    event = only_event(server)
    assert event["referrer"] == "t.co/abc"
    assert event["referrer_source"] == "Twitter"
    assert event["channel"] == "Organic Social"


def test_google_referrer_is_organic_search(server: Server, site: dict[str, Any]) -> None:
    assert server.collect(site["id"], "/", referrer="https://www.google.com/").status_code == 202
    event = only_event(server)
    assert event["referrer"] == "google.com"
    assert event["referrer_source"] == "Google"
    assert event["channel"] == "Organic Search"


def test_google_referrer_with_cpc_medium_is_paid_search(
    server: Server, site: dict[str, Any]
) -> None:
    response = server.collect(
        site["id"], "/?utm_medium=cpc", referrer="https://www.google.com/search"
    )
    assert response.status_code == 202
    event = only_event(server)
    assert event["referrer_source"] == "Google"
    assert event["utm_medium"] == "cpc"
    assert event["channel"] == "Paid Search"


def test_no_referrer_is_direct(server: Server, site: dict[str, Any]) -> None:
    assert server.collect(site["id"], "/").status_code == 202
    event = only_event(server)
    assert event["referrer"] == ""
    assert event["referrer_source"] == ""
    assert event["channel"] == "Direct"


def test_screen_width_is_stored(server: Server, site: dict[str, Any]) -> None:
    response = server.collect(site["id"], "/", screen_width=1920, screen_height=1080)
    assert response.status_code == 202
    assert only_event(server)["screen_width"] == 1920


def test_properties_are_stored_as_a_string_map(server: Server, site: dict[str, Any]) -> None:
    response = server.collect(
        site["id"], "/", properties={"plan": "pro", "seats": 3, "trial": True, "price": 9.5}
    )
    assert response.status_code == 202
    props = only_event(server)["props"]
    assert props == {"plan": "pro", "seats": "3", "trial": "true", "price": "9.5"}


def test_custom_event_type_is_stored_as_its_name(server: Server, site: dict[str, Any]) -> None:
    response = server.collect(site["id"], "/pricing", "signup", properties={"plan": "pro"})
    assert response.status_code == 202
    event = only_event(server)
    assert event["name"] == "signup"
    assert event["pathname"] == "/pricing"
    assert event["props"] == {"plan": "pro"}


@pytest.mark.parametrize(
    "event_type", ["close_tab", "scroll_25", "scroll_50", "scroll_75", "outbound_link", "custom"]
)
def test_default_event_types_are_stored_by_name(
    server: Server, site: dict[str, Any], event_type: str
) -> None:
    assert server.collect(site["id"], "/", event_type).status_code == 202
    assert only_event(server)["name"] == event_type


def test_event_type_of_120_characters_is_accepted(server: Server, site: dict[str, Any]) -> None:
    name = "e" * 120
    assert server.collect(site["id"], "/", name).status_code == 202
    assert only_event(server)["name"] == name


@pytest.mark.parametrize(
    ("path", "group"),
    [("/blog/a", "Blog"), ("/blog/2024/post", "Blog"), ("/docs/intro", "Docs"), ("/", "")],
)
def test_content_group_is_matched_from_the_path(server: Server, path: str, group: str) -> None:
    _, website = server.tenant(
        content_groups=[
            {"name": "Blog", "pattern": "/blog/*"},
            {"name": "Docs", "pattern": "/docs/**"},
        ]
    )
    assert server.collect(website["id"], path).status_code == 202
    assert only_event(server)["content_group"] == group


def test_first_matching_content_group_wins(server: Server) -> None:
    _, website = server.tenant(
        content_groups=[
            {"name": "Blog", "pattern": "/blog/*"},
            {"name": "Everything", "pattern": "/**"},
        ]
    )
    assert server.collect(website["id"], "/blog/a").status_code == 202
    assert server.collect(website["id"], "/about").status_code == 202
    groups = [event["content_group"] for event in server.events()]
    assert groups == ["Blog", "Everything"]


# -- silent drops ---------------------------------------------------------------------------


def test_unknown_website_is_dropped_silently(server: Server, site: dict[str, Any]) -> None:
    response = server.collect(str(uuid.uuid4()), "/")
    assert response.status_code == 204
    assert response.content == b""
    assert server.events() == []


@pytest.mark.parametrize("website_id", ["not-a-uuid", "", "12345", "550e8400-e29b-41d4"])
def test_non_uuid_website_id_is_dropped_silently(
    server: Server, site: dict[str, Any], website_id: str
) -> None:
    response = post_json(server, payload(website_id))
    assert response.status_code == 204
    assert server.events() == []


@pytest.mark.parametrize(
    "user_agent",
    [GOOGLEBOT_UA, HEADLESS_UA, CURL_UA, ""],
    ids=["googlebot", "headless-chrome", "curl", "empty"],
)
def test_bots_answer_204_and_are_stored_flagged(
    server: Server, site: dict[str, Any], user_agent: str
) -> None:
    response = server.collect(site["id"], "/", ua=user_agent)
    assert response.status_code == 204
    assert response.content == b""
    event = only_event(server)
    assert event["is_bot"] is True
    assert event["is_excluded"] is False


@pytest.mark.parametrize(
    "referrer",
    ["https://semalt.com/", "http://www.darodar.com/page?x=1", "https://forum.semalt.com/"],
    ids=["listed", "www-and-path", "subdomain"],
)
def test_referrer_spam_answers_204_and_is_stored_flagged(
    server: Server, site: dict[str, Any], referrer: str
) -> None:
    response = server.collect(site["id"], "/", referrer=referrer)
    assert response.status_code == 204
    assert only_event(server)["is_bot"] is True


def test_a_site_on_the_spam_list_still_counts_its_own_internal_links(server: Server) -> None:
    _, website = server.tenant("semalt.com")
    response = server.collect(
        website["id"], "/next", host="semalt.com", referrer="https://semalt.com/previous"
    )
    assert response.status_code == 202
    assert only_event(server)["is_bot"] is False


def test_a_host_merely_ending_like_a_spammer_is_counted(
    server: Server, site: dict[str, Any]
) -> None:
    response = server.collect(site["id"], "/", referrer="https://notsemalt.com/")
    assert response.status_code == 202
    assert only_event(server)["is_bot"] is False


@pytest.mark.parametrize(
    "ip",
    ["198.51.100.10", "192.0.2.77", "2001:db8::1", "2001:0db8:0000:0000:0000:0000:0000:0001"],
    ids=["exact-ipv4", "cidr-ipv4", "ipv6", "ipv6-long-form"],
)
def test_excluded_ips_answer_204_and_are_stored_flagged(server: Server, ip: str) -> None:
    _, website = server.tenant(excluded_ips=["198.51.100.10", "192.0.2.0/24", "2001:db8::1"])
    response = server.collect(website["id"], "/", ip=ip)
    assert response.status_code == 204
    event = only_event(server)
    assert event["is_excluded"] is True
    assert event["is_bot"] is False


def test_ip_outside_the_excluded_list_is_accepted(server: Server) -> None:
    _, website = server.tenant(excluded_ips=["198.51.100.10", "192.0.2.0/24", "2001:db8::1"])
    assert server.collect(website["id"], "/", ip="198.51.100.11").status_code == 202
    assert server.collect(website["id"], "/", ip="2001:db8::2").status_code == 202
    assert [event["is_excluded"] for event in server.events()] == [False, False]


# -- invalid payloads -----------------------------------------------------------------------


def test_malformed_json_is_invalid_payload(server: Server, site: dict[str, Any]) -> None:
    body = ('{"website_id": "' + site["id"] + '", "event_type": ').encode()
    assert_invalid_payload(post_raw(server, body))
    assert server.events() == []


def test_text_plain_content_type_is_invalid_payload(server: Server, site: dict[str, Any]) -> None:
    body = json.dumps(payload(site["id"])).encode()
    assert_invalid_payload(post_raw(server, body, content_type="text/plain"))
    assert server.events() == []


def test_json_array_body_is_invalid_payload(server: Server, site: dict[str, Any]) -> None:
    assert_invalid_payload(post_json(server, [payload(site["id"])]))


@pytest.mark.parametrize("field", ["website_id", "event_type", "url", "path"])
def test_missing_required_field_is_invalid_payload(
    server: Server, site: dict[str, Any], field: str
) -> None:
    body = payload(site["id"])
    del body[field]
    assert_invalid_payload(post_json(server, body))
    assert server.events() == []


@pytest.mark.parametrize("field", ["website_id", "event_type", "url", "path"])
def test_null_required_field_is_invalid_payload(
    server: Server, site: dict[str, Any], field: str
) -> None:
    assert_invalid_payload(post_json(server, payload(site["id"], **{field: None})))


@pytest.mark.parametrize(("field", "value"), [("url", ""), ("path", ""), ("url", "  ")])
def test_empty_url_or_path_is_invalid_payload(
    server: Server, site: dict[str, Any], field: str, value: str
) -> None:
    assert_invalid_payload(post_json(server, payload(site["id"], **{field: value})))
    assert server.events() == []


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("website_id", 12345),
        ("url", 42),
        ("path", ["/"]),
        ("event_type", {"name": "page_view"}),
        ("screen_width", "1920"),
        ("screen_width", True),
        ("properties", ["a", "b"]),
        ("properties", "plan=pro"),
        ("referrer", 7),
        ("utm_source", 1),
    ],
)
def test_wrong_typed_field_is_invalid_payload(
    server: Server, site: dict[str, Any], field: str, value: Any
) -> None:
    assert_invalid_payload(post_json(server, payload(site["id"], **{field: value})))
    assert server.events() == []


def test_url_longer_than_2000_characters_is_invalid_payload(
    server: Server, site: dict[str, Any]
) -> None:
    url = "https://example.com/" + "a" * 2000
    assert_invalid_payload(post_json(server, payload(site["id"], url=url)))


def test_url_of_2000_characters_is_accepted(server: Server, site: dict[str, Any]) -> None:
    prefix = "https://example.com/"
    url = prefix + "a" * (2000 - len(prefix))
    response = post_json(server, payload(site["id"], url=url, path=url[len(prefix) - 1 :]))
    assert response.status_code == 202


@pytest.mark.parametrize("event_type", ["", "   ", "x" * 121])
def test_event_type_blank_or_too_long_is_invalid_payload(
    server: Server, site: dict[str, Any], event_type: str
) -> None:
    assert_invalid_payload(post_json(server, payload(site["id"], event_type=event_type)))


def test_body_over_64_kib_is_refused(server: Server, site: dict[str, Any]) -> None:
    body = payload(site["id"], properties={"blob": "x" * 1000, "pad": "y" * 70_000})
    response = post_json(server, body)
    assert response.status_code in (400, 413)
    assert response.json()["status"] == "error"
    assert server.events() == []


def test_chunked_body_over_64_kib_is_refused(server: Server, site: dict[str, Any]) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"website_id": "' + site["id"].encode() + b'", "pad": "'
        for _ in range(80):
            yield b"z" * 1024
        yield b'"}'

    response = post_raw(server, chunks())
    assert response.status_code in (400, 413)
    assert server.events() == []


def test_binary_garbage_body_is_invalid_payload(server: Server, site: dict[str, Any]) -> None:
    assert_invalid_payload(post_raw(server, b"\x00\xff\xfe\x80\x81garbage\xc3\x28"))


def test_invalid_utf8_inside_json_is_invalid_payload(server: Server, site: dict[str, Any]) -> None:
    body = json.dumps(payload(site["id"], referrer="https://t.co/XX")).encode()
    assert_invalid_payload(post_raw(server, body.replace(b"XX", b"\xff\xfe")))


def test_empty_body_is_invalid_payload(server: Server, site: dict[str, Any]) -> None:
    assert_invalid_payload(post_raw(server, b""))


def test_error_responses_carry_cors_headers(server: Server, site: dict[str, Any]) -> None:
    response = post_raw(server, b"{", Origin="https://example.com")
    assert response.status_code == 400
    assert response.headers["Access-Control-Allow-Origin"] == "https://example.com"


# -- hostile but harmless inputs ------------------------------------------------------------


def test_huge_user_agent_does_not_crash(server: Server, site: dict[str, Any]) -> None:
    response = post_json(server, payload(site["id"]), **{"User-Agent": CHROME_UA + "X" * 8192})
    assert response.status_code in (202, 204)
    assert len(server.events()) == 1


def test_binary_user_agent_does_not_crash(server: Server, site: dict[str, Any]) -> None:
    user_agent = b"Mozilla/5.0 \xff\xfe\x80\xc3\x28 (Windows NT 10.0) \xf0\x9f\x92\xa9"
    response = post_json(server, payload(site["id"]), **{"User-Agent": user_agent})
    assert response.status_code in (202, 204)
    assert len(server.events()) == 1


@pytest.mark.parametrize(
    "referrer",
    [
        "https://t.co/" + "a" * 8192,
        "https://exa\tmple.com/\u0000path\u0007",
        "https://\u00e9xample.com/\u00fcber/\U0001f4a9",
        "javascript:alert(1)",
        "http://[::1/broken",
        "not a url at all",
        "https://user:pass@evil.example/?q=1",
    ],
    ids=["huge", "control-chars", "unicode", "javascript", "broken-ipv6", "garbage", "userinfo"],
)
def test_odd_referrers_do_not_crash(server: Server, site: dict[str, Any], referrer: str) -> None:
    response = post_json(server, payload(site["id"], referrer=referrer))
    assert response.status_code in (202, 204)
    [event] = server.events()
    assert len(event["referrer"]) <= 2000


def test_huge_referrer_header_is_ignored_safely(server: Server, site: dict[str, Any]) -> None:
    response = post_json(server, payload(site["id"]), Referer="https://t.co/" + "b" * 8192)
    assert response.status_code in (202, 204)


@pytest.mark.parametrize("forwarded", ["not-an-ip", "999.1.1.1", "", ", ,", "1.2.3.4.5, garbage"])
def test_garbage_forwarded_for_is_accepted(
    server: Server, site: dict[str, Any], forwarded: str
) -> None:
    response = post_json(server, payload(site["id"]), **{"X-Forwarded-For": forwarded})
    assert response.status_code == 202
    assert len(server.events()) == 1


def test_ipv6_forwarded_for_is_accepted(server: Server, site: dict[str, Any]) -> None:
    response = server.collect(site["id"], "/", ip="2001:db8:85a3::8a2e:370:7334")
    assert response.status_code == 202
    assert len(server.events()) == 1


def test_no_ip_or_user_agent_is_ever_stored(server: Server, site: dict[str, Any]) -> None:
    ip = "198.51.100.203"
    assert server.collect(site["id"], "/", ip=ip, ua=FIREFOX_UA).status_code == 202
    [event] = server.events()
    values = " ".join(str(value) for value in event.values())
    assert ip not in values
    assert "Gecko/20100101" not in values


# -- rate limiting --------------------------------------------------------------------------


def test_rate_limit_allows_ten_per_ip_then_429(make_server: MakeServer) -> None:
    with make_server(TINYTRAIL_RATE_LIMITS="on") as s:
        _, website = s.tenant()
        statuses = [
            s.collect(website["id"], f"/{i}", ip="198.51.100.1").status_code for i in range(10)
        ]
        assert statuses == [202] * 10
        limited = s.collect(website["id"], "/11", ip="198.51.100.1")
        assert limited.status_code == 429
        assert limited.json()["status"] == "error"
        assert limited.json()["error"]["code"] == "RATE_LIMITED"
        assert 1 <= int(limited.headers["Retry-After"]) <= 10
        assert s.collect(website["id"], "/other", ip="198.51.100.2").status_code == 202
        assert len(s.events()) == 11


def test_rate_limit_is_configurable(make_server: MakeServer) -> None:
    with make_server(TINYTRAIL_RATE_LIMITS="on", TINYTRAIL_RATE_LIMIT_COLLECT="3/10s") as s:
        _, website = s.tenant()
        statuses = [
            s.collect(website["id"], f"/{i}", ip="198.51.100.1").status_code for i in range(4)
        ]
        assert statuses == [202, 202, 202, 429]
        assert len(s.events()) == 3


# -- visits ---------------------------------------------------------------------------------


def test_two_pageviews_ten_minutes_apart_share_a_visit(
    server: Server, site: dict[str, Any]
) -> None:
    assert server.collect(site["id"], "/a").status_code == 202
    later(server, minutes=10)
    assert server.collect(site["id"], "/b").status_code == 202
    first, second = server.events()
    assert first["session_id"] == second["session_id"]
    assert first["visitor_id"] == second["visitor_id"]
    [visit] = server.visits()
    assert visit["session_id"] == first["session_id"]
    assert visit["pageviews"] == 2
    assert visit["entry_page"] == "/a"
    assert visit["exit_page"] == "/b"
    assert visit["is_bounce"] is False


def test_a_31_minute_gap_starts_a_new_visit(server: Server, site: dict[str, Any]) -> None:
    assert server.collect(site["id"], "/a").status_code == 202
    later(server, minutes=31)
    assert server.collect(site["id"], "/b").status_code == 202
    first, second = server.events()
    assert first["visitor_id"] == second["visitor_id"]
    assert first["session_id"] != second["session_id"]
    visits = server.visits()
    assert len(visits) == 2
    assert all(visit["pageviews"] == 1 and visit["is_bounce"] for visit in visits)


@pytest.mark.parametrize("gap", [{"minutes": 30}, {"minutes": 30, "seconds": 59}])
def test_a_gap_up_to_30_whole_minutes_continues_the_visit(
    server: Server, site: dict[str, Any], gap: dict[str, float]
) -> None:
    assert server.collect(site["id"], "/a").status_code == 202
    later(server, **gap)
    assert server.collect(site["id"], "/b").status_code == 202
    first, second = server.events()
    assert first["session_id"] == second["session_id"]
    [visit] = server.visits()
    assert visit["pageviews"] == 2


def test_each_event_resets_the_inactivity_timer(server: Server, site: dict[str, Any]) -> None:
    for path in ("/a", "/b", "/c"):
        assert server.collect(site["id"], path).status_code == 202
        later(server, minutes=25)
    [visit] = server.visits()
    assert visit["pageviews"] == 3
    assert visit["exit_page"] == "/c"


def test_different_user_agent_is_a_different_visitor(server: Server, site: dict[str, Any]) -> None:
    assert server.collect(site["id"], "/", ua=CHROME_UA).status_code == 202
    assert server.collect(site["id"], "/", ua=FIREFOX_UA).status_code == 202
    first, second = server.events()
    assert first["visitor_id"] != second["visitor_id"]
    assert first["session_id"] != second["session_id"]


def test_different_ip_is_a_different_visitor(server: Server, site: dict[str, Any]) -> None:
    assert server.collect(site["id"], "/", ip="198.51.100.1").status_code == 202
    assert server.collect(site["id"], "/", ip="198.51.100.2").status_code == 202
    first, second = server.events()
    assert first["visitor_id"] != second["visitor_id"]
    assert first["session_id"] != second["session_id"]


def test_same_person_on_another_website_is_a_different_visitor(
    server: Server, site: dict[str, Any]
) -> None:
    _, other = server.tenant("other.example")
    assert server.collect(site["id"], "/").status_code == 202
    assert server.collect(other["id"], "/", host="other.example").status_code == 202
    first, second = server.events()
    assert first["site_id"] != second["site_id"]
    assert first["visitor_id"] != second["visitor_id"]
    assert first["session_id"] != second["session_id"]


@pytest.mark.parametrize("timezone", ["Etc/UTC", "Europe/Berlin", "America/New_York"])
def test_visit_continues_across_the_sites_local_midnight(
    make_server: MakeServer, timezone: str
) -> None:
    zone = ZoneInfo(timezone)
    local_start = datetime(2026, 3, 18, 23, 50, tzinfo=zone)
    with make_server(clock=Clock(local_start.astimezone(UTC))) as s:
        _, website = s.tenant(timezone=timezone)
        assert s.collect(website["id"], "/a").status_code == 202
        later(s, minutes=15)
        local_now = s.clock.now.astimezone(zone)
        assert (local_now.day, local_now.hour, local_now.minute) == (19, 0, 5)
        assert s.collect(website["id"], "/b").status_code == 202
        first, second = s.events()
        assert first["session_id"] == second["session_id"]
        # The daily salt changed at the site's midnight, so the visitor id did too.
        assert first["visitor_id"] != second["visitor_id"]
        [visit] = s.visits()
        assert visit["pageviews"] == 2
        assert (visit["entry_page"], visit["exit_page"]) == ("/a", "/b")


def test_a_visit_running_past_midnight_counts_on_its_first_day_from_the_rollups(
    make_server: MakeServer,
) -> None:
    # The engine skips the visits running past a range's end when the site's latest activity
    # is before that end; that bound is kept in memory and must rise with every flush.
    with make_server(clock=Clock(datetime(2026, 3, 18, 23, 50, tzinfo=UTC))) as s:
        _, website = s.tenant()

        def visits_on_the_18th() -> int:
            response = s.client.get(
                "/api/v1/reports/summary",
                params={
                    "website_id": website["id"],
                    "start_date": "2026-03-18",
                    "end_date": "2026-03-18",
                },
                headers=s.admin,
            )
            assert response.status_code == 200, response.text
            value: int = response.json()["data"]["metrics"]["visits"]["value"]
            return value

        assert s.collect(website["id"], "/a").status_code == 202
        later(s, minutes=1)
        assert visits_on_the_18th() == 1  # read while the latest activity is 23:50
        later(s, minutes=19)
        assert s.collect(website["id"], "/b").status_code == 202  # 00:10 on the 19th
        later(s, minutes=35)
        s.aggregate("2026-03-18")  # the visit ended on the 19th: not in the 18th's rollup
        assert visits_on_the_18th() == 1


def test_new_day_without_open_visit_starts_a_new_visit(make_server: MakeServer) -> None:
    zone = ZoneInfo("Europe/Berlin")
    start = datetime(2026, 3, 18, 23, 0, tzinfo=zone).astimezone(UTC)
    with make_server(clock=Clock(start)) as s:
        _, website = s.tenant(timezone="Europe/Berlin")
        assert s.collect(website["id"], "/a").status_code == 202
        later(s, hours=1, minutes=5)
        assert s.collect(website["id"], "/b").status_code == 202
        first, second = s.events()
        assert first["session_id"] != second["session_id"]


def test_pageview_with_scroll_and_close_tab_is_still_a_bounce(
    server: Server, site: dict[str, Any]
) -> None:
    assert server.collect(site["id"], "/a").status_code == 202
    later(server, seconds=20)
    assert server.collect(site["id"], "/a", "scroll_25").status_code == 202
    later(server, seconds=20)
    assert server.collect(site["id"], "/a", "close_tab").status_code == 202
    events = server.events()
    assert len({event["session_id"] for event in events}) == 1
    assert [event["interactive"] for event in events] == [True, False, False]
    [visit] = server.visits()
    assert visit["pageviews"] == 1
    assert visit["is_bounce"] is True


def test_pageview_followed_by_custom_event_is_not_a_bounce(
    server: Server, site: dict[str, Any]
) -> None:
    assert server.collect(site["id"], "/pricing").status_code == 202
    later(server, minutes=1)
    assert server.collect(site["id"], "/pricing", "signup").status_code == 202
    first, second = server.events()
    assert first["session_id"] == second["session_id"]
    [visit] = server.visits()
    assert visit["pageviews"] == 1
    assert visit["is_bounce"] is False


def test_visit_attributes_of_the_first_event_are_stamped_on_later_events(
    server: Server, site: dict[str, Any]
) -> None:
    first_response = server.collect(
        site["id"], "/a?utm_source=newsletter", referrer="https://www.google.com/"
    )
    assert first_response.status_code == 202
    later(server, minutes=5)
    second_response = server.collect(
        site["id"], "/b", "signup", referrer="https://t.co/xyz", screen_width=800
    )
    assert second_response.status_code == 202
    first, second = server.events()
    assert first["session_id"] == second["session_id"]
    for name in ("referrer", "referrer_source", "utm_source", "channel", "screen_width"):
        assert second[name] == first[name], name
    assert second["utm_source"] == "newsletter"
    assert second["referrer_source"] == "newsletter"
    assert second["pathname"] == "/b"


def test_visit_source_is_taken_from_the_referrer_when_untagged(
    server: Server, site: dict[str, Any]
) -> None:
    assert server.collect(site["id"], "/a", referrer="https://www.google.com/").status_code == 202
    later(server, minutes=5)
    assert server.collect(site["id"], "/b", referrer="https://example.com/a").status_code == 202
    first, second = server.events()
    assert first["session_id"] == second["session_id"]
    assert second["referrer_source"] == "Google"
    assert second["channel"] == "Organic Search"
    [visit] = server.visits()
    assert visit["referrer_source"] == "Google"


def test_visit_timestamps_follow_the_clock(server: Server, site: dict[str, Any]) -> None:
    start = server.clock.now
    assert server.collect(site["id"], "/a").status_code == 202
    later(server, minutes=7)
    assert server.collect(site["id"], "/b").status_code == 202
    [visit] = server.visits()
    assert visit["start"] == start.replace(tzinfo=None)
    assert visit["last_event"] - visit["start"] == timedelta(minutes=7)
