"""GoatCounter's per-site `collect` setting over HTTP (reference 8.7): what a site keeps.

The setting belongs to the site, so hits from every collector follow it.
"""

from __future__ import annotations

from typing import Any

from tests.api.goatcounter_client import GoatCounter, account, hit
from tests.support import Server

REFERRER_AND_COUNTRY = 2 | 16  # no User-Agent, screen size, region or sessions


def set_collect(gc: GoatCounter, site: dict[str, Any], **settings: Any) -> None:
    response = gc.send("PATCH", f"/sites/{site['gc_id']}", {"settings": settings})
    assert response.status_code == 200, response.text


def test_a_site_keeps_only_what_it_collects(server: Server) -> None:
    gc, site = account(server)
    set_collect(gc, site, collect=REFERRER_AND_COUNTRY)
    visitor = {"session": "s1", "size": "1920", "location": "US-TX"}
    response = gc.count(
        hit("/a", ref="https://news.ycombinator.com/", **visitor),
        hit("/b", query="utm_campaign=spring", **visitor),
    )
    assert response.status_code == 202, response.text
    first, second = server.events()
    assert first["referrer_source"] == "Hacker News"
    assert (first["browser"], first["os"], first["device"]) == ("", "", "")
    assert (first["screen_width"], first["country"], first["region"]) == (0, "US", "")
    # Without sessions every pageview is a visit of its own.
    assert first["session_id"] != second["session_id"]
    assert first["visitor_id"] != second["visitor_id"]
    # Each its own visitor number; no hash is kept to recognise a returning visitor.
    assert [first["visitor_id"], second["visitor_id"]] == [first["seq"], second["seq"]]
    assert server.runtime.store.fetch("SELECT count(*) FROM visitor_keys") == [(0,)]
    assert second["utm_campaign"] == "spring"


def test_without_referrers_no_acquisition_data_is_kept(server: Server) -> None:
    gc, site = account(server)
    set_collect(gc, site, collect=4 | 8 | 16 | 128)
    gc.count(hit("/", ref="https://news.ycombinator.com/", query="utm_source=mail&utm_campaign=x"))
    [event] = server.events()
    assert (event["referrer"], event["referrer_source"], event["utm_source"]) == ("", "", "")
    assert (event["utm_campaign"], event["channel"]) == ("", "Direct")
    assert event["browser"] == "Chrome"


def test_regions_only_for_the_listed_countries(server: Server) -> None:
    gc, site = account(server)
    set_collect(gc, site, collect_regions="NL")
    gc.count(
        hit("/us", location="US-TX", session="1"),
        hit("/nl", location="NL-NH", session="2"),
    )
    regions = {e["pathname"]: (e["country"], e["region"]) for e in server.events()}
    assert regions == {"/us": ("US", ""), "/nl": ("NL", "NL-NH")}


def test_other_collectors_follow_the_site_setting(server: Server) -> None:
    gc, site = account(server)
    set_collect(gc, site, collect=16 | 128)
    response = server.collect(site["id"], "/", referrer="https://news.ycombinator.com/")
    assert response.status_code == 202
    [event] = server.events()
    assert (event["referrer_source"], event["browser"]) == ("", "")


def test_sites_without_goatcounter_settings_keep_everything(server: Server) -> None:
    gc, _ = account(server)
    gc.count(hit("/", location="NL-NH", ref="https://news.ycombinator.com/", size="1920"))
    [event] = server.events()
    assert (event["region"], event["referrer_source"], event["screen_width"]) == (
        "NL-NH",
        "Hacker News",
        1920,
    )
    assert event["browser"] == "Chrome"
