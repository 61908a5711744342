"""deploy/pin_base_image.py against a registry played by a real HTTP server on 127.0.0.1.

The server answers the part of the OCI Distribution API the tool uses, behind the anonymous
bearer-token challenge Docker Hub puts in front of every manifest. The tool runs as a release
runs it, a process of its own, on a copy of deploy/Dockerfile.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import re
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType
from urllib.parse import parse_qsl, urlsplit

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "deploy" / "pin_base_image.py"
DOCKERFILE = ROOT / "deploy" / "Dockerfile"

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
ACCEPTED = (
    OCI_INDEX,
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
)
INDEX = json.dumps(
    {
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": [
            {
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "digest": "sha256:" + "1" * 64,
                "size": 1234,
                "platform": {"architecture": "amd64", "os": "linux"},
            }
        ],
    },
    indent=3,
).encode()
INDEX_DIGEST = "sha256:" + hashlib.sha256(INDEX).hexdigest()
EARLIER_DIGEST = "sha256:" + "0" * 64
SERVICE = "registry.test"
TOKEN = "anonymous-pull-token"


@dataclass
class LocalRegistry:
    """What the server serves, how it misbehaves, and what it was asked."""

    url: str = ""
    manifests: dict[tuple[str, str], tuple[str, bytes]] = field(
        default_factory=lambda: {("library/python", "3.11-slim"): (OCI_INDEX, INDEX)}
    )
    head_status: int | None = None  # e.g. 405: a registry that only answers GET
    digest_header: bool = True
    digest_override: str | None = None
    challenge_scheme: str = "Bearer"
    token_status: int = 200
    manifest_requests: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)
    token_requests: list[dict[str, str]] = field(default_factory=list)


class RegistryHandler(BaseHTTPRequestHandler):
    server: RegistryServer

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        self.answer(send_body=True)

    def do_HEAD(self) -> None:
        self.answer(send_body=False)

    def answer(self, send_body: bool) -> None:
        registry = self.server.registry
        url = urlsplit(self.path)
        if url.path == "/token":
            self.issue_token(registry, dict(parse_qsl(url.query)), send_body)
            return
        manifest = re.fullmatch(r"/v2/(.+)/manifests/([^/]+)", url.path)
        if manifest is None:
            self.reply(404, "application/json", b'{"errors":[{"code":"NAME_UNKNOWN"}]}', send_body)
            return
        repository, tag = manifest.groups()
        registry.manifest_requests.append((self.command, url.path, dict(self.headers.items())))
        if self.headers.get("Authorization") != f"Bearer {TOKEN}":
            challenge = (
                f'{registry.challenge_scheme} realm="{registry.url}/token",service="{SERVICE}",'
                f'scope="repository:{repository}:pull"'
            )
            self.reply(401, "application/json", b"{}", send_body, {"WWW-Authenticate": challenge})
            return
        if self.command == "HEAD" and registry.head_status is not None:
            self.reply(registry.head_status, "application/json", b"", send_body)
            return
        if (repository, tag) not in registry.manifests:
            body = b'{"errors":[{"code":"MANIFEST_UNKNOWN"}]}'
            self.reply(404, "application/json", body, send_body)
            return
        media_type, body = registry.manifests[repository, tag]
        headers = {}
        if registry.digest_header:
            real_digest = "sha256:" + hashlib.sha256(body).hexdigest()
            headers["Docker-Content-Digest"] = registry.digest_override or real_digest
        self.reply(200, media_type, body, send_body, headers)

    def issue_token(self, registry: LocalRegistry, query: dict[str, str], send_body: bool) -> None:
        registry.token_requests.append(query)
        if registry.token_status != 200:
            body = b'{"details":"access denied"}'
            self.reply(registry.token_status, "application/json", body, send_body)
            return
        body = json.dumps({"token": TOKEN, "expires_in": 300}).encode()
        self.reply(200, "application/json", body, send_body)

    def reply(
        self,
        status: int,
        content_type: str,
        body: bytes,
        send_body: bool,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if send_body:
            self.wfile.write(body)


class RegistryServer(ThreadingHTTPServer):
    def __init__(self, registry: LocalRegistry) -> None:
        super().__init__(("127.0.0.1", 0), RegistryHandler)
        self.registry = registry
        registry.url = f"http://127.0.0.1:{self.server_address[1]}"


@pytest.fixture
def registry() -> Iterator[LocalRegistry]:
    served = LocalRegistry()
    server = RegistryServer(served)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield served
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def dockerfile_with_base(tmp_path: Path, image: str) -> Path:
    """The project's Dockerfile, its base image default set to `image`."""
    text = DOCKERFILE.read_text()
    text, replaced = re.subn(
        r"^ARG PYTHON_IMAGE=\S+$", f"ARG PYTHON_IMAGE={image}", text, flags=re.M
    )
    assert replaced == 1
    path = tmp_path / "Dockerfile"
    path.write_text(text)
    return path


def run_tool(*arguments: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, SCRIPT, *map(str, arguments)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def pin(dockerfile: Path, registry_url: str) -> subprocess.CompletedProcess[str]:
    return run_tool("--dockerfile", dockerfile, "--registry", registry_url)


def test_pins_the_tag_to_its_digest_behind_the_token_challenge(
    registry: LocalRegistry, tmp_path: Path
) -> None:
    dockerfile = dockerfile_with_base(tmp_path, "python:3.11-slim")
    before = dockerfile.read_text()

    done = pin(dockerfile, registry.url)

    assert done.returncode == 0, done.stderr
    assert done.stdout == f"{dockerfile}: python:3.11-slim -> python:3.11-slim@{INDEX_DIGEST}\n"
    expected = before.replace(
        "\nARG PYTHON_IMAGE=python:3.11-slim\n",
        f"\nARG PYTHON_IMAGE=python:3.11-slim@{INDEX_DIGEST}\n",
    )
    assert expected != before
    assert dockerfile.read_text() == expected
    assert registry.token_requests == [
        {"service": SERVICE, "scope": "repository:library/python:pull"}
    ]
    asked = [
        (method, "Authorization" in headers) for method, _, headers in registry.manifest_requests
    ]
    assert asked == [("HEAD", False), ("HEAD", True)]
    for _, path, headers in registry.manifest_requests:
        assert path == "/v2/library/python/manifests/3.11-slim"
        assert set(headers["Accept"].split(", ")) == set(ACCEPTED)


def test_pinning_again_replaces_the_digest_and_keeps_the_tag(
    registry: LocalRegistry, tmp_path: Path
) -> None:
    dockerfile = dockerfile_with_base(tmp_path, f"python:3.11-slim@{EARLIER_DIGEST}")
    before = dockerfile.read_text()

    done = pin(dockerfile, registry.url)

    assert done.returncode == 0, done.stderr
    old, new = f"python:3.11-slim@{EARLIER_DIGEST}", f"python:3.11-slim@{INDEX_DIGEST}"
    assert done.stdout == f"{dockerfile}: {old} -> {new}\n"
    assert dockerfile.read_text() == before.replace(
        f"ARG PYTHON_IMAGE={old}\n", f"ARG PYTHON_IMAGE={new}\n"
    )


def test_a_current_pin_is_left_as_it_is(registry: LocalRegistry, tmp_path: Path) -> None:
    dockerfile = dockerfile_with_base(tmp_path, f"python:3.11-slim@{INDEX_DIGEST}")
    before = dockerfile.read_bytes()

    done = pin(dockerfile, registry.url)

    assert done.returncode == 0, done.stderr
    assert "unchanged" in done.stdout
    assert dockerfile.read_bytes() == before


def test_a_registry_refusing_head_is_asked_with_get_and_the_body_hashed(
    registry: LocalRegistry, tmp_path: Path
) -> None:
    registry.head_status = 405
    registry.digest_header = False
    dockerfile = dockerfile_with_base(tmp_path, "python:3.11-slim")

    done = pin(dockerfile, registry.url)

    assert done.returncode == 0, done.stderr
    assert f"ARG PYTHON_IMAGE=python:3.11-slim@{INDEX_DIGEST}\n" in dockerfile.read_text()
    assert [method for method, _, _ in registry.manifest_requests] == ["HEAD", "HEAD", "GET"]


def unused_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@pytest.mark.parametrize(
    ("case", "image", "message"),
    [
        ("unreachable", "python:3.11-slim", "cannot reach the registry at http://127.0.0.1:"),
        ("tag unknown", "python:3.99-slim", "has no tag '3.99-slim' of library/python"),
        ("no digest", "python:3.11-slim", "gave no digest"),
        ("malformed digest", "python:3.11-slim", "'sha256:abc', not sha256:<64 hex digits>"),
        ("digest not of the body", "python:3.11-slim", f"hashes to {INDEX_DIGEST}"),
        ("token refused", "python:3.11-slim", "refused a pull token: HTTP 403"),
        ("basic authentication", "python:3.11-slim", "asks for Basic authentication"),
    ],
)
def test_every_failure_is_one_line_and_leaves_the_dockerfile_untouched(
    registry: LocalRegistry, tmp_path: Path, case: str, image: str, message: str
) -> None:
    registry_url = registry.url
    if case == "unreachable":
        registry_url = f"http://127.0.0.1:{unused_port()}"
    elif case == "no digest":
        registry.manifests["library/python", "3.11-slim"] = ("text/html", b"<html>login</html>")
        registry.digest_header = False
    elif case == "malformed digest":
        registry.digest_override = "sha256:abc"
    elif case == "digest not of the body":
        registry.head_status = 405
        registry.digest_override = EARLIER_DIGEST
    elif case == "token refused":
        registry.token_status = 403
    elif case == "basic authentication":
        registry.challenge_scheme = "Basic"
    dockerfile = dockerfile_with_base(tmp_path, image)
    before = dockerfile.read_bytes()

    done = pin(dockerfile, registry_url)

    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr.startswith("pin_base_image: ")
    assert done.stderr.count("\n") == 1, done.stderr
    assert message in done.stderr
    assert dockerfile.read_bytes() == before
    assert list(tmp_path.iterdir()) == [dockerfile]


def test_check_fails_until_the_base_image_is_pinned(tmp_path: Path) -> None:
    dockerfile = dockerfile_with_base(tmp_path, "python:3.11-slim")
    unpinned = run_tool("--check", "--dockerfile", dockerfile)
    assert unpinned.returncode == 1
    assert unpinned.stderr == (
        f"pin_base_image: {dockerfile}: ARG PYTHON_IMAGE=python:3.11-slim is not pinned by "
        "digest; run `make pin-base-image` where the registry is reachable and commit the change\n"
    )

    dockerfile = dockerfile_with_base(tmp_path, f"python:3.11-slim@{INDEX_DIGEST}")
    pinned = run_tool("--check", "--dockerfile", dockerfile)
    assert pinned.returncode == 0, pinned.stderr
    assert (
        pinned.stdout
        == f"{dockerfile}: ARG PYTHON_IMAGE=python:3.11-slim@{INDEX_DIGEST} is pinned\n"
    )

    dockerfile = dockerfile_with_base(tmp_path, "python:3.11-slim@sha256:abc")
    malformed = run_tool("--check", "--dockerfile", dockerfile)
    assert malformed.returncode == 1
    assert "not sha256:<64 hex digits>" in malformed.stderr


def load_tool() -> ModuleType:
    spec = importlib.util.spec_from_file_location("pin_base_image", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(
    ("written", "registry", "repository", "tag", "digest"),
    [
        ("python:3.11-slim", "registry-1.docker.io", "library/python", "3.11-slim", None),
        ("docker.io/python:3.11", "registry-1.docker.io", "library/python", "3.11", None),
        ("bitnami/python:3.11", "registry-1.docker.io", "bitnami/python", "3.11", None),
        (f"ghcr.io/org/app:1.0@{INDEX_DIGEST}", "ghcr.io", "org/app", "1.0", INDEX_DIGEST),
        ("localhost:5000/python:3.11", "localhost:5000", "python", "3.11", None),
    ],
)
def test_the_image_name_says_which_registry(
    written: str, registry: str, repository: str, tag: str, digest: str | None
) -> None:
    image = load_tool().parse_reference(written)
    assert (image.registry, image.repository, image.tag, image.digest) == (
        registry,
        repository,
        tag,
        digest,
    )
    assert str(image) == written


@pytest.mark.parametrize(
    ("written", "message"),
    [
        ("python", "names no tag"),
        ("localhost:5000/python", "names no tag"),
        ("Python:3.11", "not a valid image name"),
        ("python:3.11@sha256:abc", "not sha256:<64 hex digits>"),
    ],
)
def test_an_image_name_the_tool_cannot_pin_is_named(written: str, message: str) -> None:
    tool = load_tool()
    with pytest.raises(tool.PinError, match=re.escape(message)):
        tool.parse_reference(written)
