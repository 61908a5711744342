"""POSTing a delivery: HTTP/1.1 over kept-alive connections to the address already checked.

A general client (httpx) spent ~0.6 ms of CPU on each delivery, most of the projector's time
under load (bench/webhooks.py); a delivery needs little of it: one POST, no redirects followed,
no cookies, no proxies, and of the answer only its status. Answers are read up to
`REPLY_READ_LIMIT`; a connection whose answer was longer, or unframed, is closed rather than
drained, so a huge reply costs its sender nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections import defaultdict
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

from jinguo_shared.webhooks.addresses import IpAddress

REPLY_READ_LIMIT = 4096
"""Bytes of a receiver's answer body read at most (only its status matters)."""
HEAD_LIMIT = 16_384
"""Bytes of status line and headers accepted before the answer is refused."""
IDLE_PER_HOST = 8
DEFAULT_PORTS = {"http": 80, "https": 443}
URL_SAFE = "/?=&%:@!$'()*+,;~-._"
"""Characters a URL's path and query keep as they are; any other is percent-encoded."""


class PostFailedError(Exception):
    """The POST got no HTTP answer (refused, reset, timed out, malformed)."""


@dataclass(frozen=True, slots=True)
class Endpoint:
    """Where a connection goes: the checked address, and the name TLS verifies and `Host` says."""

    scheme: str
    address: str
    port: int
    host: str


@dataclass(frozen=True, slots=True)
class Destination:
    """Where a subscription's deliveries go: the endpoint checked, and the path and query."""

    endpoint: Endpoint
    target: str

    @classmethod
    def to(cls, url: str, address: IpAddress) -> Destination:
        """A webhook URL's destination, connecting to `address` (its host's, checked)."""
        parts = urlsplit(url)
        path = quote(parts.path or "/", safe=URL_SAFE)
        query = "?" + quote(parts.query, safe=URL_SAFE) if parts.query else ""
        port = parts.port or DEFAULT_PORTS[parts.scheme]
        return cls(Endpoint(parts.scheme, str(address), port, parts.hostname or ""), path + query)


class Refusal(Exception):
    """A delivery that failed: what the attempt log says of it."""

    def __init__(self, status_code: int | None, error: str) -> None:
        super().__init__(error)
        self.status_code = status_code
        self.error = error


class Connections:
    """Idle kept-alive connections per endpoint, and the POST that uses them."""

    def __init__(self, timeout: float) -> None:
        self._timeout = timeout
        self._idle: defaultdict[Endpoint, list[tuple[asyncio.StreamReader, asyncio.StreamWriter]]]
        self._idle = defaultdict(list)
        self._tls: ssl.SSLContext | None = None

    async def post(self, endpoint: Endpoint, target: str, headers: bytes, body: bytes) -> int:
        """POST `body` with the given header lines (each ending CRLF) to the endpoint; the status
        of the answer. A kept-alive connection the receiver had closed is replaced once."""
        request = b"POST %s HTTP/1.1\r\nhost: %s\r\ncontent-length: %d\r\n%s\r\n%s" % (
            target.encode("ascii"),
            _host_header(endpoint),
            len(body),
            headers,
            body,
        )
        try:
            async with asyncio.timeout(self._timeout):
                idle = self._idle[endpoint]
                while idle:
                    reader, writer = idle.pop()
                    if reader.at_eof() or writer.is_closing():
                        writer.close()
                        continue
                    try:
                        return await self._exchange(endpoint, reader, writer, request)
                    except (ConnectionError, asyncio.IncompleteReadError):
                        writer.close()  # closed by the receiver while idle: a fresh one
                reader, writer = await self._connect(endpoint)
                return await self._exchange(endpoint, reader, writer, request)
        except TimeoutError:
            raise PostFailedError(f"no answer within {self._timeout:g} s") from None
        except (OSError, asyncio.IncompleteReadError, ssl.SSLError) as error:
            raise PostFailedError(f"{type(error).__name__}: {error}"[:500]) from None

    async def _connect(
        self, endpoint: Endpoint
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if endpoint.scheme != "https":
            return await asyncio.open_connection(endpoint.address, endpoint.port, limit=HEAD_LIMIT)
        if self._tls is None:
            self._tls = ssl.create_default_context()
        return await asyncio.open_connection(
            endpoint.address,
            endpoint.port,
            ssl=self._tls,
            server_hostname=endpoint.host,
            limit=HEAD_LIMIT,
        )

    async def _exchange(
        self,
        endpoint: Endpoint,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        request: bytes,
    ) -> int:
        writer.write(request)
        try:
            status, reusable = await _answer(reader)
        except BaseException:
            writer.close()
            raise
        idle = self._idle[endpoint]
        if reusable and len(idle) < IDLE_PER_HOST:
            idle.append((reader, writer))
        else:
            writer.close()
        return status

    async def close(self) -> None:
        for idle in self._idle.values():
            for _, writer in idle:
                writer.close()
                with contextlib.suppress(Exception):
                    await writer.wait_closed()
        self._idle.clear()


async def _answer(reader: asyncio.StreamReader) -> tuple[int, bool]:
    """The status of the final answer, and whether the connection can carry another request."""
    while True:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except asyncio.LimitOverrunError:
            raise PostFailedError(f"an answer's headers longer than {HEAD_LIMIT} bytes") from None
        status_line, *lines = head.decode("latin-1").split("\r\n")
        version, _, rest = status_line.partition(" ")
        code = rest[:3]
        if not version.startswith("HTTP/1.") or not code.isdigit():
            raise PostFailedError(f"not an HTTP/1.1 answer: {status_line[:100]!r}")
        status = int(code)
        if 100 <= status < 200:
            continue  # an interim answer (103 Early Hints): the final one follows
        headers = {}
        for line in lines:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip().lower()
        reusable = version == "HTTP/1.1" and headers.get("connection") != "close"
        length = headers.get("content-length")
        if status in (204, 304):
            return status, reusable
        if length is not None and length.isdigit() and int(length) <= REPLY_READ_LIMIT:
            await reader.readexactly(int(length))
            return status, reusable
        # chunked, unframed or long: what the status needs is read; the rest is not wanted
        return status, False


def _host_header(endpoint: Endpoint) -> bytes:
    default = 443 if endpoint.scheme == "https" else 80
    host = f"[{endpoint.host}]" if ":" in endpoint.host else endpoint.host.encode("idna").decode()
    return (host if endpoint.port == default else f"{host}:{endpoint.port}").encode("ascii")
