"""The webhook POST against receivers that misbehave: on a real socket on 127.0.0.1, each
answer scripted byte by byte."""

from __future__ import annotations

import asyncio
import datetime
import ssl
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from jinguo_shared.webhooks.posting import Connections, Endpoint, PostFailedError

Answer = Callable[[int], bytes]
"""The bytes to send back for the n-th request (0-based) on all connections."""


class Scripted:
    def __init__(self, answer: Answer, tls: ssl.SSLContext | None = None) -> None:
        self.answer = answer
        self.tls = tls
        self.requests: list[bytes] = []
        self.connections = 0
        self.close_after_answer = False
        self._server: asyncio.Server | None = None

    async def __aenter__(self) -> Scripted:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0, ssl=self.tls)
        return self

    async def __aexit__(self, *_: object) -> None:
        assert self._server is not None
        self._server.close()

    @property
    def port(self) -> int:
        assert self._server is not None
        return int(self._server.sockets[0].getsockname()[1])

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next(
                    int(line.split(b":")[1])
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length:")
                )
                self.requests.append(head + await reader.readexactly(length))
                writer.write(self.answer(len(self.requests) - 1))
                await writer.drain()
                if self.close_after_answer:
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


@pytest.fixture
async def connections() -> AsyncIterator[Connections]:
    made = Connections(timeout=2.0)
    yield made
    await made.close()


def plain(port: int) -> Endpoint:
    return Endpoint("http", "127.0.0.1", port, "receiver.example")


async def post(connections: Connections, endpoint: Endpoint) -> int:
    return await connections.post(endpoint, "/hook?x=1", b"x-test: 1\r\n", b'{"a":1}')


async def test_a_kept_alive_connection_carries_the_next_delivery(
    connections: Connections,
) -> None:
    async with Scripted(lambda _: b"HTTP/1.1 204 No Content\r\n\r\n") as receiver:
        assert [await post(connections, plain(receiver.port)) for _ in range(3)] == [204] * 3
        assert receiver.connections == 1
    request = receiver.requests[0]
    assert request.startswith(b"POST /hook?x=1 HTTP/1.1\r\nhost: receiver.example:")
    assert b"x-test: 1\r\n" in request
    assert request.endswith(b'\r\n\r\n{"a":1}')


async def test_a_connection_the_receiver_closed_while_idle_is_replaced(
    connections: Connections,
) -> None:
    async with Scripted(lambda _: b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok") as receiver:
        receiver.close_after_answer = True  # yet it says nothing of closing
        assert await post(connections, plain(receiver.port)) == 200
        await asyncio.sleep(0.05)
        assert await post(connections, plain(receiver.port)) == 200
        assert receiver.connections == 2


async def test_a_huge_reply_is_not_read_and_its_connection_not_kept(
    connections: Connections,
) -> None:
    huge = 200 * 1024 * 1024
    body = b"x" * (1024 * 1024)

    def answer(_: int) -> bytes:
        return b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n%s" % (huge, body)

    async with Scripted(answer) as receiver:
        started = time.perf_counter()
        assert await post(connections, plain(receiver.port)) == 200
        assert time.perf_counter() - started < 1.5, "the status, not the 200 MiB"
        assert await post(connections, plain(receiver.port)) == 200
        assert receiver.connections == 2


async def test_chunked_and_interim_answers(connections: Connections) -> None:
    answers = [
        b"HTTP/1.1 103 Early Hints\r\nlink: </a>\r\n\r\n"
        b"HTTP/1.1 202 Accepted\r\ncontent-length: 0\r\n\r\n",
        b"HTTP/1.1 500 Oops\r\ntransfer-encoding: chunked\r\n\r\n3\r\nbad\r\n0\r\n\r\n",
        b"HTTP/1.1 201 Created\r\nconnection: close\r\ncontent-length: 0\r\n\r\n",
    ]
    async with Scripted(lambda n: answers[n % 3]) as receiver:
        statuses = [await post(connections, plain(receiver.port)) for _ in range(3)]
        assert statuses == [202, 500, 201]
        assert receiver.connections == 2, "kept after the 202; chunked: closed, not drained"


@pytest.mark.parametrize(
    "answer",
    [
        b"SSH-2.0-OpenSSH_9.2\r\n\r\n",
        b"HTTP/1.1 2xx Fine\r\n\r\n",
        b"HTTP/1.1 200 OK\r\n" + b"x-pad: " + b"a" * 20_000 + b"\r\n\r\n",
    ],
    ids=["not-http", "no-status", "headers-too-long"],
)
async def test_a_malformed_answer_is_a_failure(connections: Connections, answer: bytes) -> None:
    async with Scripted(lambda _: answer) as receiver:
        with pytest.raises(PostFailedError):
            await post(connections, plain(receiver.port))


async def test_a_receiver_that_never_answers_times_out(connections: Connections) -> None:
    async with Scripted(lambda _: b"") as receiver:
        started = time.perf_counter()
        with pytest.raises(PostFailedError, match="no answer within 2 s"):
            await post(connections, plain(receiver.port))
        assert time.perf_counter() - started < 3


async def test_nothing_listening_is_a_failure(connections: Connections) -> None:
    async with Scripted(lambda _: b"") as receiver:
        port = receiver.port
    with pytest.raises(PostFailedError, match="ConnectionRefusedError"):
        await post(connections, plain(port))


def certificate(directory: Path, name: str) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    made = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = directory / f"{name}.pem", directory / f"{name}.key"
    cert_file.write_bytes(made.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


async def test_https_verifies_the_host_name_not_the_address(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cert_file, key_file = certificate(tmp_path, "receiver.example")
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(cert_file, key_file)
    async with Scripted(lambda _: b"HTTP/1.1 204 No Content\r\n\r\n", server_tls) as receiver:
        untrusting = Connections(timeout=2.0)
        with pytest.raises(PostFailedError, match="CERTIFICATE_VERIFY_FAILED"):
            await post(
                untrusting, Endpoint("https", "127.0.0.1", receiver.port, "receiver.example")
            )
        await untrusting.close()

        monkeypatch.setenv("SSL_CERT_FILE", str(cert_file))  # the receiver's CA, trusted
        trusting = Connections(timeout=2.0)
        try:
            endpoint = Endpoint("https", "127.0.0.1", receiver.port, "receiver.example")
            assert await post(trusting, endpoint) == 204
            other = Endpoint("https", "127.0.0.1", receiver.port, "elsewhere.example")
            with pytest.raises(PostFailedError, match="CERTIFICATE_VERIFY_FAILED"):
                await post(trusting, other)
        finally:
            await trusting.close()
