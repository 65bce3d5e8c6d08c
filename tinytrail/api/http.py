"""HTTP plumbing shared by every adapter: fast JSON, bounded bodies, the client's address.

The collectors answer most of the server's requests, so they get a leaner view of a request
than Starlette's (`Incoming`: the raw header list, the peer, the body read straight from the
ASGI channel) and answer with a `Reply` sent as two ASGI messages. Every other endpoint uses
Starlette's Request and Response.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache
from typing import Any

import msgspec
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.types import Message, Receive, Scope

from tinytrail.settings import Network

_encoder = msgspec.json.Encoder()
_IP_CACHE = 65_536  # distinct addresses remembered (in memory only, never written anywhere)
MAX_HOPS = 20  # forwarding hops read from a header
# Where Plausible's RemoteIP looks for the visitor's address, in order, before the peer.
PLAUSIBLE_IP_HEADERS = (b"x-plausible-ip", b"cf-connecting-ip", b"x-forwarded-for")


class JSON(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return _encoder.encode(content)


class BodyTooLarge(Exception):
    pass


# -- the collectors' request and response ---------------------------------------------------


class Incoming:
    """A request as the ASGI server handed it: raw headers (first value wins), peer, body."""

    __slots__ = ("headers", "peer", "receive", "scope")

    def __init__(self, scope: Scope, receive: Receive) -> None:
        self.scope = scope
        self.receive = receive
        headers: dict[bytes, bytes] = {}
        for name, value in scope["headers"]:
            if name not in headers:  # Starlette's Headers.get answers the first one too
                headers[name] = value
        self.headers = headers
        client = scope.get("client")
        self.peer: str = client[0] if client else ""

    def header(self, name: bytes) -> str:
        """A header's value (`name` in lower case, as ASGI servers pass them), or ""."""
        value = self.headers.get(name)
        return "" if value is None else value.decode("latin-1")

    async def body(self, limit: int) -> bytes:
        """The body, refusing (before reading it all) anything over `limit` bytes."""
        refuse_declared_length(self.headers.get(b"content-length"), limit)
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await self.receive()
            if message["type"] == "http.disconnect":
                raise ClientDisconnect
            chunk: bytes = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise BodyTooLarge
            if not message.get("more_body", False):
                if not chunks:
                    return chunk
                chunks.append(chunk)
                return b"".join(chunks)
            chunks.append(chunk)


RawHeaders = list[tuple[bytes, bytes]]


class Reply:
    """A finished answer: status, raw headers (with length and type), body."""

    __slots__ = ("body", "headers", "status")

    def __init__(self, status: int, headers: RawHeaders, body: bytes = b"") -> None:
        self.status = status
        self.headers = headers
        self.body = body

    @classmethod
    def of(cls, response: Response, extra: RawHeaders | None = None) -> Reply:
        """A Starlette response (the rare paths: errors) as a Reply, with `extra` headers set."""
        extra = extra or []
        names = {name for name, _ in extra}
        kept = [(name, value) for name, value in response.raw_headers if name not in names]
        return cls(response.status_code, kept + extra, bytes(response.body))

    def messages(self) -> tuple[Message, Message]:
        """The two ASGI messages that send this answer (sent by the caller: no coroutine of
        its own on the collectors' path)."""
        start = {"type": "http.response.start", "status": self.status, "headers": self.headers}
        return start, {"type": "http.response.body", "body": self.body}

    def response(self) -> Response:
        """The same answer as a Starlette response, for the route table."""
        response = Response(self.body, status_code=self.status)
        response.raw_headers = list(self.headers)
        return response


def reply(status: int, headers: RawHeaders, body: bytes = b"", media_type: bytes = b"") -> Reply:
    """Headers as Starlette's Response would set them: content-length except for 1xx/204/304."""
    headers = list(headers)
    if status >= 200 and status not in (204, 304):
        headers.append((b"content-length", str(len(body)).encode()))
    if media_type:
        headers.append((b"content-type", media_type))
    return Reply(status, headers, body)


# -- bodies and the client's address --------------------------------------------------------


def refuse_declared_length(declared: str | bytes | None, limit: int) -> None:
    """BodyTooLarge for a Content-Length over `limit` (or not a number), before any reading."""
    if declared is None:
        return
    try:
        too_large = int(declared) > limit
    except ValueError:
        raise BodyTooLarge from None
    if too_large:
        raise BodyTooLarge


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refusing (before reading it all) anything over `limit` bytes."""
    refuse_declared_length(request.headers.get("content-length"), limit)
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
    peer = request.client.host if request.client else ""
    return resolve_ip(peer, request.headers.get("x-forwarded-for", ""), trusted)


def incoming_ip(incoming: Incoming, trusted: tuple[Network, ...]) -> str:
    return resolve_ip(incoming.peer, incoming.header(b"x-forwarded-for"), trusted)


def resolve_ip(peer: str, forwarded: str, trusted: tuple[Network, ...]) -> str:
    """The peer address, or, behind a trusted proxy, the nearest untrusted X-Forwarded-For hop.

    Walking the header from the right stops a client from choosing its own IP by sending a
    forged first entry: only hops appended by proxies we trust are skipped. Parsing and
    network checks are memoised per address: a visitor sends many events from one address.
    """
    if not trusted:
        return peer
    is_trusted = _trust(trusted)
    if not is_trusted(peer):
        return peer
    for hop in reversed(forwarded.split(",")[-MAX_HOPS:]):
        address = _parse_ip(hop)  # which strips the hop first
        if address is None:
            break  # garbage in the chain: stop trusting it
        if not is_trusted(address):
            return address
    return peer


def plausible_client_ip(incoming: Incoming) -> str:
    """The visitor's IP by Plausible's rule (plausible-reference.md 2.1): the first valid
    address in X-Plausible-IP, CF-Connecting-IP or X-Forwarded-For, then Forwarded's `for=`,
    else the peer.

    Believed from any sender, unlike `incoming_ip`: Plausible's server-side senders put the
    visitor's IP in X-Forwarded-For, and a client that forges it only chooses which visitor
    it is counted as (as with Plausible). Rate limits stay keyed by `incoming_ip`.
    """
    headers = incoming.headers
    for name in PLAUSIBLE_IP_HEADERS:
        raw = headers.get(name)
        if raw:
            value = raw.decode("latin-1")
            for hop in value.split(",", MAX_HOPS)[:MAX_HOPS]:
                address = _parse_ip(hop)
                if address is not None:
                    return address
    forwarded = incoming.header(b"forwarded")
    for element in forwarded.split(",", MAX_HOPS)[:MAX_HOPS] if forwarded else ():
        for pair in element.split(";"):
            key, _, value = pair.partition("=")
            if key.strip().lower() == "for":
                address = _parse_ip(value)
                if address is not None:
                    return address
    return incoming.peer


@lru_cache(maxsize=_IP_CACHE)
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


class _Trust:
    """Whether an address is in a set of trusted networks, memoised per address."""

    def __init__(self, trusted: tuple[Network, ...]) -> None:
        self.trusted = trusted  # held so that id(trusted) stays this tuple's
        self.check = lru_cache(maxsize=_IP_CACHE)(self._check)

    def _check(self, ip: str) -> bool:
        try:
            address = ipaddress.ip_address(ip)
        except ValueError:
            return False
        return any(address in network for network in self.trusted)


_TRUSTS: dict[int, _Trust] = {}


def _trust(trusted: tuple[Network, ...]) -> Any:
    # By identity: hashing a tuple of networks runs Python code per network on every request.
    found = _TRUSTS.get(id(trusted))
    if found is None or found.trusted is not trusted:
        if len(_TRUSTS) > 64:
            _TRUSTS.clear()
        found = _TRUSTS[id(trusted)] = _Trust(trusted)
    return found.check
