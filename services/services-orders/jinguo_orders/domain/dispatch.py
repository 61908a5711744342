"""Choosing a worker for an order: same community first, then street, district, city; among
equals the best satisfaction record (满意程度), then the most completed work."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Candidate:
    worker_id: str
    area_code: str
    rating_sum: int = 0
    ratings: int = 0
    completed: int = 0

    @property
    def satisfaction(self) -> float:
        return self.rating_sum / self.ratings if self.ratings else 0.0


def distance(order_area: str, worker_area: str) -> int:
    """0 same community, 1 same street (9 digits), 2 same district (6 digits), 3 elsewhere."""
    for level, length in enumerate((12, 9, 6)):
        if order_area[:length] == worker_area[:length]:
            return level
    return 3


def rank(order_area: str, candidates: list[Candidate]) -> list[Candidate]:
    return sorted(
        candidates,
        key=lambda c: (
            distance(order_area, c.area_code),
            -c.satisfaction,
            -c.completed,
            c.worker_id,
        ),
    )
