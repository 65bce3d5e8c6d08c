"""Referrer spam: hits "from" hosts that only exist to show up in analytics referrer lists.

Plausible drops a hit whose referrer host is on Matomo's referrer spam list; GoatCounter drops
one whose referrer is on its list or a subdomain of an entry. TinyTrail flags such a hit as bot
traffic instead (stored, left out of every report unless bots are asked for, like any bot), and
matches subdomains too: spam campaigns rotate them.

The list is bundled (`lists/referrer_spam.txt`, nothing is fetched at run time); internationalised
entries are also kept in their ASCII (IDNA) form, which is how browsers send them.
"""

from __future__ import annotations

from contextlib import suppress
from functools import lru_cache
from importlib.resources import files


def _load() -> frozenset[str]:
    text = files("tinytrail.ingest").joinpath("lists/referrer_spam.txt").read_text("utf-8")
    hosts: set[str] = set()
    for line in text.splitlines():
        host = line.strip().lower()
        if not host or host.startswith("#"):
            continue
        hosts.add(host)
        with suppress(UnicodeError):  # not a valid IDNA name: only its literal form matches
            hosts.add(host.encode("idna").decode("ascii"))
    return frozenset(hosts)


SPAM_HOSTS = _load()


@lru_cache(maxsize=4096)
def is_spam_referrer(host: str) -> bool:
    """True when `host` (lowercase, as `sources.clean_referrer` gives it) or a domain it is a
    subdomain of is a known referrer spammer."""
    while host:
        if host in SPAM_HOSTS:
            return True
        _, dot, host = host.partition(".")
        if not dot:
            return False
    return False
