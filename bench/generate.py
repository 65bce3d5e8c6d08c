"""The benchmark's data set: several sites' traffic, as NDJSON with Plausible's column names.

One file per site, ready for `tinytrail import --site DOMAIN FILE`; each site's lines come
from `tinytrail.demo.traffic` (the generator `tinytrail demo` uses too), the busy site holding
about half of the events. Same seed, size and `now`: the same files, byte for byte.

    python -m bench.generate --events 1000000 --now 2026-01-01T00:00:00 --out bench/out/x
"""

from __future__ import annotations

import argparse
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import msgspec

from tinytrail.demo.traffic import SiteGenerator, SiteStats

# (domain, share of all events); the busy site holds about half.
SITES: tuple[tuple[str, float], ...] = (
    ("busy.example", 0.50),
    ("shop.example", 0.18),
    ("docs.example", 0.12),
    ("blog.example", 0.09),
    ("news.example", 0.07),
    ("small.example", 0.04),
)
BUSY_SITE = SITES[0][0]


@dataclass
class Manifest:
    seed: int
    events_requested: int
    days: int
    now: str
    engagement: bool
    seconds: float = 0.0
    referrer_sources: int = 0
    sites: list[SiteStats] = field(default_factory=list)

    @property
    def events(self) -> int:
        return sum(site.events for site in self.sites)


def page_count(share: float) -> int:
    """About 2,000 pages on the busy site, fewer on smaller ones."""
    scale: float = min(1.0, share / SITES[0][1]) ** 0.7
    return max(40, round(2000 * scale))


def generate(
    events: int, days: int, now: datetime, seed: int, out: Path, engagement: bool = False
) -> Manifest:
    """Write one NDJSON file per site into `out` and a manifest.json; returns the manifest."""
    out.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    manifest = Manifest(seed, events, days, now.isoformat(), engagement)
    now_ts = int(now.timestamp())
    for domain, share in SITES:
        site = SiteGenerator(
            domain, round(events * share), days, now_ts, seed, engagement, page_count(share)
        )
        with open(out / f"{domain}.ndjson", "wb", buffering=1 << 20) as sink:
            manifest.sites.append(site.write(sink))
        manifest.referrer_sources = site.p.referrer_sources
    manifest.seconds = round(time.monotonic() - started, 1)
    (out / "manifest.json").write_bytes(msgspec.json.format(msgspec.json.encode(asdict(manifest))))
    return manifest


def load_manifest(path: Path) -> Manifest:
    raw = msgspec.json.decode(path.read_bytes())
    sites = [SiteStats(**site) for site in raw.pop("sites")]
    return Manifest(**raw, sites=sites)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument(
        "--now", default=None, help="ISO time the data ends (default: today 0:00 UTC)"
    )
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--engagement", action="store_true", help="add engagement events")
    args = parser.parse_args()
    now = (
        datetime.fromisoformat(args.now).replace(tzinfo=UTC)
        if args.now
        else datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    )
    manifest = generate(args.events, args.days, now, args.seed, args.out, args.engagement)
    print(f"{manifest.events} events in {manifest.seconds} s into {args.out}")


if __name__ == "__main__":
    main()
