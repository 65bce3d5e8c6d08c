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
from collections import Counter, deque
from collections.abc import Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast
from urllib.parse import urlsplit

import msgspec

MAX_BACKLOG_S = 2.0  # open loop: give up once this many seconds of requests are waiting
# Open loop: how often due requests are sent. Not finer: libuv's timers count whole
# milliseconds, and a shorter sleep returns at once, which spun a core. Latencies still count
# from each request's own due time.
TICK_S = 0.001


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


class Connection(asyncio.Protocol):
    """One keep-alive connection of the open loop: at most one request in flight.

    A protocol rather than asyncio streams: at 5,000 requests a second the streams' futures
    and the queue feeding them cost a full core here, which the server would lose.
    """

    def __init__(self, generator: Generator) -> None:
        self.generator = generator
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.due: float | None = None  # due time of the request in flight

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass

    def send(self, index: int, due: float) -> None:
        assert self.transport is not None
        self.due = due
        self.transport.write(self.generator.requests[index % len(self.generator.requests)])

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while (end := self.buffer.find(b"\r\n\r\n")) >= 0:
            head = bytes(self.buffer[:end])
            length = 0
            for line in head.split(b"\r\n")[1:]:
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            if len(self.buffer) < end + 4 + length:
                return
            del self.buffer[: end + 4 + length]
            due, self.due = self.due, None
            if due is not None:
                self.generator.answered(self, int(head[9:12]), due)

    def connection_lost(self, exc: Exception | None) -> None:
        self.generator.lost(self)


class Generator:
    def __init__(self, url: str, requests: list[bytes], connections: int) -> None:
        parts = urlsplit(url)
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 80
        self.requests = requests
        self.connections = connections
        self.tally = Tally()
        self.overloaded = False
        self._idle: list[Connection] = []
        self._waiting: deque[tuple[int, float]] = deque()  # due, but no connection free
        self._in_flight = 0
        self._closing = False

    async def _connect(self) -> None:
        loop = asyncio.get_running_loop()
        _, protocol = await loop.create_connection(lambda: Connection(self), self.host, self.port)
        self._dispatch(protocol)

    def _dispatch(self, connection: Connection) -> None:
        if self._waiting:
            connection.send(*self._waiting.popleft())
        else:
            self._idle.append(connection)

    def answered(self, connection: Connection, status: int, due: float) -> None:
        self.tally.latencies.append(time.perf_counter() - due)
        self.tally.statuses[status] += 1
        self._in_flight -= 1
        self._dispatch(connection)

    def lost(self, connection: Connection) -> None:
        if connection in self._idle:
            self._idle.remove(connection)
        if connection.due is not None:  # closed with a request in flight
            self.tally.errors += 1
            self._in_flight -= 1
        if not self._closing:
            asyncio.get_running_loop().create_task(self._connect())

    async def open_loop(self, rate: float, duration: float) -> float:
        await asyncio.gather(*(self._connect() for _ in range(self.connections)))
        total = int(rate * duration)
        start = time.perf_counter()
        sent = 0
        while sent < total:
            if len(self._waiting) > rate * MAX_BACKLOG_S:
                self.overloaded = True  # the server cannot keep up: stop, report what it did
                break
            due_now = min(total, int((time.perf_counter() - start) * rate) + 1)
            while sent < due_now:
                item = (sent, start + sent / rate)
                if self._idle:
                    self._idle.pop().send(*item)
                else:
                    self._waiting.append(item)
                self._in_flight += 1
                sent += 1
            await asyncio.sleep(TICK_S)
        self._in_flight -= len(self._waiting)  # never sent (overloaded)
        self._waiting.clear()
        deadline = time.perf_counter() + 60
        while self._in_flight > 0 and time.perf_counter() < deadline:
            await asyncio.sleep(0.005)
        seconds = time.perf_counter() - start
        self._closing = True
        for connection in self._idle:
            assert connection.transport is not None
            connection.transport.close()
        return seconds

    async def _exchange(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, index: int, due: float
    ) -> None:
        writer.write(self.requests[index % len(self.requests)])
        status = await read_response(reader)
        self.tally.latencies.append(time.perf_counter() - due)
        self.tally.statuses[status] += 1

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
