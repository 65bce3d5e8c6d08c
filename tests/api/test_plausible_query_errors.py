"""`POST /api/v2/query` errors: validation messages, authentication, rate limits, robustness.

Messages are Plausible's (plausible-reference.md 1.9 and the v2 fact sheet): schema-level ones
start with a JSON pointer, parser- and build-level ones are plain. Every error is HTTP 400
`{"error": message}` unless noted; no request may ever crash the server (500).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from typing import Any

import pytest

from tests.api.test_plausible_query import DOMAIN, WEEK, Data, add_goal, post, seeded
from tests.support import Server

INVALID_KEY = (
    "Invalid API key or site ID. Please make sure you're using a valid API key with access to "
    "the site you've requested."
)
MISSING_KEY = "Missing API key. Please use a valid Plausible API key as a Bearer Token."
MISSING_SITE = "Missing site ID. Please provide the required site_id parameter with your request."
GOALS_DOC = (
    "Find out how to configure goals here: https://plausible.io/docs/stats-api#filtering-by-goals"
)


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Data]:
    yield from seeded(tmp_path_factory.mktemp("errors") / "data")


def body(**fields: Any) -> dict[str, Any]:
    """A valid query with `fields` replaced; a field given as None is left out."""
    query = {"site_id": DOMAIN, "metrics": ["visitors"], "date_range": WEEK, **fields}
    return {k: v for k, v in query.items() if v is not None}


# -- JSON schema ----------------------------------------------------------------------------

SCHEMA_ERRORS: list[tuple[dict[str, Any], str]] = [
    # Required keys (site_id is checked by the auth step first, see below).
    (
        {"metrics": None, "date_range": None},
        "#: Required properties metrics, date_range were not present.",
    ),
    ({"metrics": None}, "#: Required property metrics was not present."),
    ({"date_range": None}, "#: Required property date_range was not present."),
    # Unknown top-level keys, `date` included (internal only).
    ({"date": "2021-01-01"}, "#/date: Schema does not allow additional properties."),
    ({"interval": "day"}, "#/interval: Schema does not allow additional properties."),
    # metrics
    ({"metrics": "visitors"}, "#/metrics: Type mismatch. Expected Array but got String."),
    ({"metrics": []}, "#/metrics: Expected a minimum of 1 items but got 0."),
    ({"metrics": ["visitors", "baa"]}, '#/metrics/1: Invalid metric "baa"'),
    ({"metrics": ["visitors", "event:name"]}, '#/metrics/1: Invalid metric "event:name"'),
    ({"metrics": [1]}, "#/metrics/0: Invalid metric 1"),
    ({"metrics": [None]}, "#/metrics/0: Invalid metric nil"),
    ({"metrics": ["exit_rate"]}, '#/metrics/0: Invalid metric "exit_rate"'),  # internal
    (
        {"metrics": ["visitors", "visitors"]},
        "#/metrics: Expected items to be unique but they were not.",
    ),
    # Every invalid item is reported, one line each.
    (
        {"metrics": ["foo", "bar"]},
        '#/metrics/0: Invalid metric "foo"\n#/metrics/1: Invalid metric "bar"',
    ),
    # dimensions
    ({"dimensions": "foobar"}, "#/dimensions: Type mismatch. Expected Array but got String."),
    ({"dimensions": ["badproperty"]}, '#/dimensions/0: Invalid dimension "badproperty"'),
    ({"dimensions": ["visitors"]}, '#/dimensions/0: Invalid dimension "visitors"'),
    ({"dimensions": ["event:props:"]}, '#/dimensions/0: Invalid dimension "event:props:"'),
    ({"dimensions": ["time:minute"]}, '#/dimensions/0: Invalid dimension "time:minute"'),
    (
        {"dimensions": ["event:page", "event:page"]},
        "#/dimensions: Expected items to be unique but they were not.",
    ),
    # filters
    ({"filters": "foobar"}, "#/filters: Type mismatch. Expected Array but got String."),
    (
        {"filters": [["exists?", "event:name", ["foo"]]]},
        '#/filters/0: Invalid filter ["exists?", "event:name", ["foo"]]',
    ),
    (
        {"filters": [["is", "event:device", ["foo"]]]},
        '#/filters/0: Invalid filter ["is", "event:device", ["foo"]]',
    ),
    (
        {"filters": [["is", "visit:name", ["foo"]]]},
        '#/filters/0: Invalid filter ["is", "visit:name", ["foo"]]',
    ),
    (
        {"filters": [["is", "badproperty", ["bar"]]]},
        '#/filters/0: Invalid filter ["is", "badproperty", ["bar"]]',
    ),
    (
        {"filters": [["is", "time", ["2021"]]]},
        '#/filters/0: Invalid filter ["is", "time", ["2021"]]',
    ),
    (
        {"filters": [["is", "event:name", "foo"]]},
        '#/filters/0: Invalid filter ["is", "event:name", "foo"]',
    ),
    ({"filters": [[]]}, "#/filters/0: Invalid filter []"),
    ({"filters": [["and"]]}, '#/filters/0: Invalid filter ["and"]'),
    ({"filters": [["or", []]]}, '#/filters/0: Invalid filter ["or", []]'),
    ({"filters": [["not"]]}, '#/filters/0: Invalid filter ["not"]'),
    ({"filters": [["not", []]]}, '#/filters/0: Invalid filter ["not", []]'),
    ({"filters": [["has_done"]]}, '#/filters/0: Invalid filter ["has_done"]'),
    ({"filters": [["has_done", []]]}, '#/filters/0: Invalid filter ["has_done", []]'),
    ({"filters": [["is_not"]]}, '#/filters/0: Invalid filter ["is_not"]'),
    (
        {"filters": [["is_not", "event:name"]]},
        '#/filters/0: Invalid filter ["is_not", "event:name"]',
    ),
    (
        {"filters": [["and", [["is", "event:name", ["a"]]], "extra"]]},
        '#/filters/0: Invalid filter ["and", [["is", "event:name", ["a"]]], "extra"]',
    ),
    (
        {"filters": [["not", ["is", "event:name", ["a"]], 1]]},
        '#/filters/0: Invalid filter ["not", ["is", "event:name", ["a"]], 1]',
    ),
    (
        {"filters": [["is", "event:props:foobar", ["value"], True]]},
        '#/filters/0: Invalid filter ["is", "event:props:foobar", ["value"], true]',
    ),
    # event:goal takes only is / contains.
    (
        {"filters": [["is_not", "event:goal", ["Signup"]]]},
        '#/filters/0: Invalid filter ["is_not", "event:goal", ["Signup"]]',
    ),
    # No case modifier with pattern operators; no unknown modifiers.
    (
        {"filters": [["matches", "event:hostname", ["a.plausible.io"], {"case_sensitive": False}]]},
        '#/filters/0: Invalid filter ["matches", "event:hostname", ["a.plausible.io"], '
        '%{"case_sensitive" => false}]',
    ),
    (
        {"filters": [["is", "event:page", ["/"], {"exact": True}]]},
        '#/filters/0: Invalid filter ["is", "event:page", ["/"], %{"exact" => true}]',
    ),
    # Internal-only operators.
    (
        {"filters": [["matches_wildcard", "event:name", ["foo"]]]},
        '#/filters/0: Invalid filter ["matches_wildcard", "event:name", ["foo"]]',
    ),
    (
        {"filters": [["does_not_match", "event:page", ["/a"]]]},
        '#/filters/0: Invalid filter ["does_not_match", "event:page", ["/a"]]',
    ),
    # Clauses are strings or integers only.
    (
        {"filters": [["is", "event:page", [None]]]},
        '#/filters/0: Invalid filter ["is", "event:page", [nil]]',
    ),
    (
        {"filters": [["is", "event:page", [True]]]},
        '#/filters/0: Invalid filter ["is", "event:page", [true]]',
    ),
    # The whole top-level entry is shown, at its index.
    (
        {"filters": [["is", "event:name", ["a"]], ["and", [["is", "event:name", ["a"]], ["bad"]]]]},
        '#/filters/1: Invalid filter ["and", [["is", "event:name", ["a"]], ["bad"]]]',
    ),
    # date_range
    ({"date_range": "bad_period"}, '#/date_range: Invalid date range "bad_period"'),
    ({"date_range": "foo"}, '#/date_range: Invalid date range "foo"'),
    ({"date_range": "-1d"}, '#/date_range: Invalid date range "-1d"'),
    ({"date_range": "30m"}, '#/date_range: Invalid date range "30m"'),
    ({"date_range": "realtime"}, '#/date_range: Invalid date range "realtime"'),
    ({"date_range": 5}, "#/date_range: Invalid date range 5"),
    ({"date_range": ["2021-01-01"]}, '#/date_range: Invalid date range ["2021-01-01"]'),
    ({"date_range": ["21415-00", "eee"]}, '#/date_range: Invalid date range ["21415-00", "eee"]'),
    (
        {"date_range": ["2021-02-03T00:00:00Z", "2021-02-04"]},
        '#/date_range: Invalid date range ["2021-02-03T00:00:00Z", "2021-02-04"]',
    ),
    (
        {"date_range": ["2021-02-03T00:00:00-25:00", "2021-02-03T23:59:59-25:00"]},
        "#/date_range: Invalid date range "
        '["2021-02-03T00:00:00-25:00", "2021-02-03T23:59:59-25:00"]',
    ),
    # order_by
    ({"order_by": "x"}, "#/order_by: Type mismatch. Expected Array but got String."),
    ({"order_by": [["visssss", "desc"]]}, '#/order_by/0/0: Invalid value in order_by "visssss"'),
    ({"order_by": [["visitors", "up"]]}, "#/order_by/0/1: Value is not allowed in enum."),
    # include
    ({"include": "foobar"}, "#/include: Type mismatch. Expected Object but got String."),
    (
        {"include": {"comparisons": {"mode": "previous_period"}}},
        "#/include/comparisons: Schema does not allow additional properties.",
    ),
    (
        {"include": {"time_labels": "yes"}},
        "#/include/time_labels: Type mismatch. Expected Boolean but got String.",
    ),
    (
        {"include": {"total_rows": 1}},
        "#/include/total_rows: Type mismatch. Expected Boolean but got Integer.",
    ),
    # pagination
    ({"pagination": {"limit": 100000}}, "#/pagination/limit: Expected the value to be <= 10000"),
    ({"pagination": {"limit": 0}}, "#/pagination/limit: Expected the value to be >= 1"),
    ({"pagination": {"offset": -5}}, "#/pagination/offset: Expected the value to be >= 0"),
    (
        {"pagination": {"limit": "10"}},
        "#/pagination/limit: Type mismatch. Expected Integer but got String.",
    ),
    (
        {"pagination": {"limit": 10.5}},
        "#/pagination/limit: Type mismatch. Expected Integer but got Number.",
    ),
    # Several errors at once: properties alphabetically, then unknown keys, one per line.
    (
        {"metrics": [], "dimensions": "x", "date": 1},
        "#/dimensions: Type mismatch. Expected Array but got String.\n"
        "#/metrics: Expected a minimum of 1 items but got 0.\n"
        "#/date: Schema does not allow additional properties.",
    ),
]


@pytest.mark.parametrize(
    ("fields", "message"), SCHEMA_ERRORS, ids=[message[:70] for _, message in SCHEMA_ERRORS]
)
def test_schema_errors(data: Data, fields: dict[str, Any], message: str) -> None:
    assert data.error(body(**fields)) == message


# -- parser ---------------------------------------------------------------------------------

PARSER_ERRORS: list[tuple[dict[str, Any], str]] = [
    (
        {"filters": [["is", "visit:country", ["USA"]]]},
        "Invalid visit:country filter, visit:country needs to be a valid 2-letter country code.",
    ),
    (
        {"filters": [["is_not", "visit:country", ["GB", "Estonia"]]]},
        "Invalid visit:country filter, visit:country needs to be a valid 2-letter country code.",
    ),
    (
        {"filters": [["is", "visit:os_version", [123]]]},
        """Invalid filter '["is", "visit:os_version", [123]]'.""",
    ),
    (
        {"filters": [["is", "visit:city", [1, "a"]]]},
        """Invalid filter '["is", "visit:city", [1, "a"]]'.""",
    ),
    ({"filters": [["is", "segment", ["123"]]]}, """Invalid filter '["is", "segment", ["123"]]'."""),
    ({"date_range": "999999999mo"}, 'Invalid date_range "999999999mo"'),
    ({"date_range": "5001d"}, 'Invalid date_range "5001d"'),
    ({"date_range": "101mo"}, 'Invalid date_range "101mo"'),
    (
        {"date_range": ["2021-02-03T00:00:00", "2021-02-03T23:59:59"]},
        """Invalid date_range '["2021-02-03T00:00:00", "2021-02-03T23:59:59"]'.""",
    ),
]


@pytest.mark.parametrize(
    ("fields", "message"), PARSER_ERRORS, ids=[message[:70] for _, message in PARSER_ERRORS]
)
def test_parser_errors(data: Data, fields: dict[str, Any], message: str) -> None:
    assert data.error(body(**fields)) == message


def test_contains_on_country_takes_any_text(data: Data) -> None:
    flt = ["contains", "visit:country", ["USA"]]
    assert data.metrics(metrics=["visitors"], filters=[flt]) == [0]


# -- query building -------------------------------------------------------------------------

SIGNUP = ["is", "event:goal", ["Signup"]]
BUILD_ERRORS: list[tuple[dict[str, Any], str]] = [
    # Segments: TinyTrail has none, so any id is unknown; more than 10 is refused first.
    (
        {"filters": [["is", "segment", [123]]]},
        "Invalid filters. Some segments don't exist or aren't accessible.",
    ),
    (
        {"filters": [["and", [["is", "segment", [i]] for i in range(1, 12)]]]},
        "Invalid filters. You can only use up to 10 segment filters in a query.",
    ),
    # order_by entries must be queried (metrics print as atoms, dimensions as strings).
    (
        {"order_by": [["events", "desc"]]},
        "Invalid order_by entry '{:events, :desc}'. Entry is not a queried metric or dimension.",
    ),
    (
        {"order_by": [["event:name", "desc"]]},
        """Invalid order_by entry '{"event:name", :desc}'. """
        "Entry is not a queried metric or dimension.",
    ),
    # Top-level-only dimensions.
    (
        {"filters": [["or", [SIGNUP, ["is", "event:name", ["pageview"]]]]]},
        "Invalid filters. Dimension `event:goal` can only be filtered at the top level.",
    ),
    (
        {"filters": [["not", ["is", "event:hostname", ["a"]]]]},
        "Invalid filters. Dimension `event:hostname` can only be filtered at the top level.",
    ),
    (
        {
            "metrics": ["conversion_rate"],
            "filters": [
                SIGNUP,
                ["or", [["is", "event:props:plan", ["pro"]], ["is", "event:props:plan", ["free"]]]],
            ],
        },
        "Invalid filters. When `conversion_rate` or `group_conversion_rate` metrics are used, "
        "custom property filters can only be used on top level.",
    ),
    # Behavioural filters.
    (
        {"filters": [["has_done", ["has_not_done", ["is", "event:name", ["a"]]]]]},
        "Invalid filters. Behavioral filters (has_done, has_not_done) cannot be nested.",
    ),
    (
        {"filters": [["has_done", ["is", "visit:browser", ["Chrome"]]]]},
        "Invalid filters. Behavioral filters (has_done, has_not_done) can only be used with event "
        "dimension filters.",
    ),
    (
        {
            "filters": [
                ["has_not_done", ["or", [["is", "event:name", ["a"]], ["is", "visit:os", ["b"]]]]]
            ]
        },
        "Invalid filters. Behavioral filters (has_done, has_not_done) can only be used with event "
        "dimension filters.",
    ),
    # Goals must be configured (display names, exactly).
    (
        {"filters": [["is", "event:goal", ["Unknown"]]]},
        f"Invalid filters. The goal `Unknown` is not configured for this site. {GOALS_DOC}",
    ),
    (
        {"filters": [["is", "event:goal", ["signup"]]]},
        f"Invalid filters. The goal `signup` is not configured for this site. {GOALS_DOC}",
    ),
    (
        {"filters": [["is", "event:goal", ["Signup", "Visit /thank-you"]]]},
        "Invalid filters. The goal `Visit /thank-you` is not configured for this site. "
        + GOALS_DOC,
    ),
    (
        {"filters": [["has_done", ["is", "event:goal", ["Nope"]]]]},
        f"Invalid filters. The goal `Nope` is not configured for this site. {GOALS_DOC}",
    ),
    # Metric requirements.
    (
        {"metrics": ["conversion_rate"]},
        "Metric `conversion_rate` can only be queried with event:goal filters or dimensions.",
    ),
    (
        {"metrics": ["group_conversion_rate"], "dimensions": ["visit:source"]},
        "Metric `group_conversion_rate` can only be queried with event:goal filters or dimensions.",
    ),
    (
        {"metrics": ["conversion_rate"], "filters": [["has_done", SIGNUP]]},
        "Metric `conversion_rate` can only be queried with event:goal filters or dimensions.",
    ),
    (
        {"metrics": ["scroll_depth"]},
        "Metric `scroll_depth` can only be queried with event:page filters or dimensions.",
    ),
    (
        {"metrics": ["scroll_depth"], "filters": [["or", [["is", "event:page", ["/"]]]]]},
        "Metric `scroll_depth` can only be queried with event:page filters or dimensions.",
    ),
    (
        {"metrics": ["time_on_page"]},
        "Metric `time_on_page` can only be queried with event:page filters or dimensions.",
    ),
    (
        {"metrics": ["time_on_page"], "filters": [["has_done", ["is", "event:page", ["/"]]]]},
        "Metric `time_on_page` can only be queried with event:page filters or dimensions.",
    ),
    (
        {"metrics": ["views_per_visit"], "filters": [["is", "event:page", ["/"]]]},
        "Metric `views_per_visit` cannot be queried with a filter on `event:page`.",
    ),
    (
        {"metrics": ["views_per_visit"], "filters": [["not", ["is", "event:page", ["/"]]]]},
        "Metric `views_per_visit` cannot be queried with a filter on `event:page`.",
    ),
    (
        {"metrics": ["views_per_visit"], "dimensions": ["event:name"]},
        "Metric `views_per_visit` cannot be queried with `dimensions`.",
    ),
    (
        {"metrics": ["views_per_visit"], "dimensions": ["time"]},
        "Metric `views_per_visit` cannot be queried with `dimensions`.",
    ),
    # Metrics are checked in request order.
    (
        {"metrics": ["views_per_visit", "conversion_rate"], "dimensions": ["visit:browser"]},
        "Metric `views_per_visit` cannot be queried with `dimensions`.",
    ),
    # Visit metrics with event dimensions (event:page alone is allowed), event metrics with
    # visit-only dimensions; no trailing period.
    (
        {"metrics": ["bounce_rate"], "dimensions": ["event:name"]},
        "Session metric(s) `bounce_rate` cannot be queried along with event dimension(s) "
        "`event:name`",
    ),
    (
        {
            "metrics": ["visitors", "bounce_rate", "visit_duration"],
            "dimensions": ["event:props:plan"],
        },
        "Session metric(s) `bounce_rate`, `visit_duration` cannot be queried along with event "
        "dimension(s) `event:props:plan`",
    ),
    (
        {"metrics": ["events"], "dimensions": ["visit:exit_page"]},
        "Event metric(s) `events` cannot be queried along with session dimension(s) "
        "`visit:exit_page`",
    ),
    (
        {"metrics": ["pageviews", "events"], "dimensions": ["visit:entry_page"]},
        "Event metric(s) `pageviews`, `events` cannot be queried along with session dimension(s) "
        "`visit:entry_page`",
    ),
    ({"include": {"time_labels": True}}, "Invalid include.time_labels: requires a time dimension."),
    (
        {"include": {"time_labels": True}, "dimensions": ["event:page"]},
        "Invalid include.time_labels: requires a time dimension.",
    ),
]


@pytest.mark.parametrize(
    ("fields", "message"), BUILD_ERRORS, ids=[message[:70] for _, message in BUILD_ERRORS]
)
def test_build_errors(data: Data, fields: dict[str, Any], message: str) -> None:
    assert data.error(body(**fields)) == message


@pytest.mark.parametrize(
    "fields",
    [
        {"metrics": ["bounce_rate", "visit_duration"], "dimensions": ["event:page"]},
        {"metrics": ["bounce_rate"], "filters": [["is", "event:props:plan", ["(none)"]]]},
        {"metrics": ["conversion_rate"], "dimensions": ["event:goal"]},
        {"metrics": ["visitors"], "filters": [["contains", "event:goal", ["Unknown"]]]},
        {"metrics": ["visitors"], "filters": [["has_done", SIGNUP]]},
        {"metrics": ["scroll_depth"], "dimensions": ["event:page"]},
        {"metrics": ["time_on_page"], "filters": [["is", "event:page", ["/"]]]},
        {"metrics": ["visitors"], "dimensions": ["time"], "include": {"time_labels": True}},
        {"metrics": ["visitors"], "order_by": [["visitors", "asc"]]},
        {"metrics": ["visitors"], "filters": [["is", "visit:city", ["588409"]]]},
        {"metrics": ["visitors"], "filters": [["is", "event:page", []]]},
        {"metrics": ["visitors"], "date_range": "3mo"},
        {"metrics": ["visitors"], "date_range": "10d"},
    ],
)
def test_valid_edge_queries(data: Data, fields: dict[str, Any]) -> None:
    response = data.post(body(**fields))
    assert response.status_code == 200, response.text


# -- authentication and site ----------------------------------------------------------------


def test_missing_or_malformed_authorization(data: Data) -> None:
    client = data.server.client
    for headers in ({}, {"Authorization": "Basic abc"}, {"Authorization": "Bearer "}):
        response = client.post("/api/v2/query", json=body(), headers=headers)
        assert response.status_code == 401, response.text
        assert response.json() == {"error": MISSING_KEY}


def test_invalid_key_or_site(data: Data) -> None:
    # An unknown key, even without a site_id.
    assert post(data.server, body(), "nope").json() == {"error": INVALID_KEY}
    assert post(data.server, body(), "nope").status_code == 401
    assert post(data.server, {}, "nope").status_code == 401
    # A site nobody has.
    for site_id in ("unknown.test", "stats.test" * 1000, ""):
        response = post(data.server, body(site_id=site_id), data.key)
        expected = MISSING_SITE if site_id == "" else INVALID_KEY
        assert response.status_code == (400 if site_id == "" else 401)
        assert response.json() == {"error": expected}


def test_another_accounts_site(data: Data) -> None:
    other_key, _ = data.server.tenant("other-account.test")
    response = post(data.server, body(), other_key)
    assert response.status_code == 401
    assert response.json() == {"error": INVALID_KEY}
    # The other account's own site works with its key.
    response = post(data.server, body(site_id="other-account.test"), other_key)
    assert response.status_code == 200, response.text


def test_missing_site_id(data: Data) -> None:
    for query in ({}, body(site_id=None), {"metrics": ["visitors"]}):
        response = post(data.server, query, data.key)
        assert response.status_code == 400
        assert response.json() == {"error": MISSING_SITE}


def test_admin_key_sees_every_site(data: Data) -> None:
    response = post(data.server, body(), data.server.admin["X-API-KEY"])
    assert response.status_code == 200, response.text
    assert response.json()["results"] == [{"dimensions": [], "metrics": [7]}]


@pytest.mark.parametrize(
    ("scopes", "status"),
    [(["stats:read:*"], 200), (["sites:provision:*"], 200), (["count"], 403)],
)
def test_every_plausible_key_reads_stats(data: Data, scopes: list[str], status: int) -> None:
    # Plausible makes stats:read:* implicit for its keys; a GoatCounter count token is no such key.
    created = data.server.client.post(
        "/api/v1/api-keys",
        json={"name": "scoped", "scopes": scopes},
        headers={"X-API-KEY": data.key},
    )
    assert created.status_code == 201, created.text
    response = post(data.server, body(), created.json()["data"]["key"])
    assert response.status_code == status, response.text
    if status == 403:
        assert response.json() == {"error": "This API key lacks the stats:read:* scope"}


def test_previous_domain_still_names_the_site(server: Server) -> None:
    # After a domain change (Sites API), the old domain keeps working and the echo names the
    # site's current domain (Plausible matches domain or domain_changed_from).
    key, _ = server.tenant("old-name.test")
    add_goal(server, key, "old-name.test", goal_type="event", event_name="Signup")
    response = server.client.put(
        "/api/v1/sites/old-name.test",
        json={"domain": "new-name.test"},
        headers={"Authorization": f"Bearer {key}"},
    )
    assert response.status_code == 200, response.text
    for domain in ("new-name.test", "old-name.test"):
        query = {"site_id": domain, "metrics": ["visitors"], "date_range": "day"}
        response = post(server, query, key)
        assert response.status_code == 200, response.text
        assert response.json()["query"]["site_id"] == "new-name.test"


def test_rate_limit(make_server: Callable[..., AbstractContextManager[Server]]) -> None:
    with make_server(TINYTRAIL_RATE_LIMITS="on", TINYTRAIL_RATE_LIMIT_STATS="3/1h") as server:
        key, _ = server.tenant("limited.test")
        other_key, _ = server.tenant("other.test")
        query = {"site_id": "limited.test", "metrics": ["visitors"], "date_range": "day"}
        for _ in range(3):
            assert post(server, query, key).status_code == 200
        response = post(server, query, key)
        assert response.status_code == 429
        assert response.json() == {
            "error": "Too many API requests. Your API key is limited to 3 requests per hour. "
            "Please contact us to request more capacity."
        }
        # Limited before the site is even looked at; per key.
        assert post(server, {"metrics": ["visitors"]}, key).status_code == 429
        query["site_id"] = "other.test"
        assert post(server, query, other_key).status_code == 200


# -- malformed bodies and robustness --------------------------------------------------------


def raw(data: Data, content: bytes) -> Any:
    response = data.server.client.post(
        "/api/v2/query",
        content=content,
        headers={"Authorization": f"Bearer {data.key}", "Content-Type": "application/json"},
    )
    assert response.status_code != 500, response.text
    return response


@pytest.mark.parametrize(
    "content",
    [b'{"site_id": "stats.test"', b"", b"not json", b"\xff\xfe", b'{"site_id": "stats.test",}'],
)
def test_malformed_json(data: Data, content: bytes) -> None:
    response = raw(data, content)
    assert response.status_code == 400
    payload = response.json()
    assert set(payload) == {"error"} and isinstance(payload["error"], str) and payload["error"]


@pytest.mark.parametrize("content", [b"[1, 2]", b'"query"', b"42", b"null"])
def test_body_that_is_not_an_object(data: Data, content: bytes) -> None:
    response = raw(data, content)
    assert response.status_code == 400
    assert set(response.json()) == {"error"}


def assert_handled(data: Data, query: Any) -> Any:
    """The server answers 200 or 400 (with Plausible's error shape), never crashes."""
    content = query if isinstance(query, bytes) else json.dumps(query).encode()
    try:
        response = raw(data, content)
    except Exception as exc:  # the test client re-raises server errors
        pytest.fail(f"the server crashed: {exc!r}")
    assert response.status_code in (200, 400), response.text
    if response.status_code == 400:
        assert set(response.json()) == {"error"}
    return response


LEAF = '["is","event:page",["/"]]'


def nested(template: str, depth: int) -> bytes:
    """A filter tree `depth` levels deep, built as text (json.dumps would recurse too)."""
    tree = LEAF
    for _ in range(depth):
        tree = template.replace("{}", tree)
    query = {"site_id": DOMAIN, "metrics": ["visitors"], "date_range": WEEK}
    return json.dumps(query)[:-1].encode() + b', "filters": [' + tree.encode() + b"]}"


@pytest.mark.parametrize("depth", [50, 200, 350, 450, 600, 2000])
def test_deeply_nested_filters(data: Data, depth: int) -> None:
    for template in ('["not",{}]', '["or",[{}]]', '["and",[{},' + LEAF + "]]"):
        response = assert_handled(data, nested(template, depth))
        if response.status_code == 200:
            # Any depth of or/and around "/" is "/": users 1, 4, 7. An odd number of nots is
            # "not /": users 1, 2, 3, 5, 6 had events elsewhere.
            odd_nots = template.startswith('["not"') and depth % 2 == 1
            expected = 5 if odd_nots else 3
            assert response.json()["results"][0]["metrics"] == [expected]


@pytest.mark.parametrize(
    "pattern",
    [
        "(",  # unbalanced
        "\\",  # trailing backslash
        "(?<name>x)",  # Perl syntax RE2 lacks
        "a{1000}{1000}",  # repetition too large
        "[z-a]",  # bad range
        "(a+)+$" * 300,  # long, pathological for backtracking engines
        "x" * 20000,
    ],
)
def test_bad_or_huge_regexes(data: Data, pattern: str) -> None:
    for op in ("matches", "matches_not"):
        query = body(filters=[[op, "event:page", [pattern]]])
        assert_handled(data, query)


@pytest.mark.parametrize(
    "fields",
    [
        {"filters": [["is", "event:page", [f"/p{i}"]] for i in range(500)]},
        {"filters": [["is", "event:page", [f"/p{i}" for i in range(20000)]]]},
        {"filters": [["contains", "event:page", ["\x00", "%", "_", "'", '"', "\\"]]]},
        {"filters": [["is", "event:props:" + "k" * 5000, ["v"]]]},
        {"dimensions": ["event:props:" + "k" * 300]},
        {"filters": [["is", "visit:city", [2**70]]]},
        {"filters": [["is", "visit:city", [-1]]]},
        {"pagination": {"limit": 10000, "offset": 2**63}},
        {"pagination": {"limit": 10000, "offset": 10**30}},
        {"date_range": ["0001-01-01", "9999-12-31"]},
        {"date_range": ["2021-02-30", "2021-03-01"]},
        {"date_range": ["2021-03-05", "2021-03-01"]},
        {"date_range": ["2026-03-10T00:00:00+14:00", "2026-03-10T00:00:00-12:00"]},
        {"date_range": ["2026-03-12T00:00:00Z", "2026-03-10T00:00:00Z"]},
        {"order_by": [["visitors", "asc"]] * 100},
        {
            "metrics": ["visitors", "events", "pageviews", "bounce_rate"],
            "dimensions": ["time:hour"],
            "date_range": "all",
        },
        {"filters": [["is", "event:page", ["/" * 100000]]]},
    ],
    ids=lambda fields: json.dumps(fields)[:40],
)
def test_odd_but_well_formed_queries(data: Data, fields: dict[str, Any]) -> None:
    assert_handled(data, body(**fields))


def test_get_is_not_a_query(data: Data) -> None:
    response = data.server.client.get(
        "/api/v2/query", headers={"Authorization": f"Bearer {data.key}"}
    )
    assert (response.status_code, response.json()) == (405, {"error": "Method Not Allowed"})


def test_router_errors_of_plausible_paths_are_plausible_errors(data: Data) -> None:
    auth = {"Authorization": f"Bearer {data.key}"}
    wrong = data.server.client.patch("/api/v1/sites/goals", headers=auth)
    assert (wrong.status_code, wrong.json()) == (405, {"error": "Method Not Allowed"})
    event = data.server.client.get("/api/event")
    assert (event.status_code, event.json()) == (
        405,
        {"errors": {"request": ["Method Not Allowed"]}},
    )
    missing = data.server.client.post("/api/v2/nothing", headers=auth, json={})
    assert (missing.status_code, missing.json()) == (404, {"error": "Not found"})
    # TinyTrail's own paths keep their envelope.
    ours = data.server.client.get("/api/v1/nothing", headers=auth)
    assert ours.json()["error"]["code"] == "NOT_FOUND"


def test_goals_are_per_site(server: Server) -> None:
    # A goal of another site is not a goal here.
    key, _ = server.tenant("with-goal.test")
    other_key, _ = server.tenant("without-goal.test")
    add_goal(server, key, "with-goal.test", goal_type="event", event_name="Signup")
    query = {
        "site_id": "without-goal.test",
        "metrics": ["visitors"],
        "date_range": "day",
        "filters": [SIGNUP],
    }
    response = post(server, query, other_key)
    assert response.status_code == 400
    assert response.json() == {
        "error": f"Invalid filters. The goal `Signup` is not configured for this site. {GOALS_DOC}"
    }
    query["site_id"] = "with-goal.test"
    assert post(server, query, key).json()["results"] == [{"dimensions": [], "metrics": [0]}]
