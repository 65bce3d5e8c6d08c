"""`POST /api/v1/admin/import` over HTTP: NDJSON with Plausible's columns, into real stores."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.support import ADMIN_KEY, CHROME_UA, Server
from tinytrail.ingest.importer import MAX_LINE_BYTES, Importer

IMPORT = "/api/v1/admin/import"
DAY = "2026-03-01"  # the test clock stands at 2026-03-18 12:00 UTC


@pytest.fixture
def site(server: Server) -> dict[str, Any]:
    _, website = server.tenant("example.com")
    return website


def row(minute: int = 0, user_id: Any = 1, **fields: Any) -> dict[str, Any]:
    """A pageview at 10:00 + `minute` on DAY."""
    stamp = f"{DAY}T{10 + minute // 60:02d}:{minute % 60:02d}:00Z"
    line = {"name": "pageview", "timestamp": stamp, "user_id": user_id, **fields}
    return {k: v for k, v in line.items() if v is not None}


def by(user: int, minute: int) -> dict[str, Any]:
    """A pageview of visitor `user`, whose path names them (see visits_by_line_visitor)."""
    return row(minute, user_id=user, pathname=f"/v{user}")


def ndjson(*lines: dict[str, Any] | str) -> bytes:
    """Objects as JSON lines; strings are taken as raw (possibly broken) lines."""
    return "".join((x if isinstance(x, str) else json.dumps(x)) + "\n" for x in lines).encode()


def post_import(
    server: Server,
    body: bytes | Iterator[bytes],
    site_id: str | None = "example.com",
    key: str = ADMIN_KEY,
    content_type: str = "application/x-ndjson",
) -> Any:
    params = {} if site_id is None else {"site_id": site_id}
    response = server.client.post(
        IMPORT,
        params=params,
        content=body,
        headers={"X-API-KEY": key, "Content-Type": content_type},
    )
    assert "Traceback" not in response.text
    return response


def summary_of(response: Any) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "success"
    data: dict[str, Any] = body["data"]
    assert set(data) == {"loaded", "skipped", "errors"}
    return data


def imported(server: Server, *lines: dict[str, Any] | str) -> dict[str, Any]:
    return summary_of(post_import(server, ndjson(*lines)))


def assert_error(response: Any, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["status"] == "error"
    assert body["error"]["code"] == code


def visits_by_line_visitor(server: Server) -> dict[int, list[int]]:
    """Pageviews of each visit, grouped by the visitor numbers of the imported `row`s.

    Stored visitor ids are derived from the imported ones, so the stored events name them.
    """
    stored_to_line = {e["visitor_id"]: e["pathname"] for e in server.events()}
    grouped: dict[int, list[int]] = {}
    for visit in server.visits():
        number = int(stored_to_line[visit["visitor_id"]].strip("/v"))
        grouped.setdefault(number, []).append(visit["pageviews"])
    return {number: sorted(pageviews) for number, pageviews in grouped.items()}


def only_error(summary: dict[str, Any]) -> tuple[int, str]:
    assert summary["loaded"] == 0 and summary["skipped"] == 1, summary
    [error] = summary["errors"]
    return int(error["line"]), str(error["message"])


# -- counts and errors ----------------------------------------------------------------------


def test_loads_every_good_line_and_says_so(server: Server, site: dict[str, Any]) -> None:
    summary = imported(server, row(0), row(1), row(2, user_id=2))
    assert summary == {"loaded": 3, "skipped": 0, "errors": []}
    assert len(server.events()) == 3


def test_malformed_json_is_skipped_by_line_number_and_the_rest_loads(
    server: Server, site: dict[str, Any]
) -> None:
    summary = imported(server, row(0), '{"name": "pageview", ', row(1), "not json", "[1, 2]")
    assert summary["loaded"] == 2
    assert summary["skipped"] == 3
    lines = [error["line"] for error in summary["errors"]]
    assert lines == [2, 4, 5]
    assert "JSON" in summary["errors"][0]["message"]
    assert "object" in summary["errors"][2]["message"]
    assert [e["pathname"] for e in server.events()] == ["/", "/"]


def test_lines_that_are_not_utf8_or_nest_too_deep_are_skipped(
    server: Server, site: dict[str, Any]
) -> None:
    body = ndjson(row(0)) + b'{"name": "pageview\xff"}\n' + b"[" * 20_000 + b"]" * 20_000
    summary = summary_of(post_import(server, body + b"\n" + ndjson(row(1))))
    assert summary["loaded"] == 2
    assert [error["line"] for error in summary["errors"]] == [2, 3]


def test_blank_lines_are_ignored_but_keep_the_numbering(
    server: Server, site: dict[str, Any]
) -> None:
    summary = imported(server, row(0), "", "   ", "{oops", row(1))
    assert summary["loaded"] == 2
    assert summary["skipped"] == 1
    assert summary["errors"][0]["line"] == 4


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({"name": 42}, "name"),
        ({"name": "x" * 121}, "name"),
        ({"timestamp": 1767225600}, "timestamp"),
        ({"timestamp": "yesterday"}, "timestamp"),
        ({"user_id": [1]}, "user_id"),
        ({"user_id": True}, "user_id"),
        ({"pathname": 5}, "pathname"),
        ({"hostname": False}, "hostname"),
        ({"referrer": {"url": "x"}}, "referrer"),
        ({"utm_source": 3}, "utm_source"),
        ({"browser": 1}, "browser"),
        ({"country_code": "USA"}, "country_code"),
        ({"city_geoname_id": "Paris"}, "city_geoname_id"),
        ({"city_geoname_id": -1}, "city_geoname_id"),
        ({"props": "plan=pro"}, "props"),
        ({"props": {"plan": {"tier": "pro"}}}, "props"),
        ({"revenue_reporting_amount": "lots"}, "revenue_reporting_amount"),
        ({"revenue_reporting_currency": "EURO"}, "revenue_reporting_currency"),
        ({"scroll_depth": 300}, "scroll_depth"),
        ({"scroll_depth": "deep"}, "scroll_depth"),
        ({"engagement_time": -5}, "engagement_time"),
        ({"ip": "not-an-ip"}, "ip"),
        ({"user_agent": 7}, "user_agent"),
    ],
)
def test_a_wrong_type_skips_the_line_naming_the_field(
    server: Server, site: dict[str, Any], fields: dict[str, Any], named: str
) -> None:
    line, message = only_error(imported(server, row(0, **fields)))
    assert line == 1
    assert named in message
    assert server.events() == []


@pytest.mark.parametrize("missing", ["name", "timestamp"])
def test_name_and_timestamp_are_required(
    server: Server, site: dict[str, Any], missing: str
) -> None:
    line = row(0)
    del line[missing]
    _, message = only_error(imported(server, line))
    assert missing in message and "required" in message


def test_a_blank_name_is_missing(server: Server, site: dict[str, Any]) -> None:
    _, message = only_error(imported(server, row(0, name="  ")))
    assert "name" in message


def test_future_timestamps_are_refused_beyond_a_minute(
    server: Server, site: dict[str, Any]
) -> None:
    soon = {"name": "pageview", "timestamp": "2026-03-18T12:00:50Z", "user_id": 1}
    later = {"name": "pageview", "timestamp": "2026-03-18T12:05:00Z", "user_id": 2}
    summary = imported(server, soon, later)
    assert summary["loaded"] == 1
    assert summary["errors"] == [{"line": 2, "message": "timestamp is in the future"}]


def test_timestamps_at_the_calendars_ends_are_refused(server: Server, site: dict[str, Any]) -> None:
    lines = [
        {"name": "pageview", "timestamp": moment, "user_id": 1}
        for moment in ("0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-12:00", "1969-07-20")
    ]
    summary = imported(server, *lines)
    assert summary["loaded"] == 0
    assert [e["message"] for e in summary["errors"]] == [
        "timestamp must be after 1970-01-01 and not in the future",
        "timestamp must be after 1970-01-01 and not in the future",
        "timestamp must be after 1970-01-01",
    ]


def test_a_bad_line_is_never_half_loaded(server: Server, site: dict[str, Any]) -> None:
    # Everything valid except the very last field read: nothing of the line may be stored.
    line = row(0, pathname="/half", props={"ok": "yes", "bad": [1]}, country_code="DE")
    summary = imported(server, line, row(1, pathname="/whole"))
    assert summary["skipped"] == 1
    assert [e["pathname"] for e in server.events()] == ["/whole"]
    [visit] = server.visits()
    assert visit["pageviews"] == 1


def test_errors_in_the_answer_are_capped_but_all_counted(
    server: Server, site: dict[str, Any]
) -> None:
    summary = imported(server, *["{bad"] * 150, row(0))
    assert summary["loaded"] == 1
    assert summary["skipped"] == 150
    assert len(summary["errors"]) == 100


def test_an_overlong_line_is_skipped_without_harming_its_neighbours(
    server: Server, site: dict[str, Any]
) -> None:
    huge = row(0, pathname="/huge", props={"blob": "x" * (MAX_LINE_BYTES + 10)})
    summary = imported(server, row(1), huge, row(2))
    assert summary["loaded"] == 2
    assert summary["errors"][0]["line"] == 2
    assert "longer" in summary["errors"][0]["message"]


def test_an_empty_body_loads_nothing(server: Server, site: dict[str, Any]) -> None:
    assert summary_of(post_import(server, b"")) == {"loaded": 0, "skipped": 0, "errors": []}


def test_a_body_far_over_the_collector_limit_is_streamed(
    server: Server, site: dict[str, Any]
) -> None:
    lines = [
        row(n % 600, user_id=n, pathname=f"/page/{n}", props={"pad": "p" * 40}) for n in range(3000)
    ]
    body = ndjson(*lines)
    assert len(body) > 4 * server.runtime.settings.max_body_bytes

    def chunks() -> Iterator[bytes]:  # awkward chunk edges, mid-line and mid-character
        for start in range(0, len(body), 7001):
            yield body[start : start + 7001]

    summary = summary_of(post_import(server, chunks()))
    assert summary == {"loaded": 3000, "skipped": 0, "errors": []}
    assert len(server.events()) == 3000


@pytest.mark.parametrize("content_type", ["application/json", "text/plain; charset=utf-8"])
def test_json_and_text_bodies_are_accepted(
    server: Server, site: dict[str, Any], content_type: str
) -> None:
    response = post_import(server, ndjson(row(0)), content_type=content_type)
    assert summary_of(response)["loaded"] == 1


def test_other_content_types_are_refused(server: Server, site: dict[str, Any]) -> None:
    response = post_import(server, ndjson(row(0)), content_type="application/x-www-form-urlencoded")
    assert_error(response, 400, "INVALID_PAYLOAD")
    assert server.events() == []


# -- sites and access -----------------------------------------------------------------------


def test_the_site_may_be_named_by_its_website_id(server: Server, site: dict[str, Any]) -> None:
    summary = summary_of(post_import(server, ndjson(row(0)), site_id=site["id"]))
    assert summary["loaded"] == 1


def test_an_unknown_site_is_404(server: Server, site: dict[str, Any]) -> None:
    assert_error(post_import(server, ndjson(row(0)), site_id="nowhere.example"), 404, "NOT_FOUND")
    unknown = "00000000-0000-4000-8000-000000000000"
    assert_error(post_import(server, ndjson(row(0)), site_id=unknown), 404, "NOT_FOUND")


def test_site_id_is_required(server: Server, site: dict[str, Any]) -> None:
    assert_error(post_import(server, ndjson(row(0)), site_id=None), 400, "INVALID_PAYLOAD")


def test_without_a_key_it_is_401(server: Server, site: dict[str, Any]) -> None:
    response = server.client.post(
        IMPORT,
        params={"site_id": "example.com"},
        content=ndjson(row(0)),
        headers={"Content-Type": "application/x-ndjson"},
    )
    assert_error(response, 401, "UNAUTHORIZED")
    assert_error(post_import(server, ndjson(row(0)), key="tt_wrong"), 401, "UNAUTHORIZED")


def test_a_site_owner_who_is_not_admin_is_403(server: Server) -> None:
    key, _ = server.tenant("owned.example")
    response = post_import(server, ndjson(row(0)), site_id="owned.example", key=key)
    assert_error(response, 403, "FORBIDDEN")
    assert server.events() == []


# -- visits -------------------------------------------------------------------------------


def test_plausibles_os_names_join_the_collected_ones(server: Server, site: dict[str, Any]) -> None:
    # Plausible exports UAInspector's names; collected traffic is named by ua-parser. One OS is
    # one row, whichever way its visits came in.
    mac_ua = (
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/18.1 Safari/605.1.15"
    )
    assert server.collect(site["id"], ua=mac_ua).status_code == 202
    lines = [by(1, 0), by(2, 0), by(3, 0), by(4, 0)]
    for line, os_name in zip(lines, ("Mac", "GNU/Linux", "Chrome OS", "Windows"), strict=True):
        line["os"] = os_name
    imported(server, *lines)
    server.flush()
    response = server.client.get(
        f"/api/v1/reports/devices?website_id={site['id']}&period=all",
        headers={"X-API-KEY": ADMIN_KEY},
    )
    assert response.status_code == 200, response.text
    families = {row["osFamily"]: row["visits"] for row in response.json()["data"]["os_families"]}
    assert families == {"macOS": 2, "Linux": 1, "ChromeOS": 1, "Windows": 1}


def test_events_ten_minutes_apart_are_one_visit(server: Server, site: dict[str, Any]) -> None:
    imported(server, row(0, pathname="/a"), row(10, pathname="/b"))
    [visit] = server.visits()
    assert visit["pageviews"] == 2
    assert (visit["entry_page"], visit["exit_page"]) == ("/a", "/b")
    assert visit["is_bounce"] is False
    assert {e["session_id"] for e in server.events()} == {visit["session_id"]}


def test_events_forty_minutes_apart_are_two_visits(server: Server, site: dict[str, Any]) -> None:
    imported(server, row(0, pathname="/a"), row(40, pathname="/b"))
    visits = server.visits()
    assert [v["pageviews"] for v in visits] == [1, 1]
    assert [v["entry_page"] for v in visits] == ["/a", "/b"]


def test_visits_follow_file_order_per_visitor(server: Server, site: dict[str, Any]) -> None:
    imported(
        server,
        by(1, 0),
        by(2, 5),
        by(1, 20),
        by(1, 50),  # 30 minutes after its last event: still the same visit
        by(2, 90),
    )
    assert visits_by_line_visitor(server) == {1: [3], 2: [1, 1]}


def test_imported_visits_are_closed_and_never_enter_the_live_book(
    server: Server, site: dict[str, Any]
) -> None:
    imported(server, row(0, pathname="/a"), row(10, pathname="/b"), row(45, pathname="/c"))
    assert len(server.runtime.ingestor.visits) == 0
    assert server.runtime.store.fetch("SELECT count(*) FROM sessions_open") == [(0,)]
    assert server.runtime.store.fetch("SELECT count(*) FROM sessions") == [(2,)]


def test_visits_span_commit_batches(server: Server, site: dict[str, Any]) -> None:
    rules = server.runtime.sites.by_domain("example.com")
    assert rules is not None
    importer = Importer.of(server.runtime)
    importer.batch_size = 2
    lines = ndjson(by(1, 0), by(2, 1), by(1, 2), by(2, 50), by(1, 51)).splitlines()
    summary = importer.import_lines(rules, lines)
    assert (summary.loaded, summary.skipped) == (5, 0)
    # Visitor 1 continues across a batch edge; visitor 2's first visit is superseded by a
    # second one, and visitor 1 returns after it was expired: every visit ends up closed.
    assert visits_by_line_visitor(server) == {1: [1, 2], 2: [1, 1]}
    assert server.runtime.store.fetch("SELECT count(*) FROM sessions_open") == [(0,)]


def test_string_user_ids_are_stable_visitors(server: Server, site: dict[str, Any]) -> None:
    imported(
        server,
        row(0, user_id="alice@example.com"),
        row(3, user_id="bob"),
        row(6, user_id="alice@example.com"),
        row(7, user_id="18446744073709551615"),  # a quoted UInt64, as ClickHouse writes it
        row(8, user_id=-1),  # the same id rendered as a signed Int64
    )
    events = server.events()
    alice = events[0]["visitor_id"]
    assert events[2]["visitor_id"] == alice
    assert events[1]["visitor_id"] not in (alice, 0)
    assert events[3]["visitor_id"] == events[4]["visitor_id"]
    assert sorted(v["pageviews"] for v in server.visits()) == [1, 2, 2]


def test_lines_without_any_identity_are_separate_visitors(
    server: Server, site: dict[str, Any]
) -> None:
    imported(server, row(0, user_id=None), row(1, user_id=None))
    assert len({e["visitor_id"] for e in server.events()}) == 2
    assert len(server.visits()) == 2


# -- enrichment -----------------------------------------------------------------------------


def test_plausible_columns_land_on_the_event(server: Server, site: dict[str, Any]) -> None:
    line = row(
        0,
        name="Signup",
        hostname="www.Example.com",
        pathname="/pricing",
        referrer="news.ycombinator.com/item",
        utm_medium="social",
        utm_source="hn",
        utm_campaign="launch",
        utm_content="top",
        utm_term="analytics",
        browser="Firefox",
        browser_version="121.0",
        os="Linux",
        os_version="6.1",
        screen_size="mobile",
        country_code="de",
        subdivision1_code="DE-BE",
        city_geoname_id=2950159,
        props={"plan": "pro", "seats": 3, "trial": False, "empty": ""},
        revenue_reporting_amount="19.99",
        revenue_reporting_currency="eur",
        scroll_depth=80,
        engagement_time=12000,
        some_unknown_column="ignored",
    )
    assert imported(server, line)["loaded"] == 1
    [event] = server.events()
    assert event["name"] == "Signup"
    assert (event["hostname"], event["pathname"]) == ("example.com", "/pricing")
    assert event["referrer"] == "news.ycombinator.com/item"
    assert event["referrer_source"] == "Hacker News"
    assert event["channel"] == "Organic Social"
    assert (event["utm_source"], event["utm_medium"]) == ("hn", "social")
    assert (event["utm_campaign"], event["utm_content"], event["utm_term"]) == (
        "launch",
        "top",
        "analytics",
    )
    assert (event["browser"], event["browser_version"]) == ("Firefox", "121.0")
    assert (event["os"], event["os_version"]) == ("Linux", "6.1")
    assert event["device"] == "Mobile"
    assert (event["country"], event["region"], event["city"]) == ("DE", "DE-BE", "2950159")
    assert dict(event["props"]) == {"plan": "pro", "seats": "3", "trial": "false"}
    assert float(event["revenue_amount"]) == 19.99
    assert event["revenue_currency"] == "EUR"
    assert (event["scroll_depth"], event["engagement_ms"]) == (80, 12000)
    assert event["is_bot"] is False


def test_missing_columns_are_empty(server: Server, site: dict[str, Any]) -> None:
    imported(server, {"name": "pageview", "timestamp": f"{DAY} 10:00:00", "user_id": 9})
    [event] = server.events()
    assert (event["hostname"], event["pathname"]) == ("example.com", "/")
    for column in ("referrer", "referrer_source", "utm_source", "browser", "os", "device"):
        assert event[column] == "", column
    assert (event["country"], event["city"]) == ("", "")
    assert event["channel"] == "Direct"
    assert (event["scroll_depth"], event["engagement_ms"], event["revenue_amount"]) == (
        None,
        None,
        None,
    )


def test_timestamps_are_utc(server: Server, site: dict[str, Any]) -> None:
    imported(
        server,
        {"name": "pageview", "timestamp": "2026-03-01T12:00:00+02:00", "user_id": 1},
        {"name": "pageview", "timestamp": "2026-03-01 10:30:00", "user_id": 1},
    )
    stamps = [e["ts"].isoformat() for e in server.events()]
    assert stamps == ["2026-03-01T10:00:00", "2026-03-01T10:30:00"]


def test_raw_ip_user_agent_and_url_go_through_enrichment(
    server: Server, site: dict[str, Any]
) -> None:
    line = {
        "name": "pageview",
        "timestamp": f"{DAY}T10:00:00Z",
        "ip": "8.8.8.8",
        "user_agent": CHROME_UA,
        "url": "https://www.example.com/landing?utm_source=newsletter&utm_medium=email",
        "referrer": "https://www.google.com/search?q=x",
    }
    again = {**line, "timestamp": f"{DAY}T10:05:00Z", "url": "https://example.com/next"}
    assert imported(server, line, again)["loaded"] == 2
    first, second = server.events()
    assert (first["hostname"], first["pathname"]) == ("example.com", "/landing")
    assert (first["utm_source"], first["utm_medium"]) == ("newsletter", "email")
    assert first["browser"] == "Chrome"
    assert first["os"] == "Windows"
    assert first["device"] == "Desktop"
    assert first["country"] == "US"
    assert first["referrer"] == "google.com/search"
    assert first["channel"] == "Email"
    assert first["visitor_id"] not in (0, None)
    # The same IP and browser: one salted visitor, one visit.
    assert second["visitor_id"] == first["visitor_id"]
    [visit] = server.visits()
    assert visit["pageviews"] == 2
    stored = json.dumps([first, second, visit], default=str)
    assert "8.8.8.8" not in stored and "Chrome/120" not in stored


def test_blank_columns_leave_the_enrichment_alone(server: Server, site: dict[str, Any]) -> None:
    line = row(0, ip="8.8.8.8", user_agent=CHROME_UA, browser="", os=" ", screen_size="")
    line.update(country_code="\u0000\u0000", referrer_source="", referrer="t.co/abc")
    imported(server, line)
    [event] = server.events()
    assert (event["browser"], event["os"], event["device"]) == ("Chrome", "Windows", "Desktop")
    assert event["country"] == "US"
    assert (event["referrer"], event["referrer_source"]) == ("t.co/abc", "Twitter")


def test_a_bot_user_agent_is_flagged(server: Server, site: dict[str, Any]) -> None:
    bot = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
    imported(server, {"name": "pageview", "timestamp": f"{DAY}T10:00:00Z", "user_agent": bot})
    [event] = server.events()
    assert event["is_bot"] is True


def test_tinytrail_page_views_import_as_pageviews(server: Server, site: dict[str, Any]) -> None:
    imported(server, row(0, name="page_view"))
    [event] = server.events()
    assert event["name"] == "pageview"


def test_imported_and_live_events_live_side_by_side(server: Server, site: dict[str, Any]) -> None:
    assert server.collect(site["id"], "/live").status_code == 202
    imported(server, row(0, pathname="/old"))
    pages = sorted(e["pathname"] for e in server.events())
    assert pages == ["/live", "/old"]
    seqs = [e["seq"] for e in server.events()]
    assert len(set(seqs)) == 2
    assert len(server.runtime.ingestor.visits) == 1  # only the live visitor's visit is open
