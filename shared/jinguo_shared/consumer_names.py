"""The names of the durable consumers a service may use on NATS, one set per lane.

Below the projections and the policies, which name their consumers with them, and below
`jinguo_shared.natsauth`, which grants each service user exactly these names.
"""

from __future__ import annotations

REBUILD_SLOTS = 4
"""Rebuild readers (`jinguo replay`) of one service that may read one stream at a time."""


def projections_consumer(service: str, stream: str) -> str:
    """The durable consumer that feeds every projection of a service from one stream."""
    return f"{service}_projections_{stream}".lower()


def policy_consumer(service: str, policy: str) -> str:
    return f"{service}_policy_{policy}".lower()


def webhooks_consumer(service: str, stream: str) -> str:
    """The durable consumer that fills a service's webhook outbox from the stream it
    publishes (`jinguo_shared.webhooks`)."""
    return f"{service}_webhooks_{stream}".lower()


def rebuild_consumers(service: str, stream: str) -> tuple[str, ...]:
    """The named slots a rebuild reader takes one of (`create`, so never shared)."""
    return tuple(f"{service}_rebuild_{stream}_{n}".lower() for n in range(1, REBUILD_SLOTS + 1))
