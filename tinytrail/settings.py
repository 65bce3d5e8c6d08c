"""Every option of the server in one declarative table.

Each option can be set by an environment variable and most by a CLI flag of `tinytrail serve`;
the flag wins over the variable, the variable over the default. `docs/configuration.md` and the
README's settings table are generated from `OPTIONS` (`tinytrail settings --markdown`).
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any


class SettingsError(ValueError):
    """A setting has a value we cannot use; the message names the setting."""


@dataclass(frozen=True)
class RateLimit:
    """`count` requests per `seconds`, parsed from strings such as `10/10s` or `600/1h`."""

    count: int
    seconds: int

    def __str__(self) -> str:
        return f"{self.count}/{self.seconds}s"


_RATE_RE = re.compile(r"^\s*(\d+)\s*/\s*(\d*)\s*([smhd]?)\s*$")
_UNIT_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_rate(text: str) -> RateLimit:
    match = _RATE_RE.match(text)
    if not match:
        raise SettingsError(f"invalid rate limit {text!r}: expected COUNT/PERIOD such as 10/10s")
    count, amount, unit = match.groups()
    seconds = int(amount or "1") * _UNIT_SECONDS[unit]
    if int(count) < 1 or seconds < 1:
        raise SettingsError(f"invalid rate limit {text!r}: count and period must be positive")
    return RateLimit(int(count), seconds)


def parse_optional_rate(text: str) -> RateLimit | None:
    """A rate limit, or None for `off`."""
    return None if text.strip().lower() == "off" else parse_rate(text)


Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(text: str) -> tuple[Network, ...]:
    nets: list[Network] = []
    for part in re.split(r"[,\s]+", text.strip()):
        if not part:
            continue
        try:
            nets.append(ipaddress.ip_network(part, strict=False))
        except ValueError as exc:
            raise SettingsError(f"invalid IP or CIDR range {part!r}") from exc
    return tuple(nets)


def parse_bool(text: str) -> bool:
    value = text.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off", ""}:
        return False
    raise SettingsError(f"invalid boolean {text!r}: use on/off")


def _parse_int(text: str) -> int:
    try:
        return int(text)
    except ValueError as exc:
        raise SettingsError(f"invalid integer {text!r}") from exc


def _parse_positive(text: str) -> int:
    value = _parse_int(text)
    if value < 1:
        raise SettingsError(f"invalid value {text!r}: must be at least 1")
    return value


_SIZE = re.compile(r"^\s*\d+(\.\d+)?\s*(KB|MB|GB|TB|KIB|MIB|GIB|TIB)\s*$", re.IGNORECASE)


def _parse_size(text: str) -> str:
    """A memory size as DuckDB reads it ("256MB", "1.5GB", "512MiB")."""
    if not _SIZE.match(text):
        raise SettingsError(f"invalid size {text!r}: use a number and a unit, like 256MB or 1GB")
    return text.strip()


@dataclass(frozen=True)
class Option:
    name: str  # attribute of Settings
    env: tuple[str, ...]  # variables, first one set wins
    flag: str | None  # CLI flag of `tinytrail serve`
    parse: Callable[[str], Any]
    default: str
    doc: str


OPTIONS: tuple[Option, ...] = (
    Option("host", ("TINYTRAIL_HOST",), "--host", str, "127.0.0.1", "Address to listen on."),
    Option(
        "port", ("TINYTRAIL_PORT", "PORT"), "--port", _parse_int, "8000", "TCP port to listen on."
    ),
    Option(
        "data_dir",
        ("TINYTRAIL_DATA_DIR",),
        "--data-dir",
        Path,
        "./data",
        "Folder holding the metadata database, the event store, the write-ahead log and secrets.",
    ),
    Option(
        "database_url",
        ("TINYTRAIL_DATABASE_URL",),
        "--database-url",
        str,
        "",
        "SQLAlchemy URL of the metadata database; empty means SQLite in the data folder. "
        "PostgreSQL: `postgresql://user:pass@host/db` (psycopg 3, the `postgres` extra).",
    ),
    Option(
        "admin_api_key",
        ("TINYTRAIL_ADMIN_API_KEY",),
        None,
        str,
        "",
        "Key of the bootstrap admin created on first start (otherwise a random key is printed).",
    ),
    Option(
        "rate_limits",
        ("TINYTRAIL_RATE_LIMITS",),
        None,
        parse_bool,
        "on",
        "`off` turns every rate limit off (benchmarks).",
    ),
    Option(
        "rate_limit_collect",
        ("TINYTRAIL_RATE_LIMIT_COLLECT",),
        None,
        parse_rate,
        "10/10s",
        "Per client IP, for the browser collectors (`/api/v1/collect`, GoatCounter `/count`).",
    ),
    Option(
        "rate_limit_events",
        ("TINYTRAIL_RATE_LIMIT_EVENTS",),
        None,
        parse_optional_rate,
        "off",
        "Per sending address, for the Plausible Events API (`/api/event`), e.g. `1000/10s`. "
        "Off by default, as in Plausible, which never answers 429 there: server-side senders "
        "send every visitor's events from one address.",
    ),
    Option(
        "rate_limit_api",
        ("TINYTRAIL_RATE_LIMIT_API",),
        None,
        parse_rate,
        "60/60s",
        "Per API key, for the protected TinyTrail routes (`/api/v1/...`).",
    ),
    Option(
        "rate_limit_stats",
        ("TINYTRAIL_RATE_LIMIT_STATS",),
        None,
        parse_rate,
        "600/1h",
        "Per API key, for the Plausible Stats and Sites APIs.",
    ),
    Option(
        "rate_limit_goatcounter",
        ("TINYTRAIL_RATE_LIMIT_GOATCOUNTER",),
        None,
        parse_rate,
        "60/60s",
        "Per API key, for the GoatCounter API v0 (`X-Rate-Limit-*` headers).",
    ),
    Option(
        "rate_limit_dashboard",
        ("TINYTRAIL_RATE_LIMIT_DASHBOARD",),
        None,
        parse_rate,
        "600/60s",
        "Per signed-in key or shared-link visitor address, for the dashboard's data requests "
        "(a page load sends about 20).",
    ),
    Option(
        "trusted_proxies",
        ("TINYTRAIL_TRUSTED_PROXIES",),
        "--trusted-proxies",
        parse_networks,
        "",
        "IPs or CIDR ranges of reverse proxies whose `X-Forwarded-For` is believed "
        "(comma separated). By default none: the peer address is the client. Plausible's "
        "`/api/event` takes the visitor's address from `X-Plausible-IP`, `CF-Connecting-IP`, "
        "`X-Forwarded-For` or `Forwarded` whoever sends them, as Plausible does.",
    ),
    Option(
        "geoip_db",
        ("TINYTRAIL_GEOIP_DB",),
        "--geoip-db",
        str,
        "",
        "Path to a MaxMind/DB-IP City `.mmdb` file for region and city; "
        "without it the bundled offline database gives the country.",
    ),
    Option(
        "max_body_bytes",
        ("TINYTRAIL_MAX_BODY_BYTES",),
        None,
        _parse_int,
        "65536",
        "Largest request body (bytes) of `/api/v1/collect`, `/api/event`, the TinyTrail API and "
        "the Sites API; larger is 413. Fixed limits elsewhere: the GoatCounter API 4 MiB (a "
        "`/count` batch holds up to 500 hits), the Stats API 256 KiB, the dashboard 64 KiB; "
        "imports are streamed.",
    ),
    Option(
        "flush_interval_ms",
        ("TINYTRAIL_FLUSH_INTERVAL_MS",),
        None,
        _parse_int,
        "500",
        "How often accepted events move from the write-ahead log into the event store.",
    ),
    Option(
        "max_backlog",
        ("TINYTRAIL_MAX_BACKLOG",),
        None,
        _parse_positive,
        "100000",
        "Accepted events that may wait in memory for the event store; beyond that, collectors "
        "hold their answers (up to 5 s each) while it catches up, so a sustained overload "
        "slows senders down instead of filling the server's memory.",
    ),
    Option(
        "wal_fsync",
        ("TINYTRAIL_WAL_FSYNC",),
        None,
        parse_bool,
        "on",
        "fsync the write-ahead log before answering 202. Off trades durability for speed.",
    ),
    Option(
        "duckdb_memory_limit",
        ("TINYTRAIL_DUCKDB_MEMORY_LIMIT",),
        None,
        _parse_size,
        "160MB",
        "Memory the embedded event store may use for its cache and query work; larger queries "
        "spill to disk in the data folder. The server's own baseline is about 200 MB more.",
    ),
    Option(
        "session_timeout_min",
        ("TINYTRAIL_SESSION_TIMEOUT_MIN",),
        None,
        _parse_int,
        "30",
        "Minutes of inactivity that end a visit.",
    ),
    Option(
        "base_url",
        ("TINYTRAIL_BASE_URL",),
        "--base-url",
        str,
        "",
        "Public URL of this server, used in shared links and the tracker snippet "
        "(default: derived from each request).",
    ),
    Option(
        "log_level",
        ("TINYTRAIL_LOG_LEVEL",),
        "--log-level",
        str,
        "info",
        "Log level: debug, info, warning, error.",
    ),
)


@dataclass(frozen=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 8000
    data_dir: Path = Path("./data")
    database_url: str = ""
    admin_api_key: str = ""
    rate_limits: bool = True
    rate_limit_collect: RateLimit = RateLimit(10, 10)
    rate_limit_events: RateLimit | None = None
    rate_limit_api: RateLimit = RateLimit(60, 60)
    rate_limit_stats: RateLimit = RateLimit(600, 3600)
    rate_limit_goatcounter: RateLimit = RateLimit(60, 60)
    rate_limit_dashboard: RateLimit = RateLimit(600, 60)
    trusted_proxies: tuple[Network, ...] = ()
    geoip_db: str = ""
    max_body_bytes: int = 65536
    flush_interval_ms: int = 500
    max_backlog: int = 100_000
    wal_fsync: bool = True
    duckdb_memory_limit: str = "160MB"
    session_timeout_min: int = 30
    base_url: str = ""
    log_level: str = "info"
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def metadata_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'tinytrail.sqlite3'}"

    @property
    def events_path(self) -> Path:
        return self.data_dir / "events.duckdb"

    @property
    def wal_dir(self) -> Path:
        return self.data_dir / "wal"

    @property
    def address_note(self) -> Path:
        """Where a serving server notes its URL, so commands on this machine can find it."""
        return self.data_dir / "server.url"

    @property
    def local_url(self) -> str:
        """How a command on this machine reaches the server these settings describe."""
        host = self.host
        # "localhost", not a loopback address: the data folder holds no IP address at all.
        if host in ("", "0.0.0.0", "::", "127.0.0.1", "::1"):
            host = "localhost"
        elif ":" in host and not host.startswith("["):
            host = f"[{host}]"
        return f"http://{host}:{self.port}"

    def with_overrides(self, **values: Any) -> Settings:
        return replace(self, **values)


def load_settings(
    env: Mapping[str, str] | None = None, flags: Mapping[str, str | None] | None = None
) -> Settings:
    """Build Settings from defaults, then environment variables, then CLI flags."""
    env = os.environ if env is None else env
    flags = flags or {}
    values: dict[str, Any] = {}
    for option in OPTIONS:
        raw = option.default
        for var in option.env:
            if var in env:
                raw = env[var]
                break
        if option.flag and flags.get(option.name) is not None:
            raw = str(flags[option.name])
        try:
            values[option.name] = option.parse(raw)
        except SettingsError as exc:
            source = ", ".join(option.env)
            raise SettingsError(f"{source}: {exc}") from exc
    known = {f.name for f in fields(Settings)}
    return Settings(**{k: v for k, v in values.items() if k in known})


def settings_markdown() -> str:
    """The settings table for the docs, straight from OPTIONS so it cannot drift."""
    lines = ["| Variable | Flag | Default | Meaning |", "| --- | --- | --- | --- |"]
    for option in OPTIONS:
        variables = " / ".join(f"`{v}`" for v in option.env)
        flag = f"`{option.flag}`" if option.flag else ""
        default = f"`{option.default}`" if option.default else "(empty)"
        lines.append(f"| {variables} | {flag} | {default} | {option.doc} |")
    return "\n".join(lines) + "\n"
