"""Personal data sealed per person (crypto-shredding) and keyed hashes for look-ups."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from collections.abc import Iterable
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy.ext.asyncio import AsyncEngine

from jinguo_shared.db import DirectSql

SEALED_PREFIX = "pii:v1:"
ERASED = None


class KeyMaterialError(RuntimeError):
    pass


def load_or_create_key(configured: str | None, path: Path) -> bytes:
    """A configured base64 key wins; the embedded default keeps a generated one beside its data."""
    if configured:
        key = base64.b64decode(configured)
    elif path.exists():
        key = base64.b64decode(path.read_text().strip())
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        key = secrets.token_bytes(32)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(base64.b64encode(key).decode())
    if len(key) != 32:
        raise KeyMaterialError(f"{path.name}: a key must be 32 bytes (base64), got {len(key)}")
    return key


class KeyedHasher:
    """HMAC-SHA256 so that an ID number can be found without ever being stored in the clear."""

    def __init__(self, key: bytes) -> None:
        self._key = key

    def digest(self, value: str) -> str:
        return hmac.new(self._key, value.encode(), hashlib.sha256).hexdigest()


class PiiVault:
    """Per-person AES-GCM data keys, wrapped by the master key, kept in the service database.

    Erasing a person deletes their key: their sealed values in the immutable log and in every
    projection become unreadable at once.
    """

    def __init__(self, engine: AsyncEngine, master_key: bytes, cache_size: int = 20_000) -> None:
        self._sql = DirectSql(engine)
        self._master = AESGCM(master_key)
        self._cache: dict[str, bytes] = {}
        self._cache_size = cache_size

    def _remember(self, subject_id: str, key: bytes) -> None:
        if len(self._cache) >= self._cache_size:
            self._cache.pop(next(iter(self._cache)))
        self._cache[subject_id] = key

    def _unwrap(self, subject_id: str, wrapped: bytes) -> bytes:
        return self._master.decrypt(wrapped[:12], wrapped[12:], subject_id.encode())

    async def prepare(
        self, subject_ids: Iterable[str], *, create: bool, fresh: bool = False
    ) -> None:
        """Load (or create) the keys of these people so sealing and unsealing need no I/O.

        Reads pass `fresh` so that an erasure made by another process is honoured at once.
        """
        wanted = set(subject_ids)
        if fresh:
            for subject_id in wanted:
                self._cache.pop(subject_id, None)
        missing = {s for s in wanted if s not in self._cache}
        if not missing:
            return
        if create:
            # most people sealed for with create=True are new: try the insert first and read
            # back only the keys that were already there
            new_keys = await self._create(missing)
            for subject_id, key in new_keys.items():
                self._remember(subject_id, key)
            missing -= new_keys.keys()
            if not missing:
                return
        for subject_id, wrapped in await self._sql.fetch(_keys_of(len(missing)), *missing):
            self._remember(subject_id, self._unwrap(subject_id, wrapped))

    async def _create(self, subject_ids: set[str]) -> dict[str, bytes]:
        """New keys for these people; those who already had one keep theirs (left out)."""
        new_keys = {subject_id: AESGCM.generate_key(256) for subject_id in subject_ids}
        async with self._sql.transaction() as transaction:
            inserted = set()
            # in one order everywhere: two writers inserting the same people cannot deadlock
            for subject_id, key in sorted(new_keys.items()):
                nonce = secrets.token_bytes(12)
                wrapped = nonce + self._master.encrypt(nonce, key, subject_id.encode())
                inserted |= {
                    row[0]
                    for row in await transaction.fetch(
                        "INSERT INTO pii_keys (subject_id, wrapped_key) VALUES (?, ?)"
                        " ON CONFLICT DO NOTHING RETURNING subject_id",
                        subject_id,
                        wrapped,
                    )
                }
        return {s: key for s, key in new_keys.items() if s in inserted}

    def seal(self, subject_id: str, plaintext: str) -> str:
        key = self._cache[subject_id]
        nonce = secrets.token_bytes(12)
        sealed = AESGCM(key).encrypt(nonce, plaintext.encode(), subject_id.encode())
        return SEALED_PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode()

    def unseal(self, subject_id: str, value: str | None) -> str | None:
        """The plaintext, or None when the person was erased (their key is gone)."""
        if value is None or not value.startswith(SEALED_PREFIX):
            return value
        key = self._cache.get(subject_id)
        if key is None:
            return ERASED
        blob = base64.urlsafe_b64decode(value[len(SEALED_PREFIX) :])
        return AESGCM(key).decrypt(blob[:12], blob[12:], subject_id.encode()).decode()

    async def erase(self, subject_id: str) -> None:
        """Delete the person's key, leaving no copy of it in the database's files."""
        self._cache.pop(subject_id, None)
        async with self._sql.transaction() as transaction:
            await transaction.execute("DELETE FROM pii_keys WHERE subject_id = ?", subject_id)
        await self._sql.scrub("pii_keys")


def _keys_of(count: int) -> str:
    marks = ", ".join("?" * count)
    return f"SELECT subject_id, wrapped_key FROM pii_keys WHERE subject_id IN ({marks})"
