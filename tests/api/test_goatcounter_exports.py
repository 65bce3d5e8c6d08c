"""GoatCounter exports over HTTP, CSV imports through the admin endpoint, and a round trip."""

from __future__ import annotations

import csv
import gzip
import io
from typing import Any

import pytest

from tests.api.goatcounter_client import GoatCounter, account, hit
from tests.api.test_goatcounter_stats import seed
from tests.support import ADMIN_KEY, CHROME_UA, Server

HEADER = (
    "2Path,Title,Event,UserAgent,Browser,System,Session,Bot,Referrer,Referrer scheme,"
    "Screen size,Location,FirstVisit,Date"
)
GONE = "exports are kept for 24 hours; this export file has been deleted"


def export(server: Server, gc: GoatCounter, **body: Any) -> dict[str, Any]:
    response = gc.send("POST", "/export", body)
    assert response.status_code == 202, response.text
    started: dict[str, Any] = response.json()
    server.runtime.goatcounter.exports.wait(started["id"], 30)
    return started


def rows_of(response: Any) -> list[list[str]]:
    text = gzip.decompress(response.content).decode()
    assert text.splitlines()[0] == HEADER
    return list(csv.reader(io.StringIO(text)))[1:]


def test_export_lifecycle(server: Server) -> None:
    gc, site = account(server)
    gc.count(
        hit("/a", title="Page A", ref="https://news.ycombinator.com/x", size="1280", location="NL"),
        hit("/a"),
        hit("/signup", event=True),
        hit("/bot", user_agent="curl/8.0", ip="192.0.2.99"),
    )
    started = export(server, gc)
    assert started["finished_at"] is None and started["site_id"] == site["gc_id"]
    assert started["format"] == "csv" and started["start_from_hit_id"] == 0
    done = gc.get(f"/export/{started['id']}").json()
    assert done["finished_at"] and done["num_rows"] == 3 and "error" not in done
    assert done["hash"].startswith("sha256-") and done["size"] == "0.1"
    last = max(e["seq"] for e in server.events() if not e["is_bot"])
    assert done["last_hit_id"] == last
    download = gc.get(f"/export/{started['id']}/download")
    assert download.status_code == 200
    assert download.headers["content-type"] == "application/gzip"
    disposition = download.headers["content-disposition"]
    assert disposition.startswith("attachment;") and ".csv.gz" in disposition
    rows = rows_of(download)
    assert [r[0] for r in rows] == ["/a", "/a", "signup"]
    first = rows[0]
    assert first[1:4] == ["Page A", "0", ""]  # title, not an event, never a User-Agent
    assert first[4].startswith("Chrome ") and first[5].startswith("Windows")
    assert first[6].startswith("0-") and first[7] == "0"
    assert first[8:10] == ["Hacker News", "g"]
    assert first[10:13] == ["1280,0,1", "NL", "1"]
    assert rows[1][12] == "0"  # the same visit's second view of /a is no first visit
    assert rows[2][2] == "1"
    content = gzip.decompress(download.content)
    assert b"203.0.113.9" not in content and CHROME_UA.encode() not in content


def test_the_cursor_exports_only_later_hits(server: Server) -> None:
    gc, _ = account(server)
    gc.count(hit("/one"))
    first = export(server, gc)
    cursor = gc.get(f"/export/{first['id']}").json()["last_hit_id"]
    gc.count(hit("/two"))
    second = export(server, gc, start_from_hit_id=cursor)
    rows = rows_of(gc.get(f"/export/{second['id']}/download"))
    assert [r[0] for r in rows] == ["/two"]
    empty = export(server, gc, start_from_hit_id=10**9, format="csv")
    body = gc.get(f"/export/{empty['id']}").json()
    assert (body["num_rows"], body["last_hit_id"]) == (0, None)


def test_download_while_running_and_after_24_hours(server: Server) -> None:
    gc, site = account(server)
    repo = server.runtime.goatcounter.repo
    running = repo.create_export(
        site["gc_id"], 0, str(server.data_dir / "x.csv.gz"), server.clock.now
    )
    response = gc.get(f"/export/{running.id}/download")
    assert response.status_code == 202
    assert response.json() == {"error": "still being generated"}
    done = export(server, gc)
    server.clock.advance(hours=23)
    assert server.runtime.goatcounter.exports.cleanup() == 0
    assert gc.get(f"/export/{done['id']}/download").status_code == 200
    server.clock.advance(hours=2)
    assert server.runtime.goatcounter.exports.cleanup() == 1
    gone = gc.get(f"/export/{done['id']}/download")
    assert (gone.status_code, gone.json()) == (400, {"error": GONE})
    assert gc.get(f"/export/{done['id']}").status_code == 200  # the record stays


def test_exports_of_other_accounts_and_unknown_ids(server: Server) -> None:
    gc, _ = account(server)
    other, _ = account(server, "other.example")
    theirs = export(server, other)
    for path in (f"/export/{theirs['id']}", f"/export/{theirs['id']}/download", "/export/424242"):
        response = gc.get(path)
        assert (response.status_code, response.json()) == (404, {"error": "not found"})
    assert gc.get("/export/abc").json() == {"errors": {"id": ["must be a number"]}}


def test_an_export_belongs_to_its_site(server: Server) -> None:
    gc, _ = account(server)
    created = gc.send("PUT", "/sites", {"cname": "stats.second.org"})
    assert created.status_code == 200, created.text
    first = export(server, gc)
    second = GoatCounter(server, gc.key, host="stats.second.org")
    for path in (f"/export/{first['id']}", f"/export/{first['id']}/download"):
        response = second.get(path)
        assert (response.status_code, response.json()) == (404, {"error": "not found"})
    assert gc.get(f"/export/{first['id']}").status_code == 200


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"format": "json"}, 'unknown format: "json"'),
        ({"format": "xml"}, 'unknown format: "xml"'),
        (
            {"start_from_day": "2026-03-01T00:00:00Z"},
            "start_from_day is only valid for JSON exports",
        ),
        ({"start_from_hit_id": "5"}, None),
        ({"since": 1}, 'unknown parameter: "since"'),
    ],
)
def test_export_request_errors(server: Server, body: dict[str, Any], message: str | None) -> None:
    gc, _ = account(server)
    response = gc.send("POST", "/export", body)
    assert response.status_code == 400
    if message is not None:
        assert response.json() == {"error": message}


# -- importing GoatCounter CSV --------------------------------------------------------------------


def admin_import(server: Server, domain: str, content: bytes) -> Any:
    return server.client.post(
        "/api/v1/admin/goatcounter/import",
        params={"site_id": domain},
        content=content,
        headers={"X-API-KEY": ADMIN_KEY, "Content-Type": "text/csv"},
    )


def test_import_reports_broken_rows_by_line(server: Server) -> None:
    account(server, "target.example")
    good = (
        '/x,Title,0,,Firefox 120,Linux,1-2,0,example.org/p,h,"1920,0,1",DE,1,2026-03-17T10:00:00Z'
    )
    lines = [
        HEADER,
        good,
        "/y,T,maybe,,,,1-2,0,,o,,,1,2026-03-17T10:00:00Z",
        "/z,T,0,,,,1-2,0,,q,,,1,2026-03-17T10:00:00Z",
        "/w,T,0,,,,1-2,0,,o,,,1,yesterday",
        "/v,T,0,,,,1-2,0",
        "/u,T,0,,,,1-2,0,,o,wide,,1,2026-03-17T10:00:00Z",
        "/f,T,0,,,,1-2,0,,o,,,1,2030-01-01T00:00:00Z",
        "/o,T,0,,,,1-2,0,,o,,,1,1969-12-31T23:59:59Z",
        "/e,T,0,,,,1-2,0,,o,,,1,0001-01-01T00:00:00+01:00",
    ]
    response = admin_import(server, "target.example", gzip.compress("\n".join(lines).encode()))
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert (data["loaded"], data["skipped"]) == (1, 8)
    errors = {e["line"]: e["message"] for e in data["errors"]}
    assert errors[3].startswith("Event must be a boolean")
    assert errors[4].startswith("Referrer scheme must be one of")
    assert errors[5].startswith("Date must be an RFC 3339")
    assert errors[6] == "wrong number of fields: 8 (want: 14)"
    assert errors[7].startswith("Screen size must be numbers")
    assert errors[8] == "Date is in the future"
    assert errors[9] == "Date must be after 1970-01-01"
    assert errors[10] == "Date must be after 1970-01-01 and not in the future"
    [event] = server.events()
    assert (event["pathname"], event["browser"], event["os"]) == ("/x", "Firefox", "Linux")
    assert (event["country"], event["screen_width"], event["referrer"]) == (
        "DE",
        1920,
        "example.org/p",
    )


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"1Path,Title\n/x,y\n", "line 1: wrong version of CSV database: 1 (expected: 2)"),
        (b"", "line 1: the file is empty"),
        (b"2Path,Title,Event\n", "line 1: unexpected header"),
    ],
)
def test_import_refuses_other_formats(server: Server, content: bytes, message: str) -> None:
    account(server, "target.example")
    response = admin_import(server, "target.example", content)
    assert response.status_code == 400
    assert response.json()["error"]["message"].startswith(message)


def test_round_trip_gives_the_same_stats(server: Server) -> None:
    source, _ = account(server, "source.example")
    seed(source)
    extra = {"user_agent": CHROME_UA, "ip": "198.51.100.1"}
    source.count({**extra, "path": "/c", "created_at": "2026-03-15T07:00:00Z", "ref": "Newsletter"})
    done = export(server, source)
    content = source.get(f"/export/{done['id']}/download").content
    target, _ = account(server, "target.example")
    imported = admin_import(server, "target.example", content)
    assert imported.json()["data"]["skipped"] == 0
    checks = [
        ("/stats/total", {}),
        ("/stats/hits", {}),
        ("/stats/browsers", {}),
        ("/stats/systems", {}),
        ("/stats/locations", {}),
        ("/stats/sizes", {}),
        ("/stats/toprefs", {}),
        # Not campaigns: GoatCounter's CSV has no campaign column (a `c` ref is the source).
    ]
    for path, params in checks:
        mine, theirs = source.get(path, **params).json(), target.get(path, **params).json()
        if path == "/stats/hits":
            # Path ids are the target's own, and ties are ranked by them: compare by path.
            for body in (mine, theirs):
                for item in body["hits"]:
                    item.pop("path_id")
                body["hits"].sort(key=lambda item: item["path"])
        assert mine == theirs, path
    # And the re-export has the same rows, but for the hit ids and the day-scoped session ids.
    again = export(server, target)
    first = [r[:6] + r[7:] for r in rows_of(source.get(f"/export/{done['id']}/download"))]
    second = [r[:6] + r[7:] for r in rows_of(target.get(f"/export/{again['id']}/download"))]
    assert sorted(first) == sorted(second)
