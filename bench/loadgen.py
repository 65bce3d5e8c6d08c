"""A small HTTP/1.1 load generator on raw asyncio sockets (uvloop when installed).

Two modes, both over keep-alive connections to a loopback server:

* open loop (`--rate R`): requests are due at fixed times R per second; each latency is
  measured from the time the request was *due*, so a stalled server shows up in the
  percentiles instead of silently slowing the generator (no coordinated omission); once two
  seconds of requests are waiting the run stops early and says `overloaded`;
* closed loop (`--rate 0`): every connection sends its next request as soon as the previous
  answer is in, for the ceiling.

It runs in its own process and prints one JSON object. On a 2-core machine it competes with
the server for CPU, which the figures it reports include.

    python -m bench.loadgen --url http://127.0.0.1:8000 --requests reqs.json --rate 5000
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections import Counter
from collections.abc import Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import msgspec

MAX_BACKLOG_S = 2.0  # open loop: give up once this many seconds of requests are waiting


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    errors: int = 0


def encode_requests(items: list[tuple[str, dict[str, str], str]], host: str) -> list[bytes]:
    """(path, headers, body) triples as raw POST requests."""
    raw = []
    for path, headers, body in items:
        data = body.encode()
        lines = [f"POST {path} HTTP/1.1", f"Content-Length: {len(data)}"]
        if not any(name.lower() == "host" for name in headers):
            lines.append(f"Host: {host}")
        lines += [f"{name}: {value}" for name, value in headers.items()]
        raw.append(("\r\n".join(lines) + "\r\n\r\n").encode() + data)
    return raw


async def read_response(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        if line[:15].lower() == b"content-length:":
            length = int(line[15:])
    if length:
        await reader.readexactly(length)
    return status


class Generator:
    def __init__(self, url: str, requests: list[bytes], connections: int) -> None:
        parts = urlsplit(url)
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 80
        self.requests = requests
        self.connections = connections
        self.tally = Tally()
        self.overloaded = False

    async def _exchange(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        index: int,
        due: float,
    ) -> None:
        writer.write(self.requests[index % len(self.requests)])
        status = await read_response(reader)
        self.tally.latencies.append(time.perf_counter() - due)
        self.tally.statuses[status] += 1

    async def _open_worker(self, queue: asyncio.Queue[tuple[int, float] | None]) -> None:
        reader, writer = await asyncio.open_connection(self.host, self.port)
        try:
            while (item := await queue.get()) is not None:
                try:
                    await self._exchange(reader, writer, *item)
                except (OSError, asyncio.IncompleteReadError, ValueError):
                    self.tally.errors += 1
                    writer.close()
                    reader, writer = await asyncio.open_connection(self.host, self.port)
        finally:
            writer.close()

    async def open_loop(self, rate: float, duration: float) -> float:
        queue: asyncio.Queue[tuple[int, float] | None] = asyncio.Queue()
        workers = [asyncio.create_task(self._open_worker(queue)) for _ in range(self.connections)]
        total = int(rate * duration)
        start = time.perf_counter()
        sent = 0
        while sent < total:
            if queue.qsize() > rate * MAX_BACKLOG_S:
                self.overloaded = True  # the server cannot keep up: stop, report what it did
                break
            due_now = min(total, int((time.perf_counter() - start) * rate) + 1)
            while sent < due_now:
                queue.put_nowait((sent, start + sent / rate))
                sent += 1
            await asyncio.sleep(0.0005)
        for _ in workers:
            queue.put_nowait(None)
        await asyncio.wait_for(asyncio.gather(*workers), timeout=duration + 60)
        return time.perf_counter() - start

    async def _closed_worker(self, first: int, deadline: float) -> None:
        reader, writer = await asyncio.open_connection(self.host, self.port)
        index = first
        try:
            while time.perf_counter() < deadline:
                try:
                    await self._exchange(reader, writer, index, time.perf_counter())
                except (OSError, asyncio.IncompleteReadError, ValueError):
                    self.tally.errors += 1
                    writer.close()
                    reader, writer = await asyncio.open_connection(self.host, self.port)
                index += self.connections
        finally:
            writer.close()

    async def closed_loop(self, duration: float) -> float:
        start = time.perf_counter()
        deadline = start + duration
        await asyncio.wait_for(
            asyncio.gather(*(self._closed_worker(i, deadline) for i in range(self.connections))),
            timeout=duration + 60,
        )
        return time.perf_counter() - start


def summary(tally: Tally, seconds: float, overloaded: bool = False) -> dict[str, object]:
    latencies = sorted(tally.latencies)

    def percentile(p: float) -> float:
        if not latencies:
            return 0.0
        return latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000

    ok = sum(n for status, n in tally.statuses.items() if 200 <= status < 300)
    return {
        "seconds": seconds,
        "responses": len(latencies),
        "ok": ok,
        "rate": ok / seconds if seconds else 0.0,
        "statuses": {str(k): v for k, v in tally.statuses.items()},
        "errors": tally.errors,
        "p50_ms": percentile(0.5),
        "p99_ms": percentile(0.99),
        "max_ms": latencies[-1] * 1000 if latencies else 0.0,
        "mean_ms": statistics.fmean(latencies) * 1000 if latencies else 0.0,
        "overloaded": overloaded,
    }


def run(coroutine: Coroutine[object, object, float]) -> float:
    """Run on uvloop when it is installed (as uvicorn does), else on asyncio's own loop."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coroutine)
    return uvloop.run(coroutine)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--requests", type=Path, required=True, help="JSON [[path, headers, body]]")
    parser.add_argument("--rate", type=float, default=0, help="requests/s; 0 = as fast as it can")
    parser.add_argument("--duration", type=float, default=30)
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args()
    items = msgspec.json.decode(args.requests.read_bytes())
    host = urlsplit(args.url).netloc
    generator = Generator(args.url, encode_requests(items, host), args.connections)
    if args.rate > 0:
        seconds = run(generator.open_loop(args.rate, args.duration))
    else:
        seconds = run(generator.closed_loop(args.duration))
    result = summary(generator.tally, seconds, generator.overloaded)
    print(msgspec.json.encode(result).decode())


if __name__ == "__main__":
    main()
