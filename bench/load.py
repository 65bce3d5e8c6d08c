"""Ingestion load: realistic single-event requests, and the tools that fire them.

`wrk` (a C load generator) is used when installed, with a Lua script cycling through
pre-built requests; otherwise, and for the fixed-rate latency runs (which wrk cannot pace),
`bench.loadgen` in its own process. Every request variant is checked once beforehand, so a
throughput figure never counts rejected or bot-flagged events.
"""

from __future__ import annotations

import random
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import msgspec

Item = tuple[str, dict[str, str], str]  # path, headers, body

USER_AGENTS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/130.0.0.0 Safari/537.36 Edg/130.0.0.0",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:132.0) Gecko/20100101 Firefox/132.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/18.1 Safari/605.1.15",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36",
    "Mozilla/5.0 (X11; Linux x86_64; rv:131.0) Gecko/20100101 Firefox/131.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
    "Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
    "Gecko) CriOS/131.0.6778.73 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (iPad; CPU OS 18_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/18.0 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) "
    "SamsungBrowser/26.0 Chrome/122.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (Linux; Android 13; Pixel 7) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/130.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36 OPR/114.0.0.0",
)
REFERRERS = (
    "", "", "", "https://www.google.com/", "https://www.google.de/", "https://www.bing.com/",
    "https://duckduckgo.com/", "https://t.co/abc", "https://www.reddit.com/r/selfhosted/",
    "https://news.ycombinator.com/item?id=1", "https://github.com/", "https://devweekly.io/",
)  # fmt: skip
PAGES = ("/", "/pricing", "/features", "/blog", "/docs", "/about", "/signup", "/changelog")
# First octets of public IPv4 ranges (the addresses only travel in a header on loopback).
PUBLIC_OCTETS = (3, 5, 8, 13, 18, 23, 31, 34, 45, 52, 62, 77, 81, 86, 91, 104, 151, 176, 185)


def _visitor(rng: random.Random) -> tuple[str, str]:
    ip = f"{rng.choice(PUBLIC_OCTETS)}.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"  # noqa: E501
    return rng.choice(USER_AGENTS), ip


def _page(rng: random.Random) -> str:
    return rng.choice(PAGES) if rng.random() < 0.7 else f"/blog/post-{rng.randrange(500)}"


def collect_items(website_id: str, domain: str, count: int = 1000, seed: int = 7) -> list[Item]:
    rng = random.Random(seed)
    items = []
    for _ in range(count):
        agent, ip = _visitor(rng)
        page = _page(rng)
        tagged = "?utm_source=newsletter&utm_medium=email" if rng.random() < 0.1 else ""
        body = {
            "website_id": website_id,
            "event_type": "page_view",
            "url": f"https://{domain}{page}{tagged}",
            "path": page,
            "referrer": rng.choice(REFERRERS),
            "screen_width": rng.choice((390, 414, 768, 1280, 1440, 1920)),
        }
        headers = {"Content-Type": "application/json", "User-Agent": agent, "X-Forwarded-For": ip}
        items.append(("/api/v1/collect", headers, msgspec.json.encode(body).decode()))
    return items


def event_items(domain: str, count: int = 1000, seed: int = 8) -> list[Item]:
    rng = random.Random(seed)
    items = []
    for _ in range(count):
        agent, ip = _visitor(rng)
        body = {"n": "pageview", "u": f"https://{domain}{_page(rng)}", "d": domain}
        body["r"] = rng.choice(REFERRERS)
        headers = {"Content-Type": "text/plain", "User-Agent": agent, "X-Forwarded-For": ip}
        items.append(("/api/event", headers, msgspec.json.encode(body).decode()))
    return items


def count_items(domain: str, key: str, batches: int = 20, hits: int = 500) -> list[Item]:
    """GoatCounter `POST /api/v0/count` bodies of `hits` pageviews each."""
    rng = random.Random(9)
    items = []
    for _ in range(batches):
        batch = []
        for _ in range(hits):
            agent, ip = _visitor(rng)
            hit = {"path": _page(rng), "user_agent": agent, "ip": ip, "size": "1440"}
            if referrer := rng.choice(REFERRERS):
                hit["ref"] = referrer
            batch.append(hit)
        body = msgspec.json.encode({"no_sessions": True, "hits": batch}).decode()
        headers = {
            "Content-Type": "application/json",
            "Authorization": f"Bearer {key}",
            "Host": domain,
        }
        items.append(("/api/v0/count", headers, body))
    return items


def check(url: str, items: list[Item], sample: int = 200) -> dict[int, int]:
    """Send a sample of the variants once; the statuses they got, by status code."""
    statuses: dict[int, int] = {}
    with httpx.Client(base_url=url, timeout=30) as client:
        for path, headers, body in items[:sample]:
            status = client.post(path, headers=headers, content=body.encode()).status_code
            statuses[status] = statuses.get(status, 0) + 1
    return statuses


# -- wrk ------------------------------------------------------------------------------------

_LUA = """
local items = {
%s
}
local requests = {}
local counter = 0
init = function(args)
  for i, item in ipairs(items) do
    requests[i] = wrk.format("POST", item[1], item[2], item[3])
  end
end
request = function()
  counter = counter %% #requests + 1
  return requests[counter]
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('BENCH {"requests":%%d,"duration_us":%%d,"status_errors":%%d,' ..
    '"socket_errors":%%d,"p50_us":%%d,"p99_us":%%d}\\n', summary.requests, summary.duration,
    e.status, e.connect + e.read + e.write + e.timeout, latency:percentile(50),
    latency:percentile(99)))
end
"""


def _lua_string(text: str) -> str:
    return f"[==[{text}]==]"


def write_wrk_script(items: list[Item], path: Path) -> Path:
    rows = []
    for target, headers, body in items:
        fields = ", ".join(f"[ {_lua_string(k)} ] = {_lua_string(v)}" for k, v in headers.items())
        rows.append(f"  {{{_lua_string(target)}, {{{fields}}}, {_lua_string(body)}}},")
    path.write_text(_LUA % "\n".join(rows))
    return path


def wrk_available() -> bool:
    return shutil.which("wrk") is not None


def run_wrk(url: str, script: Path, duration: float, connections: int) -> dict[str, Any]:
    argv = ["wrk", "-t1", f"-c{connections}", f"-d{int(duration)}s", "--timeout", "10s"]
    done = subprocess.run(
        [*argv, "-s", str(script), url],
        capture_output=True,
        text=True,
        timeout=duration + 120,
        check=True,
    )
    lines = [x for x in done.stdout.splitlines() if x.startswith("BENCH ")]
    if not lines or done.stderr.strip():
        raise RuntimeError(f"wrk failed: {done.stderr.strip()[:500] or done.stdout[-500:]}")
    line = lines[0]
    raw = msgspec.json.decode(line.removeprefix("BENCH "))
    seconds = raw["duration_us"] / 1e6
    ok = raw["requests"] - raw["status_errors"]
    return {
        "tool": "wrk",
        "seconds": seconds,
        "ok": ok,
        "rate": ok / seconds if seconds else 0.0,
        "errors": raw["status_errors"] + raw["socket_errors"],
        "p50_ms": raw["p50_us"] / 1000,
        "p99_ms": raw["p99_us"] / 1000,
    }


# -- bench.loadgen --------------------------------------------------------------------------


def run_loadgen(
    url: str, items: list[Item], scratch: Path, duration: float, rate: float = 0,
    connections: int = 32,
) -> dict[str, Any]:  # fmt: skip
    requests = scratch.with_suffix(".json")
    requests.write_bytes(msgspec.json.encode(items))
    argv = [sys.executable, "-m", "bench.loadgen", "--url", url, "--requests", str(requests)]
    argv += ["--rate", str(rate), "--duration", str(duration), "--connections", str(connections)]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=duration + 120, check=True)
    result: dict[str, Any] = msgspec.json.decode(done.stdout.strip().splitlines()[-1])
    result["tool"] = "bench.loadgen"
    return result


def throughput(
    url: str, items: list[Item], scratch: Path, duration: float, connections: int = 32
) -> dict[str, Any]:
    """Requests per second with 2xx answers, as fast as the server takes them."""
    if wrk_available():
        script = write_wrk_script(items, scratch.with_suffix(".lua"))
        return run_wrk(url, script, duration, connections)
    return run_loadgen(url, items, scratch, duration, 0, connections)
