"""HTTP plumbing shared by every adapter: fast JSON, bounded bodies, the client's address."""

from __future__ import annotations

import ipaddress
from typing import Any

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from tinytrail.settings import Network

_encoder = msgspec.json.Encoder()


class JSON(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return _encoder.encode(content)


class BodyTooLarge(Exception):
    pass


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refusing (before reading it all) anything over `limit` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            if int(declared) > limit:
                raise BodyTooLarge
        except ValueError:
            raise BodyTooLarge from None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge
        chunks.append(chunk)
    return b"".join(chunks)


def decode_json(body: bytes) -> Any:
    """Parsed JSON or raises msgspec.DecodeError (also for invalid UTF-8 and binary junk)."""
    return msgspec.json.decode(body)


def client_ip(request: Request, trusted: tuple[Network, ...]) -> str:
    """The peer address, or, behind a trusted proxy, the nearest untrusted X-Forwarded-For hop.

    Walking the header from the right stops a client from choosing its own IP by sending a
    forged first entry: only hops appended by proxies we trust are skipped.
    """
    peer = request.client.host if request.client else ""
    if not trusted or not _is_trusted(peer, trusted):
        return peer
    header = request.headers.get("x-forwarded-for", "")
    hops = [hop.strip() for hop in header.split(",")][-20:]
    for hop in reversed(hops):
        address = _parse_ip(hop)
        if address is None:
            break  # garbage in the chain: stop trusting it
        if not _is_trusted(address, trusted):
            return address
    return peer


def _parse_ip(text: str) -> str | None:
    text = text.strip().strip('"')
    if text.startswith("[") and "]" in text:  # [IPv6]:port
        text = text[1 : text.index("]")]
    elif text.count(":") == 1:  # IPv4:port
        text = text.split(":", 1)[0]
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        return None


def _is_trusted(ip: str, trusted: tuple[Network, ...]) -> bool:
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return False
    return any(address in network for network in trusted)
