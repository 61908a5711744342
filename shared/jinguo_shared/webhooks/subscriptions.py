"""Webhook subscriptions and their outboxes, in the service's own database (kernel tables in
`jinguo_shared.db`, created with the others when a process starts: no migration).

Tables rather than events on the service's stream: what changes here (a delivery done, an
attempt failed, a subscription paused) is operational state, written for every event sent; as
events it would multiply the stream it is delivering. The signing secret is sealed with the
service's `PiiVault` under `webhook:<id>`: deleting the subscription erases its key, so no copy
of the secret stays readable, not even in a backup of the database.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, bindparam, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from jinguo_shared.crypto import PiiVault
from jinguo_shared.db import (
    insert_for,
    webhook_attempts,
    webhook_outbox,
    webhook_subscriptions,
    writing,
)
from jinguo_shared.feed import Feed
from jinguo_shared.webhooks.signing import new_secret

PENDING, DELIVERED, SKIPPED = "pending", "delivered", "skipped"


@dataclass(frozen=True, slots=True)
class Subscription:
    id: str
    client_id: str
    url: str
    types: frozenset[str] | None
    area: str | None
    after_seq: int
    """Events after this sequence of the stream are delivered (the end when it was made)."""
    paused_reason: str | None
    created_at: float

    def wants(self, feed: Feed, subject: str, envelope: dict[str, Any]) -> bool:
        """Whether a stored event of the feed's stream (its subject and decoded envelope) is
        one this subscription asks for, by type and, where the event names one, area (whether
        its owner may see it is decided when it is sent)."""
        event_type = subject.rsplit(".", 1)[-1]
        if event_type not in feed.published or (
            self.types is not None and event_type not in self.types
        ):
            return False
        area = envelope["data"].get("area_code")
        return self.area is None or not isinstance(area, str) or area.startswith(self.area)


@dataclass(frozen=True, slots=True)
class Queued:
    """One event in a subscription's outbox, waiting to be delivered."""

    seq: int
    event_id: str
    attempts: int
    failing_since: float | None
    next_attempt_at: float


@dataclass(frozen=True, slots=True)
class Attempt:
    id: int
    event_id: str
    position: str
    attempted_at: float
    status_code: int | None
    error: str | None
    duration_ms: float


def vault_subject(subscription_id: str) -> str:
    return f"webhook:{subscription_id}"


class Subscriptions:
    def __init__(self, engine: AsyncEngine, vault: PiiVault) -> None:
        self._engine = engine
        self._vault = vault

    async def create(
        self,
        client_id: str,
        url: str,
        types: frozenset[str] | None,
        area: str | None,
        after_seq: int,
    ) -> tuple[Subscription, str]:
        """A new subscription and its secret, which is returned this once."""
        subscription = Subscription(
            str(uuid.uuid4()), client_id, url, types, area, after_seq, None, time.time()
        )
        secret = new_secret()
        subject = vault_subject(subscription.id)
        await self._vault.prepare([subject], create=True)
        async with writing(self._engine) as connection:
            await connection.execute(
                webhook_subscriptions.insert().values(
                    id=subscription.id,
                    client_id=client_id,
                    url=url,
                    types=None if types is None else sorted(types),
                    area=area,
                    sealed_secret=self._vault.seal(subject, secret),
                    after_seq=after_seq,
                    paused_reason=None,
                    created_at=subscription.created_at,
                )
            )
        return subscription, secret

    async def all(self) -> list[Subscription]:
        return await self._select()

    async def of_client(self, client_id: str, after: str, limit: int) -> list[Subscription]:
        table = webhook_subscriptions
        return await self._select(table.c.client_id == client_id, table.c.id > after, limit=limit)

    async def owned(self, subscription_id: str, client_id: str) -> Subscription | None:
        """The subscription, if this client made it (another's is as if there were none)."""
        table = webhook_subscriptions
        found = await self._select(table.c.id == subscription_id, table.c.client_id == client_id)
        return found[0] if found else None

    async def _select(self, *where: Any, limit: int | None = None) -> list[Subscription]:
        table = webhook_subscriptions
        query = select(table).where(*where).order_by(table.c.id).limit(limit)
        async with self._engine.connect() as connection:
            rows = (await connection.execute(query)).all()
        return [
            Subscription(
                row.id,
                row.client_id,
                row.url,
                None if row.types is None else frozenset(row.types),
                row.area,
                row.after_seq,
                row.paused_reason,
                row.created_at,
            )
            for row in rows
        ]

    async def secret(self, subscription_id: str) -> str:
        subject = vault_subject(subscription_id)
        async with self._engine.connect() as connection:
            sealed = await connection.scalar(
                select(webhook_subscriptions.c.sealed_secret).where(
                    webhook_subscriptions.c.id == subscription_id
                )
            )
        await self._vault.prepare([subject], create=False)
        secret = self._vault.unseal(subject, sealed)
        if secret is None:
            raise LookupError(f"webhook {subscription_id} was deleted")
        return secret

    async def delete(self, subscription_id: str) -> None:
        async with writing(self._engine) as connection:
            for table, column in (
                (webhook_subscriptions, webhook_subscriptions.c.id),
                (webhook_outbox, webhook_outbox.c.subscription_id),
                (webhook_attempts, webhook_attempts.c.subscription_id),
            ):
                await connection.execute(delete(table).where(column == subscription_id))
        await self._vault.erase(vault_subject(subscription_id))

    async def pause(self, subscription_id: str, reason: str) -> None:
        await self._set_paused(subscription_id, reason)

    async def resume(self, subscription_id: str) -> None:
        """Active again, its next event due at once (its failures so far forgiven)."""
        async with writing(self._engine) as connection:
            await connection.execute(
                update(webhook_outbox)
                .where(
                    webhook_outbox.c.subscription_id == subscription_id,
                    webhook_outbox.c.state == PENDING,
                )
                .values(attempts=0, failing_since=None, next_attempt_at=time.time())
            )
        await self._set_paused(subscription_id, None)

    async def _set_paused(self, subscription_id: str, reason: str | None) -> None:
        async with writing(self._engine) as connection:
            await connection.execute(
                update(webhook_subscriptions)
                .where(webhook_subscriptions.c.id == subscription_id)
                .values(paused_reason=reason)
            )

    async def enqueue(self, rows: Sequence[tuple[str, int, str]], *, again: bool = False) -> None:
        """(subscription, sequence, event id) into the outboxes; one already there stays as it
        is, unless `again` (a redelivery or a replay): then it is due once more, at once."""
        if not rows:
            return
        now = time.time()
        due = {"state": PENDING, "attempts": 0, "failing_since": None, "next_attempt_at": now}
        values = [
            {"subscription_id": subscription_id, "seq": seq, "event_id": event_id, **due}
            for subscription_id, seq, event_id in rows
        ]
        insert = insert_for(self._engine, webhook_outbox)
        keys = ["subscription_id", "seq"]
        if again:
            statement = insert.on_conflict_do_update(
                index_elements=keys,
                set_={
                    "state": PENDING,
                    "attempts": 0,
                    "failing_since": None,
                    "next_attempt_at": now,
                },
            )
        else:
            statement = insert.on_conflict_do_nothing(index_elements=keys)
        async with writing(self._engine) as connection:
            for start in range(0, len(values), 500):
                await connection.execute(statement, values[start : start + 500])

    async def queued(self, subscription_id: str, limit: int) -> list[Queued]:
        """The next events to deliver, oldest first."""
        table = webhook_outbox
        query = (
            select(
                table.c.seq,
                table.c.event_id,
                table.c.attempts,
                table.c.failing_since,
                table.c.next_attempt_at,
            )
            .where(table.c.subscription_id == subscription_id, table.c.state == PENDING)
            .order_by(table.c.seq)
            .limit(limit)
        )
        async with self._engine.connect() as connection:
            return [Queued(*row) for row in (await connection.execute(query)).all()]

    async def sequence_of(self, subscription_id: str, event_id: str) -> int | None:
        """Where an event once queued for this subscription lies in the stream."""
        async with self._engine.connect() as connection:
            seq = await connection.scalar(
                select(webhook_outbox.c.seq).where(
                    webhook_outbox.c.subscription_id == subscription_id,
                    webhook_outbox.c.event_id == event_id,
                )
            )
        return None if seq is None else int(seq)

    async def settle(
        self,
        subscription_id: str,
        done: Sequence[tuple[int, str]],
        attempts: Iterable[Attempt],
        failed: Sequence[Queued] = (),
    ) -> None:
        """Events `(seq, state)` delivered or skipped, the attempts made, and the events that
        failed, with when each is due again: one transaction."""
        outbox = webhook_outbox
        match = and_(
            outbox.c.subscription_id == subscription_id, outbox.c.seq == bindparam("at_seq")
        )
        async with writing(self._engine) as connection:
            if done:
                await connection.execute(
                    update(outbox).where(match).values(state=bindparam("new_state")),
                    [{"at_seq": seq, "new_state": state} for seq, state in done],
                )
            if failed:
                await connection.execute(
                    update(outbox)
                    .where(match)
                    .values(
                        attempts=bindparam("new_attempts"),
                        failing_since=bindparam("new_failing_since"),
                        next_attempt_at=bindparam("new_next_attempt_at"),
                    ),
                    [
                        {
                            "at_seq": event.seq,
                            "new_attempts": event.attempts,
                            "new_failing_since": event.failing_since,
                            "new_next_attempt_at": event.next_attempt_at,
                        }
                        for event in failed
                    ],
                )
            logged = [
                {
                    "subscription_id": subscription_id,
                    "event_id": attempt.event_id,
                    "position": attempt.position,
                    "attempted_at": attempt.attempted_at,
                    "status_code": attempt.status_code,
                    "error": attempt.error,
                    "duration_ms": attempt.duration_ms,
                }
                for attempt in attempts
            ]
            if logged:
                await connection.execute(webhook_attempts.insert(), logged)

    async def attempts(self, subscription_id: str, after: int, limit: int) -> list[Attempt]:
        table = webhook_attempts
        query = (
            select(
                table.c.id,
                table.c.event_id,
                table.c.position,
                table.c.attempted_at,
                table.c.status_code,
                table.c.error,
                table.c.duration_ms,
            )
            .where(table.c.subscription_id == subscription_id, table.c.id > after)
            .order_by(table.c.id)
            .limit(limit)
        )
        async with self._engine.connect() as connection:
            return [Attempt(*row) for row in (await connection.execute(query)).all()]

    async def pending_count(self, subscription_id: str) -> int:
        async with self._engine.connect() as connection:
            count = await connection.scalar(
                select(func.count()).where(
                    webhook_outbox.c.subscription_id == subscription_id,
                    webhook_outbox.c.state == PENDING,
                )
            )
        return int(count or 0)


class Settling:
    """What a batch of one subscription's deliveries came to, recorded as it goes: every
    `settle_every` events, and the rest when the batch ends."""

    def __init__(
        self, subscriptions: Subscriptions, subscription_id: str, settle_every: int
    ) -> None:
        self._subscriptions = subscriptions
        self._settle_every = settle_every
        self._subscription_id = subscription_id
        self._done: list[tuple[int, str]] = []
        self._attempts: list[Attempt] = []
        self._failed: list[Queued] = []
        self.failures: list[tuple[Queued, Attempt]] = []
        """Every event that failed in the batch, by sequence."""

    async def done(self, seq: int, state: str, attempt: Attempt | None = None) -> None:
        self._done.append((seq, state))
        if attempt is not None:
            self._attempts.append(attempt)
        if len(self._done) >= self._settle_every:
            await self.settle()

    def failed(self, event: Queued, attempt: Attempt) -> None:
        self.failures.append((event, attempt))
        self.failures.sort(key=lambda failure: failure[0].seq)
        self._failed.append(event)
        self._attempts.append(attempt)

    async def settle(self) -> None:
        done, attempts, failed = self._done, self._attempts, self._failed
        self._done, self._attempts, self._failed = [], [], []
        if done or attempts:
            await self._subscriptions.settle(self._subscription_id, done, attempts, failed)
