from tests.support import Server


def test_collect_roundtrip(server: Server) -> None:
    _key, site = server.tenant()
    response = server.collect(
        site["id"], "/blog/post?utm_source=twitter", referrer="https://t.co/x"
    )
    assert response.status_code == 202
    assert response.json() == {"status": "accepted"}
    [event] = server.events()
    assert event["name"] == "pageview"
    assert event["pathname"] == "/blog/post"
    assert event["utm_source"] == "twitter"
    assert event["browser"] == "Chrome"
