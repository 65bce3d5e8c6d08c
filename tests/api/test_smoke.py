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


def test_health_endpoints(server: Server) -> None:
    health = server.client.get("/health")
    assert health.status_code == 200
    assert health.json()["status"] == "ok"
    # Plausible's health check names each part it depends on.
    plausible = server.client.get("/api/health")
    assert plausible.status_code == 200
    assert plausible.json() == {"metadata": "ok", "events": "ok", "ingestion": "ok"}
