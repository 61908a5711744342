"""NATS over TLS, as production runs it (deploy/nats/values.yaml): a nats-server that presents
a certificate of the cluster's CA and verifies its clients' certificates. A client with
JINGUO_NATS_TLS_CA/CERT/KEY connects; one that does not trust the CA, or has no certificate
of its own, is refused."""

from __future__ import annotations

import asyncio
import ipaddress
import ssl
import subprocess
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import nats
import nats.errors
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from pydantic import ValidationError

from jinguo_shared.embedded_nats import nats_server_binary
from jinguo_shared.nats_client import connect_nats, tls_context
from jinguo_shared.ports import free_port, port_open
from jinguo_shared.settings import Settings

Issued = tuple[x509.Certificate, ec.EllipticCurvePrivateKey]


def issue(
    name: str,
    issuer: Issued | None,
    *,
    ca: bool = False,
    usage: x509.ObjectIdentifier | None = None,
    address: str | None = None,
) -> Issued:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    signer_name, signer_key = (issuer[0].subject, issuer[1]) if issuer else (subject, key)
    now = datetime.now(UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(signer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if ca:
        usages = {"key_cert_sign": True, "crl_sign": True, "digital_signature": True}
    else:
        usages = {"key_cert_sign": False, "crl_sign": False, "digital_signature": True}
    builder = builder.add_extension(
        x509.KeyUsage(
            content_commitment=False,
            key_encipherment=False,
            data_encipherment=False,
            key_agreement=False,
            encipher_only=False,
            decipher_only=False,
            **usages,
        ),
        critical=True,
    )
    if usage is not None:
        builder = builder.add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
    if address is not None:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(address))]),
            critical=False,
        )
    return builder.sign(signer_key, hashes.SHA256()), key


def write(directory: Path, name: str, issued: Issued) -> tuple[Path, Path]:
    certificate, key = issued
    cert_file, key_file = directory / f"{name}.crt", directory / f"{name}.key"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


class Pki:
    """A CA, the server's certificate for 127.0.0.1 and a client's, as cert-manager issues
    them in deploy/nats/values.yaml; and a CA nobody uses, for a client that trusts another."""

    def __init__(self, directory: Path) -> None:
        ca = issue("jinguo-nats-ca", None, ca=True)
        self.ca, _ = write(directory, "ca", ca)
        server = issue("nats", ca, usage=ExtendedKeyUsageOID.SERVER_AUTH, address="127.0.0.1")
        self.server_cert, self.server_key = write(directory, "server", server)
        client = issue("registry", ca, usage=ExtendedKeyUsageOID.CLIENT_AUTH)
        self.client_cert, self.client_key = write(directory, "client", client)
        self.other_ca, _ = write(directory, "other-ca", issue("another-ca", None, ca=True))


@pytest.fixture
def pki(tmp_path: Path) -> Pki:
    return Pki(tmp_path)


@pytest.fixture
async def tls_server(tmp_path: Path, pki: Pki) -> AsyncIterator[str]:
    """nats-server on 127.0.0.1 that accepts TLS clients with a certificate of the CA only."""
    port = free_port()
    config = tmp_path / "nats-tls.conf"
    config.write_text(
        f"listen: 127.0.0.1:{port}\n"
        "tls {\n"
        f'  cert_file: "{pki.server_cert}"\n'
        f'  key_file: "{pki.server_key}"\n'
        f'  ca_file: "{pki.ca}"\n'
        "  verify: true\n"
        "}\n"
    )
    log = (tmp_path / "nats-tls.log").open("wb")
    server = subprocess.Popen(  # noqa: ASYNC220 (returns at once)
        [nats_server_binary(), "-c", str(config)], stdout=log, stderr=subprocess.STDOUT
    )
    try:
        while not port_open(port):
            assert server.poll() is None, (tmp_path / "nats-tls.log").read_text()
            await asyncio.sleep(0.02)
        yield f"nats://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(timeout=10)
        log.close()


def client_settings(**tls: Path) -> Settings:
    return Settings(nats_url="nats://unused", **tls)


@pytest.fixture
def environment_cleared(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("JINGUO_NATS_TLS_CA", "JINGUO_NATS_TLS_CERT", "JINGUO_NATS_TLS_KEY"):
        monkeypatch.delenv(name, raising=False)


async def test_a_client_with_the_ca_and_its_certificate_connects(
    tls_server: str, pki: Pki, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JINGUO_NATS_TLS_CA", str(pki.ca))
    monkeypatch.setenv("JINGUO_NATS_TLS_CERT", str(pki.client_cert))
    monkeypatch.setenv("JINGUO_NATS_TLS_KEY", str(pki.client_key))
    nc = await connect_nats(Settings(), tls_server, "tls-test")
    try:
        subscription = await nc.subscribe("tls.check")
        await nc.publish("tls.check", b"over TLS")
        assert (await subscription.next_msg(timeout=5)).data == b"over TLS"
    finally:
        await nc.close()


async def connect_once(settings: Settings, url: str) -> None:
    """The connection `connect_nats` makes with these settings, tried once (it would retry
    forever), and a round trip: a refused client certificate may show only then."""
    nc = await nats.connect(
        url,
        tls=tls_context(settings),
        allow_reconnect=False,
        max_reconnect_attempts=0,
        connect_timeout=5,
    )
    try:
        await nc.flush(timeout=5)
    finally:
        await nc.close()


async def refused(settings: Settings, url: str) -> BaseException:
    with pytest.raises((ssl.SSLError, nats.errors.Error, OSError)) as caught:
        await connect_once(settings, url)
    return caught.value


async def test_a_client_that_does_not_trust_the_ca_is_refused(
    tls_server: str, pki: Pki, environment_cleared: None
) -> None:
    untrusting = client_settings(
        nats_tls_ca=pki.other_ca, nats_tls_cert=pki.client_cert, nats_tls_key=pki.client_key
    )
    error = await refused(untrusting, tls_server)
    assert isinstance(error, ssl.SSLCertVerificationError), repr(error)


async def test_a_client_without_a_certificate_is_refused(
    tls_server: str, pki: Pki, environment_cleared: None
) -> None:
    error = await refused(client_settings(nats_tls_ca=pki.ca), tls_server)
    # with TLS 1.3 the server judges the certificate after the handshake: the client sees an
    # alert, a reset, a broken pipe or an end of stream, depending on timing; never a timeout
    assert not isinstance(error, TimeoutError | nats.errors.TimeoutError), repr(error)


async def test_a_client_without_tls_is_refused(tls_server: str, environment_cleared: None) -> None:
    error = await refused(client_settings(), tls_server)
    # nats-py upgrades to TLS when the server requires it, trusting the system's CAs only
    assert isinstance(error, ssl.SSLCertVerificationError), repr(error)


def test_a_key_without_its_certificate_is_a_settings_error(
    pki: Pki, environment_cleared: None
) -> None:
    with pytest.raises(ValidationError, match="JINGUO_NATS_TLS_KEY"):
        client_settings(nats_tls_ca=pki.ca, nats_tls_key=pki.client_key)
