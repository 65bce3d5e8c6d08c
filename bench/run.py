"""`make bench`: build the data set, load it, start the server, measure, write the results.

Settings (environment):
    BENCH_EVENTS       events to generate (default 10_000_000)
    BENCH_SKIP_INGEST  1: reuse bench/out/<events>/ from an earlier run (no generate, no import)
    BENCH_OUT          where to write the results (default docs/performance.md)
    BENCH_REPEAT       timed runs per query, after two warm-up runs (default 9)
    BENCH_SEED         generator seed (default 42)
    BENCH_SECONDS      sustained-ingestion duration (default 60; shorter only for trying it out)
    BENCH_DAYS         days of data (default 90; fewer only for trying it out)

Order: generate -> bootstrap sites -> import -> serve (start-up, rollups, queries) -> stop ->
references (storage, DuckDB SQL, ClickHouse via chDB) -> serve again (start-up, ingestion,
mixed load, memory, tracker) -> stop -> write. Each phase records what it measured; a failed
phase is reported and the run goes on, so partial results are always written.
"""

from __future__ import annotations

import os
import platform
import shutil
import sqlite3
import subprocess
import sys
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import duckdb
import httpx
import msgspec

from bench import (
    agreement,
    dashboard,
    dataset,
    generate,
    load,
    queries,
    references,
    server,
    sql,
)
from bench.report import PASS, Figure, QueryRow, Report, verdict, write

ROOT = Path(__file__).resolve().parent.parent
HTTP_TIMEOUT = 120
LATENCY_RATE = 5000
LATENCY_WARM_UP_S = 10  # unmeasured seconds at LATENCY_RATE before the p99 run


@dataclass(frozen=True)
class Config:
    events: int
    skip_ingest: bool
    out: Path
    repeat: int
    seed: int
    seconds: int
    days: int

    @property
    def latency_seconds(self) -> int:
        return min(30, self.seconds)

    @property
    def mixed_seconds(self) -> int:
        return min(20, self.seconds)

    @classmethod
    def from_env(cls) -> Config:
        out = Path(os.environ.get("BENCH_OUT") or ROOT / "docs" / "performance.md")
        return cls(
            events=int(os.environ.get("BENCH_EVENTS", "10_000_000").replace("_", "")),
            skip_ingest=os.environ.get("BENCH_SKIP_INGEST", "") not in ("", "0", "false"),
            out=out,
            repeat=max(1, int(os.environ.get("BENCH_REPEAT", "9"))),
            seed=int(os.environ.get("BENCH_SEED", "42")),
            seconds=max(1, int(os.environ.get("BENCH_SECONDS", "60"))),
            days=max(2, int(os.environ.get("BENCH_DAYS", "90"))),
        )


class Run:
    def __init__(self, config: Config) -> None:
        self.config = config
        self.work = ROOT / "bench" / "out" / str(config.events)
        self.data_dir = self.work / "data"
        self.started = datetime.now(UTC)
        self.report = Report(self.started.strftime("%Y-%m-%d %H:%M UTC"))
        self.site: sql.Site | None = None
        self.sites: dataset.Sites | None = None
        self.manifest: generate.Manifest | None = None
        self.ours: dict[tuple[str, str, str], agreement.Rows] = {}
        self.rows: dict[tuple[str, str, str], QueryRow] = {}
        self.peak_kib = 0

    # -- plumbing ---------------------------------------------------------------------------

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        started = time.monotonic()
        print(f"bench: {name} ...", flush=True)
        try:
            yield
        except Exception as exc:
            self.report.errors.append(f"{name}: {type(exc).__name__}: {exc}")
            traceback.print_exc()
        finally:
            print(f"bench: {name} done in {time.monotonic() - started:.1f} s", flush=True)
            write(self.report, self.config.out)  # partial results survive a later failure

    def log(self, name: str) -> Path:
        return self.work / "logs" / f"{name}.log"

    def ranges(self) -> list[sql.Range]:
        assert self.manifest is not None
        today = self.started.date()
        first = datetime.fromisoformat(self.manifest.now).date() - timedelta(
            days=self.manifest.days
        )
        return [
            sql.Range("30 days", today - timedelta(days=30), today - timedelta(days=1)),
            sql.Range("all time", first, today),
            sql.Range("last 30 minutes", today, today),
        ]

    # -- phases -----------------------------------------------------------------------------

    def machine(self) -> None:
        cpu = "unknown"
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        mem_kib = int(Path("/proc/meminfo").read_text().split()[1])
        import chdb

        self.report.machine = [
            ("date", self.report.started),
            ("cores (nproc)", str(os.cpu_count())),
            ("CPU", cpu),
            ("memory", f"{mem_kib / 1024 / 1024:.1f} GiB"),
            ("system", f"{platform.system()} {platform.release()}"),
            ("Python", platform.python_version()),
            ("DuckDB", duckdb.__version__),
            ("chDB (ClickHouse engine)", getattr(chdb, "__version__", "?")),
            ("load generator", "wrk" if load.wrk_available() else "bench.loadgen (Python)"),
        ]

    def build(self) -> None:
        """Generate, bootstrap and import; or, with BENCH_SKIP_INGEST, reuse the last build."""
        state = self.work / "state.json"
        if self.config.skip_ingest:
            if not state.exists():
                raise RuntimeError(f"BENCH_SKIP_INGEST: nothing to reuse in {self.work}")
            saved = msgspec.json.decode(state.read_bytes())
            self.manifest = generate.load_manifest(self.work / "ndjson" / "manifest.json")
            self.report.dataset = [tuple(row) for row in saved["dataset"]]
            self.report.notes.append("BENCH_SKIP_INGEST: data set and import figures reused.")
            return
        shutil.rmtree(self.work, ignore_errors=True)
        now = self.started.replace(hour=0, minute=0, second=0, microsecond=0)
        ndjson = self.work / "ndjson"
        manifest = generate.generate(
            self.config.events, self.config.days, now, self.config.seed, ndjson
        )
        self.manifest = manifest
        self.sites = dataset.bootstrap(self.data_dir, self.log("bootstrap"))
        imported = []
        for stats in manifest.sites:
            path = ndjson / f"{stats.domain}.ndjson"
            timeout = 600 + stats.events / 500
            imported.append(dataset.import_site(self.data_dir, stats.domain, path, timeout))
        self.report.dataset = self._dataset_rows(manifest, imported)
        state.write_bytes(msgspec.json.encode({"dataset": self.report.dataset}))
        self.storage("after import (events and visits)", manifest.events)

    def _dataset_rows(
        self, manifest: generate.Manifest, imported: list[dataset.ImportResult]
    ) -> list[tuple[str, str]]:
        busy = manifest.sites[0]
        visits = sum(s.visits for s in manifest.sites)
        loaded = sum(i.loaded for i in imported)
        seconds = sum(i.seconds for i in imported)
        per_site = ", ".join(f"{s.domain} {s.events:,}" for s in manifest.sites)
        customs = sum(s.custom_events for s in manifest.sites)
        return [
            ("events", f"{manifest.events:,} over {manifest.days} days before {manifest.now}"),
            ("sites", per_site),
            ("busy site", f"{busy.domain}: {busy.events / manifest.events:.0%} of events"),
            ("visits", f"{visits:,}; {sum(s.bounces for s in manifest.sites) / visits:.1%} "
                       "single-pageview bounces"),
            ("visitor-days", f"{sum(s.visitor_days for s in manifest.sites):,} (ids change "
                             "daily; 1-5 visits each)"),
            ("pages", f"{busy.pages:,} on the busy site, Zipf-distributed"),
            ("referrer sources", f"{manifest.referrer_sources} (direct, search, social, "
                                 "long tail)"),
            ("UTM-tagged visits", f"{sum(s.utm_visits for s in manifest.sites) / visits:.1%}"),
            ("custom events", f"{customs / manifest.events:.1%} of events, with props "
                              "(7 names)"),
            ("generator", f"bench/generate.py, seed {manifest.seed}, {manifest.seconds:.0f} s"),
            ("import (`tinytrail import`)", f"{loaded:,} events in {seconds:.0f} s = "
                                            f"{loaded / seconds:,.0f} events/s"),
        ]  # fmt: skip

    def resolve_site(self, url: str) -> None:
        self.sites = dataset.list_sites(url)
        con = sqlite3.connect(self.data_dir / "tinytrail.sqlite3")
        try:
            row = con.execute(
                "SELECT id FROM sites WHERE domain = ?", (generate.BUSY_SITE,)
            ).fetchone()
        finally:
            con.close()
        goals = tuple(
            (g["display_name"], g.get("page_path") or "", g.get("event_name") or "")
            for g in self.sites.goals
        )
        busy = generate.BUSY_SITE
        funnel = ("/", "/pricing", "Signup")
        self.site = sql.Site(int(row[0]), busy, self.sites.ids[busy], goals, funnel)

    def serve_and_query(self) -> None:
        with server.tinytrail(self.data_dir, self.log("server-queries")) as proc:
            seconds = proc.start("/health")
            self.startup("first start after import", seconds)
            self.resolve_site(proc.url)
            self.aggregate(proc.url)
            self.time_ours(proc.url)
            self.note_memory(proc, "after the query benchmarks")
            with self.phase("dashboard in Chromium"):
                self.dashboard(proc.url)

    def dashboard(self, url: str) -> None:
        """Issue 7: how soon the busy site's dashboard shows its numbers in a real browser."""
        assert self.site is not None
        events = self.manifest.events if self.manifest else 0
        timing = dashboard.measure(url, self.site.domain, server.ADMIN_KEY)
        for figure in dashboard.figures(timing, events):
            self.report.add("Dashboard", figure)

    def startup(self, when: str, seconds: float) -> None:
        events = self.manifest.events if self.manifest else 0
        self.report.add(
            "Start-up",
            Figure(
                f"ready to serve (/health 200), {when}",
                "<= 3 s",
                f"{seconds:.2f} s",
                f"{events:,} events stored",
                verdict=verdict(seconds <= 3),
            ),
        )
        write(self.report, self.config.out)

    def aggregate(self, url: str) -> None:
        """Daily rollups for every closed day, through the admin endpoint."""
        assert self.manifest is not None
        first = datetime.fromisoformat(self.manifest.now).date() - timedelta(
            days=self.manifest.days
        )
        started = time.monotonic()
        headers = {"X-API-KEY": server.ADMIN_KEY}
        with httpx.Client(base_url=url, timeout=HTTP_TIMEOUT * 5) as client:
            day = first
            while day < self.started.date():
                body = {"date": day.isoformat()}
                response = client.post("/api/v1/admin/aggregate", json=body, headers=headers)
                response.raise_for_status()
                day += timedelta(days=1)
        seconds = time.monotonic() - started
        self.report.dataset.append(
            ("daily rollups", f"{(self.started.date() - first).days} days x 6 sites built "
                              f"in {seconds:.0f} s (POST /api/v1/admin/aggregate)")
        )  # fmt: skip

    def _benches(self) -> Iterator[tuple[queries.Bench, sql.Range]]:
        ranges = {r.label: r for r in self.ranges()}
        for bench in queries.catalogue():
            for label in bench.ranges:
                yield bench, ranges[label]

    def time_ours(self, url: str) -> None:
        assert self.site is not None
        headers = {
            "X-API-KEY": server.ADMIN_KEY,
            "Authorization": f"Bearer {server.ADMIN_KEY}",
        }
        with httpx.Client(base_url=url, timeout=HTTP_TIMEOUT, headers=headers) as client:
            floor = references.median_ms(lambda: client.get("/health"), self.config.repeat)
            self.report.notes.append(
                f"HTTP floor: GET /health takes {floor:.1f} ms (median) from the same client; "
                "every TinyTrail query figure includes such a round trip, the references none."
            )
            for bench, rng in self._benches():
                key = (bench.kind, bench.name, rng.label)
                row = QueryRow(bench.kind, bench.name, rng.label, bench.target_ms[rng.label])
                self.rows[key] = row
                self.report.queries.append(row)
                method, path, payload = bench.request(self.site, rng)

                def call(m: str = method, p: str = path, b: dict[str, Any] = payload) -> Any:
                    get = m == "GET"
                    response = client.get(p, params=b) if get else client.post(p, json=b)
                    if response.status_code != 200:
                        raise RuntimeError(f"{response.status_code}: {response.text[:300]}")
                    return response.json()

                try:
                    self.ours[key] = bench.extract(call())
                    row.ours_ms = references.median_ms(call, self.config.repeat)
                except Exception as exc:
                    row.error = f"TinyTrail: {exc}"

    def note_memory(self, proc: server.Process, when: str) -> None:
        memory = proc.memory()
        peak = memory.get("VmHWM", 0)
        self.peak_kib = max(self.peak_kib, peak)
        self.report.notes.append(f"Server peak RSS (VmHWM) {when}: {peak / 1024:.0f} MiB.")

    def run_references(self) -> None:
        """Storage, then the same queries in DuckDB and in the ClickHouse engine."""
        assert self.site is not None
        store = self.data_dir / "events.duckdb"
        reference = references.DuckDBReference(store)
        try:
            events = reference.count("events")
            self._run_reference("duckdb", reference.run, sql.Sql())
            exported = reference.export(self.work / "parquet")
        finally:
            reference.close()
        clickhouse = references.ClickHouseReference(self.work / "chdb")
        try:
            clickhouse.load(*exported)
            ch_bytes = clickhouse.bytes_on_disk("events")
            ch_sessions = clickhouse.bytes_on_disk("sessions")
            self._run_reference("clickhouse", clickhouse.run, sql.ClickHouseSql())
            version = clickhouse.version()
        finally:
            clickhouse.close()
        theirs = (
            f"ClickHouse {version}: events {ch_bytes / events:.1f} B, "
            f"+ sessions {ch_sessions / events:.1f} B"
        )
        self.storage("with daily rollups", events, theirs, ch_bytes / events)
        # What an operator gets back with the server stopped: the free and partly filled
        # blocks that appends and rollup builds leave (tinytrail/storage/compaction.py).
        started = time.monotonic()
        subprocess.run(
            [sys.executable, "-m", "tinytrail.cli", "compact", "--data-dir", str(self.data_dir)],
            check=True,
            capture_output=True,
            timeout=1800,
        )
        seconds = time.monotonic() - started
        when = f"after `tinytrail compact` ({seconds:.0f} s)"
        self.storage(when, events, theirs, ch_bytes / events)

    def storage(self, when: str, events: int, reference: str = "", theirs: float = 0) -> None:
        """events.duckdb (checkpointed by whoever closed it last) per stored event."""
        size = (self.data_dir / "events.duckdb").stat().st_size
        per_event = size / events
        self.report.add(
            "Storage",
            Figure(
                f"bytes per event, events.duckdb {when}: {size / 2**20:.0f} MiB for "
                f"{events:,} events",
                "<= 25 B at 10M events",
                f"{per_event:.1f} B",
                reference,
                f"{per_event / theirs:.2f} x ClickHouse events-only" if theirs else "",
                verdict(per_event <= 25) + ("" if events >= 10_000_000 else " (below 10M)"),
            ),
        )

    def _run_reference(
        self, engine: str, run: Callable[[list[str]], references.Results], dialect: sql.Sql
    ) -> None:
        assert self.site is not None
        for bench, rng in self._benches():
            key = (bench.kind, bench.name, rng.label)
            row = self.rows.get(key)
            if row is None:
                continue
            statements = bench.statements(dialect, self.site, rng)
            try:
                theirs = bench.shape(run(statements))
                elapsed = references.median_ms(partial(run, statements), self.config.repeat)
            except Exception as exc:
                row.error += f" {engine}: {exc}"
                continue
            agrees = agreement.disagreement(self.ours[key], theirs) if key in self.ours else ""
            agrees = agrees or ("yes" if key in self.ours else "")
            if engine == "duckdb":
                row.duckdb_ms, row.duckdb_agrees = elapsed, agrees
            else:
                row.clickhouse_ms, row.clickhouse_agrees = elapsed, agrees

    def ingestion(self) -> None:
        assert self.site is not None
        scratch = self.work / "load"
        scratch.mkdir(parents=True, exist_ok=True)
        collect = load.collect_items(self.site.uuid, self.site.domain)
        with server.empty_app(self.log("empty-app")) as empty:
            empty.start("/health")
            ceiling = load.throughput(empty.url, collect, scratch / "empty", self.config.seconds)
        env = {"TINYTRAIL_MAX_BODY_BYTES": str(1 << 20)}  # a 500-hit GoatCounter batch
        # On a copy: the load's events (a million or more, all today) must not pile up in the
        # data set that later runs (BENCH_SKIP_INGEST) query.
        copy = self.work / "data-ingest"
        shutil.rmtree(copy, ignore_errors=True)
        shutil.copytree(self.data_dir, copy)
        with server.tinytrail(copy, self.log("server-ingest"), **env) as proc:
            self.startup("restart", proc.start("/health"))
            self._throughput(proc.url, "POST /api/v1/collect", collect, ceiling, scratch)
            events = load.event_items(self.site.domain)
            self._throughput(proc.url, "POST /api/event", events, ceiling, scratch)
            for name, items in (("POST /api/v1/collect", collect), ("POST /api/event", events)):
                self._latency(proc.url, name, items, scratch)
            self._count(proc.url, scratch)
            self._mixed(proc, collect, scratch)
            self._tracker(proc.url)
            self.note_memory(proc, "after ingestion and the mixed load")
        shutil.rmtree(copy, ignore_errors=True)
        self.report.add(
            "Memory",
            Figure(
                "server peak RSS (VmHWM) while ingesting at full speed and answering queries",
                "<= 500 MB",
                f"{self.peak_kib * 1024 / 1e6:.0f} MB",
                f"{self.manifest.events if self.manifest else 0:,} events stored",
                verdict=verdict(self.peak_kib * 1024 / 1e6 <= 500),
            ),
        )

    def _settle(self, url: str) -> None:
        """Let the flusher drain the log before the next measurement."""
        time.sleep(3)
        httpx.get(url + "/health", timeout=HTTP_TIMEOUT)

    def _throughput(
        self, url: str, name: str, items: list[load.Item], ceiling: dict[str, Any], scratch: Path
    ) -> None:
        statuses = load.check(url, items)
        if set(statuses) != {202}:
            self.report.errors.append(f"{name}: sample answers {statuses}, expected all 202")
        result = load.throughput(url, items, scratch / "tp", self.config.seconds)
        self._settle(url)
        rate = result["rate"]
        self.report.add(
            "Ingestion",
            Figure(
                f"{name}, single events, {self.config.seconds} s sustained ({result['tool']}, "
                f"{result.get('errors', 0)} errors)",
                ">= 10,000 events/s",
                f"{rate:,.0f} events/s",
                f"empty handler {ceiling['rate']:,.0f} req/s",
                f"{rate / ceiling['rate']:.2f} of the ceiling" if ceiling["rate"] else "-",
                verdict(rate >= 10_000 and not result.get("errors")),
            ),
        )

    def _latency(self, url: str, name: str, items: list[load.Item], scratch: Path) -> None:
        # Sustained means steady: the rate first runs unmeasured for a while, so the figure is
        # not the store still digesting the full-speed runs before it (their checkpoints).
        load.run_loadgen(url, items, scratch / "lat-warm", LATENCY_WARM_UP_S, LATENCY_RATE, 64)
        result = load.run_loadgen(
            url, items, scratch / "lat", self.config.latency_seconds, LATENCY_RATE, 64
        )
        self._settle(url)
        self.report.add(
            "Ingestion",
            Figure(
                f"{name}, p99 latency at {LATENCY_RATE:,} events/s for "
                f"{self.config.latency_seconds} s after {LATENCY_WARM_UP_S} s at that rate "
                f"(open loop, achieved {result['rate']:,.0f}/s, "
                f"{result['errors']} errors"
                + ("; overloaded, stopped early" if result.get("overloaded") else "")
                + ")",
                "<= 20 ms",
                f"{result['p99_ms']:.1f} ms",
                f"p50 {result['p50_ms']:.1f} ms, max {result['max_ms']:.0f} ms",
                verdict=verdict(result["p99_ms"] <= 20 and result["rate"] >= 0.98 * LATENCY_RATE),
            ),
        )

    def _count(self, url: str, scratch: Path) -> None:
        assert self.site is not None
        items = load.count_items(self.site.domain, server.ADMIN_KEY)
        statuses = load.check(url, items, sample=1)
        what = "POST /api/v0/count, 500 hits a request"
        if 202 not in statuses:
            self.report.add(
                "Ingestion",
                Figure(what, ">= 100,000 events/s",
                       f"not available (a 500-hit request answers {statuses})",
                       verdict=verdict(None)),
            )  # fmt: skip
            return
        result = load.throughput(url, items, scratch / "count", 20, connections=4)
        self._settle(url)
        rate = result["rate"] * 500
        self.report.add(
            "Ingestion",
            Figure(f"{what}, 20 s ({result['tool']}, {result.get('errors', 0)} errors)",
                   ">= 100,000 events/s", f"{rate:,.0f} events/s",
                   verdict=verdict(rate >= 100_000 and not result.get("errors"))),
        )  # fmt: skip

    def _mixed(self, proc: server.Process, collect: list[load.Item], scratch: Path) -> None:
        """Full-speed ingestion and dashboard queries at once, for memory and query latency."""
        assert self.site is not None
        rng = self.ranges()[0]
        picked = [b for b in queries.catalogue() if b.name in ("summary", "pages", "top stats")]
        script = load.write_wrk_script(collect, scratch / "mixed.lua")
        argv = [
            "wrk", "-t1", "-c32", f"-d{self.config.mixed_seconds}s", "-s", str(script), proc.url,
        ]  # fmt: skip
        if not load.wrk_available():
            argv = ["sleep", str(self.config.mixed_seconds)]
        loader = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        latencies: list[float] = []
        headers = {"X-API-KEY": server.ADMIN_KEY, "Authorization": f"Bearer {server.ADMIN_KEY}"}
        try:
            with httpx.Client(base_url=proc.url, timeout=HTTP_TIMEOUT, headers=headers) as client:
                while loader.poll() is None:
                    for bench in picked:
                        method, path, payload = bench.request(self.site, rng)
                        started = time.perf_counter()
                        if method == "GET":
                            client.get(path, params=payload).raise_for_status()
                        else:
                            client.post(path, json=payload).raise_for_status()
                        latencies.append((time.perf_counter() - started) * 1000)
        finally:
            loader.wait(timeout=self.config.mixed_seconds + 60)
        latencies.sort()
        if latencies:
            self.report.notes.append(
                f"Under full-speed collect load ({self.config.mixed_seconds} s), "
                f"{len(latencies)} dashboard queries (summary, pages, top stats; 30 days) took "
                "median "
                f"{latencies[len(latencies) // 2]:.0f} ms, max {latencies[-1]:.0f} ms."
            )

    def _tracker(self, url: str) -> None:
        with httpx.Client(timeout=HTTP_TIMEOUT) as client, client.stream(
            "GET", url + "/js/tracker.js", headers={"Accept-Encoding": "gzip"}
        ) as response:  # fmt: skip
            size = sum(len(chunk) for chunk in response.iter_raw())
            encoding = response.headers.get("content-encoding", "identity")
        self.report.add(
            "Tracker",
            Figure("GET /js/tracker.js, as served", "<= 1.5 KB (1,500 bytes) gzipped",
                   f"{size:,} bytes ({encoding})", verdict=verdict(size <= 1500)),
        )  # fmt: skip

    def summarize(self) -> None:
        self.report.notes += [
            "The machine is shared with other developers running tests, which disturbs timings; "
            "figures from one run are indicative, compare them within the run.",
            "The load generator runs on the same 2 cores as the server and competes with it for "
            "CPU, so ingestion figures are a lower bound for a server given the whole machine; "
            "the empty-handler ceiling is measured the same way. The open-loop generator used "
            "for the latency figures (bench.loadgen) takes ~0.3 core at 5,000 req/s; until "
            "2026-11-22 it busy-waited and took a whole core, which inflated earlier p99s.",
            "What limits p99 latency at 5,000 events/s: the flusher's commits (~25 ms of CPU "
            "per 2,500 events, ~10 ms of it holding the GIL to build Arrow batches) and "
            "DuckDB's automatic checkpoints (up to ~1 s of CPU on the flusher thread) compete "
            "with the request threads for 2 cores shared with the load generator. Since "
            "2026-11-22 the serving process freezes its start-up objects (full garbage "
            "collections took 40-60 ms) and the flusher runs at nice 10: in A/B runs on this "
            "set, p99 went from 19-38 ms to 14-21 ms. The log's fsyncs are not the tail "
            "(p99 0.16 ms on this disk). Earlier runs found the lower priority worse; they "
            "used a load generator that took a whole core.",
            "TinyTrail answers unfiltered reports from its daily rollups (built at ingestion "
            "time by the nightly job); the references compute from raw events and visits.",
            "ClickHouse tables mirror Plausible's layout (MergeTree ordered by site and day, "
            "LowCardinality strings; city ids as text, as we store them, where Plausible keeps "
            "a UInt32), loaded from the same rows and merged (OPTIMIZE FINAL); DuckDB reads "
            "the server's own file. Both use 2 threads.",
            "Storage: events.duckdb also holds visits and rollups; ClickHouse's figure is its "
            "events table alone (without our log sequence column), as the issue quotes it.",
            "What limits storage (2026-11-23, each table and column copied alone into a fresh "
            "file, on the layout before city ids became text): events 21.2 B/event, visits "
            "12.5, rollups 7.0 (referrer with source 2.5, the three page rollups 2.0, entry and "
            "exit pages 1.0), and 4.1 B of the file was free or partly filled blocks left by "
            "appends and rewrites (`tinytrail compact` gave them back: 44.3 to 40.2 B). City "
            "ids are text since then: DuckDB bit-packs integers over their range (~23 bits for "
            "GeoNames ids) but gives strings a dictionary per segment, so they went from 3.2 "
            "to 0.8 B on events and from 1.4 to 0.3 on visits. "
            "What is left on events is mostly visit attributes stamped on every event (~10 B: "
            "referrer 2.2, country 1.1, source 1.1, a dozen short strings at ~0.5 each, the "
            "floor of a dictionary-coded column here), the path (2.2), the visitor number "
            "(2.2), the visit id (2.1) and the time (0.9). Reaching 25 B needs fewer stored "
            "copies: visit attributes kept on visits only and joined at query time, or coded "
            "as small integers that bit-pack and run-length encode.",
            "Realtime reads a window with no events here (the data set ends at the previous "
            "midnight), so it measures fixed costs: DuckDB plans each of its three statements "
            "in ~1 ms, and the hand-written reference is their sum; the report runs them side "
            "by side but adds the HTTP round trip (~0.9 ms) and thread hops. Since 2026-11-23 "
            "the store writes the visit union out with only the columns a statement names "
            "(DuckDB bound all 33 columns of both tables behind the `all_sessions` view "
            "first), and a query without dimensions is not sorted: the visit count went from "
            "1.49 to 1.01 ms (median of 1,500 in-process runs) and the report from 5.51 to "
            "5.20 ms (400 requests, interleaved with the previous build). Later that day the "
            "report became one statement over the raw events, as the spec describes it (active "
            "visitors from the window's events rather than from the visits table; the "
            "reference changed alike, and got ~0.5 ms cheaper with it): one plan instead of "
            "three, 4.5-4.7 ms against 5.1-5.3 through HTTP interleaved, and with 954 events "
            "in the window (the data set's last 30 minutes) 6.4 ms of SQL against 12.8.",
            "The funnel's 30-day time moves with the machine: on 2026-11-23 the same build "
            "measured 50-61 ms through HTTP in back-to-back runs, its SQL 45-50 ms in-process. "
            "The three steps' scans take ~17 ms, the first step's distinct visits ~9 ms and "
            "the chained joins the rest. Packing (time, seq) in 64 bits instead of 128 gained "
            "nothing; comparing times alone would save ~4 ms but let events of one second "
            "complete steps out of order. Since that evening the first step's visits are "
            "counted in a bitmap over visit ids (sequence numbers, so dense: one bit per number "
            "in use, up to 2^26 numbers) instead of a hash table: 460,000 events of 385,000 "
            "visits took 15 ms hashed and 6 ms in the bitmap; through HTTP, interleaved with "
            "the previous build on a slower day (GET /health at 1.7 ms), 30 days went from 66 "
            "to 54 ms and all time from 159 to 112 ms, with the same counts.",
            "Rollups live in one table per key (only that key's rows are read); time spent in "
            "a small report is then mostly DuckDB's fixed cost per statement (~3 ms for a "
            "grouped query on a few thousand rows on this machine) plus the HTTP round trip.",
            "What limits ingestion: with no HTTP at all (the ASGI app called in-process, 32 "
            "concurrent requests, heap frozen as in the server) a single-event request costs "
            "50-80 us of the main thread's CPU (2026-11-23; 75-115 us before that day's "
            "msgspec fast paths and positional event building): ~20 us of ingestion (the "
            "HMAC visitor id ~4, time and local date ~2, building the event ~2, the visit "
            "~3), 7-10 us decoding, ~3 us the client address and 9-13 us the durable 202's "
            "plumbing (body, log append, wake-up). With the HTTP stack's ~75 us (uvicorn's "
            "empty handler: ~13,400 req/s) that is 7,000-8,000/s; 10,000/s needs our own "
            "work near 25 us, i.e. the per-event work batched over an event-loop turn or in "
            "compiled code. A /count hit costs ~16 us (was ~29 us). Under /count at full "
            "speed (2026-11-23, py-spy) the main thread, the flusher's Arrow building and the "
            "log share one interpreter lock and the rate is the same whether 4 or 8 "
            "connections send: 100,000/s needs less Python per hit, not more concurrency. "
            "Since that day a backlog past a quarter of its bound is flushed at once, not at "
            "the next 500 ms tick; that took the p99 of /count from ~850 to ~520 ms, the "
            "rate within noise. Running the app under "
            "granian (CLI, one worker) gave +30% on collect earlier; its embedded mode, the "
            "only one that keeps one process owning the data folder, gave no gain.",
            "Memory: DuckDB's memory limit (TINYTRAIL_DUCKDB_MEMORY_LIMIT, 160MB by default) "
            "caps the event store's buffers, and its allocator returns freed memory above "
            "16 MB instead of 128 MB; the Python side (libraries, UA and bot patterns, GeoIP, "
            "the visit book) is ~200 MB idle, and query work and ingestion add ~100 MB more "
            "outside the limit. pyarrow no longer imports pandas (installed next to the test "
            "and bench extras) to check our batches: ~50 MB less from the first flush on. "
            "Big all-time breakdowns spill to disk instead of growing the process. With "
            "256MB the peak was ~570 MB; the funnel report, the one that was "
            "slower under 192MB, no longer is since its steps are scanned separately. "
            "With 192MB (the default until 2026-11-22) one run peaked at 500.2 MB (477 "
            "MiB); the query figures measured the same under 160MB. The peak comes in the "
            "/count phase, where the flusher falls behind and accepted events wait in memory "
            "(~350 bytes each) up to TINYTRAIL_MAX_BACKLOG. It trades memory for /count's "
            "rate (bigger batches cost the flusher less per event): in back-to-back runs of "
            "that phase alone (2026-11-23), a bound of 200,000 (the default until then) gave "
            "63,000-66,000 events/s and a 472 MiB peak, 100,000 (the default since) "
            "55,000-57,000 events/s and 432-436 MiB; the whole bench's peak is 20-50 MiB "
            "above that phase's.",
        ]
        ok = sum(1 for q in self.report.queries if q.verdicts()[0] == PASS)
        self.report.notes.append(f"Queries within their time target: {ok} of "
                                 f"{len(self.report.queries)}.")  # fmt: skip


def main() -> None:
    config = Config.from_env()
    run = Run(config)
    try:
        with run.phase("machine"):
            run.machine()
        with run.phase("data set (generate, bootstrap, import)"):
            run.build()
        if run.manifest is not None:
            with run.phase("serve and query"):
                run.serve_and_query()
            if run.site is not None:
                with run.phase("references (DuckDB, ClickHouse)"):
                    run.run_references()
                with run.phase("ingestion, memory, tracker"):
                    run.ingestion()
        run.summarize()
    finally:
        write(run.report, config.out)
        print(f"bench: wrote {config.out}", flush=True)


if __name__ == "__main__":
    main()
