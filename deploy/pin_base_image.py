"""Pin the base image of deploy/Dockerfile by digest, or check that it is pinned.

The default of `ARG PYTHON_IMAGE=` names a tag (`python:3.11-slim`), which moves with every
Debian and Python patch release. A release resolves that tag to the digest it points at today,
through the registry's OCI Distribution API, and commits the Dockerfile with
`name:tag@sha256:<digest>`: the tag stays for humans, the digest decides what is built.

    make pin-base-image                          # resolves and rewrites deploy/Dockerfile
    python deploy/pin_base_image.py --check      # exit 1 unless the default is pinned

Run it again to move the pin (security updates): the digest is replaced, the tag kept.
Only that one ARG line changes, and on any error the Dockerfile is left as it was.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import httpx

DOCKERFILE = Path(__file__).resolve().parent / "Dockerfile"
BASE_IMAGE_ARG = re.compile(r"^ARG PYTHON_IMAGE=(?P<image>\S*)[ \t]*\r?$", re.MULTILINE)
DIGEST = re.compile(r"sha256:[0-9a-f]{64}")
# The reference grammar of the OCI Distribution specification.
REPOSITORY = re.compile(
    r"[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*"
)
TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]{0,127}")
DOCKER_HUB = "registry-1.docker.io"
DOCKER_HUB_ALIASES = {"docker.io", "index.docker.io", DOCKER_HUB}
# A multi-platform tag resolves to an index (manifest list); a single-platform one to a manifest.
MANIFEST_MEDIA_TYPES = (
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
)
TIMEOUT_SECONDS = 30.0


class PinError(Exception):
    """Why the base image was not pinned, in one readable line."""


@dataclass(frozen=True)
class ImageReference:
    name: str  # as written in the Dockerfile, without tag and digest
    registry: str  # host[:port] the name points at
    repository: str  # path on that registry (library/ added for Docker Hub's official images)
    tag: str
    digest: str | None

    def pinned_to(self, digest: str) -> str:
        return f"{self.name}:{self.tag}@{digest}"

    def __str__(self) -> str:
        pinned = f"@{self.digest}" if self.digest else ""
        return f"{self.name}:{self.tag}{pinned}"


def parse_reference(text: str) -> ImageReference:
    """`name:tag` or `name:tag@sha256:<hex>`, the registry found as `docker pull` finds it."""
    name_and_tag, _, digest = text.partition("@")
    if digest and not DIGEST.fullmatch(digest):
        raise PinError(f"{text!r} carries the digest {digest!r}, not sha256:<64 hex digits>")
    name, colon, tag = name_and_tag.rpartition(":")
    if not colon or "/" in tag:
        raise PinError(f"{text!r} names no tag; write it as name:tag (python:3.11-slim)")
    if not TAG.fullmatch(tag):
        raise PinError(f"{text!r} has the tag {tag!r}, which is not a valid image tag")
    first, slash, rest = name.partition("/")
    if slash and ("." in first or ":" in first or first == "localhost"):
        registry, path = first, rest
    else:
        registry, path = DOCKER_HUB, name
    if registry in DOCKER_HUB_ALIASES:
        registry = DOCKER_HUB
        if "/" not in path:
            path = f"library/{path}"
    if not REPOSITORY.fullmatch(path):
        raise PinError(f"{text!r} has the repository {path!r}, which is not a valid image name")
    return ImageReference(name, registry, path, tag, digest or None)


def base_image_line(dockerfile: str) -> re.Match[str]:
    matches = list(BASE_IMAGE_ARG.finditer(dockerfile))
    if len(matches) != 1:
        raise PinError(f"expected one `ARG PYTHON_IMAGE=<image>` line, found {len(matches)}")
    return matches[0]


def bearer_challenge(header: str) -> dict[str, str]:
    """The parameters of `WWW-Authenticate: Bearer realm="…",service="…",scope="…"`."""
    scheme, _, parameters = header.strip().partition(" ")
    if scheme.lower() != "bearer":
        raise PinError(
            f"the registry asks for {scheme or 'unnamed'} authentication; "
            "only an anonymous bearer token can be fetched"
        )
    return dict(re.findall(r'([A-Za-z]+)="([^"]*)"', parameters))


class Registry:
    """The manifests endpoint of one registry, with an anonymous pull token once it asks."""

    def __init__(self, client: httpx.Client, base_url: str) -> None:
        self.client = client
        self.base_url = base_url.rstrip("/")
        self.token: str | None = None

    def resolve(self, image: ImageReference) -> str:
        url = f"{self.base_url}/v2/{image.repository}/manifests/{image.tag}"
        head = self.request("HEAD", url, image)
        self.refuse_missing(head, image)
        if head.is_success and "Docker-Content-Digest" in head.headers:
            return checked_digest(head.headers["Docker-Content-Digest"])
        # Some registries answer HEAD with 405 or without the digest header: GET the manifest.
        got = self.request("GET", url, image)
        self.refuse_missing(got, image)
        if not got.is_success:
            raise PinError(f"{url} answered HTTP {got.status_code}")
        body_digest = "sha256:" + hashlib.sha256(got.content).hexdigest()
        if "Docker-Content-Digest" in got.headers:
            digest = checked_digest(got.headers["Docker-Content-Digest"])
            if digest != body_digest:
                raise PinError(
                    f"{url} gave Docker-Content-Digest {digest}, but its manifest hashes "
                    f"to {body_digest}"
                )
            return digest
        media_type = got.headers.get("Content-Type", "").split(";")[0].strip()
        if media_type not in MANIFEST_MEDIA_TYPES or not got.content:
            raise PinError(
                f"{url} gave no digest: no Docker-Content-Digest header, and its answer is "
                f"no manifest (Content-Type {media_type or 'none'!r})"
            )
        return body_digest

    def refuse_missing(self, response: httpx.Response, image: ImageReference) -> None:
        if response.status_code == 404:
            raise PinError(f"{self.base_url} has no tag {image.tag!r} of {image.repository}")

    def request(self, method: str, url: str, image: ImageReference) -> httpx.Response:
        response = self.send(method, url)
        if response.status_code == 401 and self.token is None:
            self.token = self.anonymous_token(response, image)
            response = self.send(method, url)
            if response.status_code == 401:
                raise PinError(f"{url} refused the token its own token endpoint issued")
        return response

    def send(self, method: str, url: str) -> httpx.Response:
        headers = {"Accept": ", ".join(MANIFEST_MEDIA_TYPES)}
        if self.token is not None:
            headers["Authorization"] = f"Bearer {self.token}"
        try:
            return self.client.request(method, url, headers=headers)
        except httpx.HTTPError as error:
            raise PinError(f"cannot reach the registry at {self.base_url}: {error}") from error

    def anonymous_token(self, refusal: httpx.Response, image: ImageReference) -> str:
        header = refusal.headers.get("WWW-Authenticate")
        if header is None:
            raise PinError(f"{refusal.url} answered 401 without a WWW-Authenticate challenge")
        challenge = bearer_challenge(header)
        realm = challenge.pop("realm", "")
        if not realm.startswith(("https://", "http://")):
            raise PinError(f"the registry's bearer challenge names no token endpoint: {header}")
        challenge.setdefault("scope", f"repository:{image.repository}:pull")
        try:
            answer = self.client.get(realm, params=challenge)
        except httpx.HTTPError as error:
            raise PinError(f"cannot reach the token endpoint {realm}: {error}") from error
        if not answer.is_success:
            raise PinError(
                f"the token endpoint {realm} refused a pull token: HTTP {answer.status_code}"
            )
        try:
            issued = answer.json()
        except ValueError as error:
            raise PinError(f"the token endpoint {realm} answered no JSON") from error
        token = (
            (issued.get("token") or issued.get("access_token"))
            if isinstance(issued, dict)
            else None
        )
        if not isinstance(token, str) or not token:
            raise PinError(f"the token endpoint {realm} answered without a token")
        return token


def checked_digest(value: str) -> str:
    digest = value.strip()
    if not DIGEST.fullmatch(digest):
        raise PinError(f"the registry gave the digest {digest!r}, not sha256:<64 hex digits>")
    return digest


def replace_file(path: Path, content: bytes) -> None:
    """Write all of it or nothing: a half-written Dockerfile must never be committed."""
    with tempfile.NamedTemporaryFile(dir=path.parent, prefix=f".{path.name}.", delete=False) as out:
        out.write(content)
    os.chmod(out.name, path.stat().st_mode & 0o7777)
    os.replace(out.name, path)


def pin(dockerfile: Path, registry_url: str | None) -> str:
    raw = dockerfile.read_bytes()
    text = raw.decode()
    line = base_image_line(text)
    image = parse_reference(line["image"])
    with httpx.Client(timeout=TIMEOUT_SECONDS, follow_redirects=True) as client:
        registry = Registry(client, registry_url or f"https://{image.registry}")
        digest = registry.resolve(image)
    pinned = image.pinned_to(digest)
    if pinned != line["image"]:
        replace_file(
            dockerfile, (text[: line.start("image")] + pinned + text[line.end("image") :]).encode()
        )
        return f"{dockerfile}: {image} -> {pinned}"
    return f"{dockerfile}: {image} is the current digest of {image.name}:{image.tag}, unchanged"


def check(dockerfile: Path) -> str:
    image = parse_reference(base_image_line(dockerfile.read_text())["image"])
    if image.digest is None:
        raise PinError(
            f"{dockerfile}: ARG PYTHON_IMAGE={image} is not pinned by digest; run "
            "`make pin-base-image` where the registry is reachable and commit the change"
        )
    return f"{dockerfile}: ARG PYTHON_IMAGE={image} is pinned"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="only check that it is pinned")
    parser.add_argument(
        "--registry",
        metavar="URL",
        help="the registry's base URL, instead of https://<the host the image name implies>",
    )
    parser.add_argument("--dockerfile", type=Path, default=DOCKERFILE, help="default: %(default)s")
    arguments = parser.parse_args(argv)
    try:
        if arguments.check:
            print(check(arguments.dockerfile))
        else:
            print(pin(arguments.dockerfile, arguments.registry))
    except (PinError, OSError, UnicodeDecodeError) as error:
        print(f"pin_base_image: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
