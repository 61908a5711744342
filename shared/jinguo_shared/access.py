"""Jurisdiction: the area an agency works in, i.e. its area code and everything below it, and
the guard that keeps a command inside it.

Area codes nest by prefix (GB/T 2260 for province, city and district, then the statistical
codes of streets and communities): 110000 is Beijing, 110101 its Dongcheng district, 110101001
a street of it and 110101001001 a community of that street. A province- or city-level code ends
in zeros that stand for "all of it", so its jurisdiction is the prefix before them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from jinguo_shared.domain import Aggregate, DomainError, NotFoundError, OutsideJurisdictionError

AggregateT = TypeVar("AggregateT", bound=Aggregate[Any])
OtherT = TypeVar("OtherT", bound=Aggregate[Any])


class OutsideJurisdictionQueryError(DomainError):
    """A list or report asked for an area the caller's agency does not cover."""

    code = "outside-jurisdiction"
    status = 403


@dataclass(frozen=True, slots=True)
class Jurisdiction:
    prefix: str
    """Every area code starting with it is covered; "" covers the whole country."""

    @classmethod
    def of_area(cls, area_code: str) -> Jurisdiction:
        prefix = area_code
        if len(prefix) == 6:
            while len(prefix) > 2 and prefix.endswith("00"):
                prefix = prefix[:-2]
        return cls(prefix)

    def covers(self, area_code: str | None) -> bool:
        return area_code is not None and area_code.startswith(self.prefix)

    def narrow(self, area: str | None) -> str:
        """The area prefix a list or report may filter on: the one asked for when it lies
        within the jurisdiction, the jurisdiction itself when none (or a wider one) is asked."""
        if area is None or self.prefix.startswith(area):
            return self.prefix
        if area.startswith(self.prefix):
            return area
        raise OutsideJurisdictionQueryError(
            f"area {area} is outside your agency's jurisdiction ({self.prefix or 'all'}…)",
            jurisdiction=self.prefix,
        )


EVERYWHERE = Jurisdiction("")


def check_within(jurisdiction: Jurisdiction, aggregate: Aggregate[Any]) -> None:
    """An aggregate outside the caller's jurisdiction does not exist for her (404), and no
    event she causes may place anything outside it (403)."""
    area = aggregate.area_code
    if aggregate.exists and area is not None and not jurisdiction.covers(area):
        raise NotFoundError(f"{aggregate.aggregate_type} {aggregate.id} does not exist")


def check_events_within(jurisdiction: Jurisdiction, aggregate: Aggregate[Any]) -> None:
    for event in aggregate.pending:
        area = getattr(event, "area_code", None)
        if area is not None and not jurisdiction.covers(area):
            raise OutsideJurisdictionError(
                f"area {area} is outside your agency's jurisdiction"
                f" ({jurisdiction.prefix or 'all'}…)",
                field="area_code",
            )


def within(
    jurisdiction: Jurisdiction, decide: Callable[[AggregateT], None]
) -> Callable[[AggregateT], None]:
    """`decide`, on an aggregate the caller may see, raising only events inside her area."""

    def guarded(aggregate: AggregateT) -> None:
        check_within(jurisdiction, aggregate)
        decide(aggregate)
        check_events_within(jurisdiction, aggregate)

    return guarded


def both_within(
    jurisdiction: Jurisdiction, decide: Callable[[AggregateT, OtherT], None]
) -> Callable[[AggregateT, OtherT], None]:
    def guarded(one: AggregateT, two: OtherT) -> None:
        check_within(jurisdiction, one)
        check_within(jurisdiction, two)
        decide(one, two)
        check_events_within(jurisdiction, one)
        check_events_within(jurisdiction, two)

    return guarded
