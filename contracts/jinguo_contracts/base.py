"""The base of every published event contract: versioning, PII marking, upcasting, JSON Schema."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Annotated, Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

PII_MARK = "pii"

Pii = Annotated[str, Field(json_schema_extra={PII_MARK: True})]
"""A personal-data string: sealed with the data subject's key in the log, erasable."""

OptionalPii = Annotated[str | None, Field(default=None, json_schema_extra={PII_MARK: True})]

Upcaster = Callable[[dict[str, Any]], dict[str, Any]]


class EventContract(BaseModel):
    """One version of one event type, as it travels on the bus."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    service: ClassVar[str]
    aggregate: ClassVar[str]
    event_type: ClassVar[str]
    version: ClassVar[int] = 1
    pii_subject_field: ClassVar[str | None] = None
    """Field naming the person whose key seals the PII; None means the aggregate itself."""
    business_date_field: ClassVar[str] = "occurred_on"
    """The field holding the day the fact happened (the business date), if it has one."""
    erases_person: ClassVar[bool] = False
    """The event erases the person its aggregate is (her key is deleted with it): a restored
    backup deletes the key again (`jinguo restore`)."""

    def business_date(self) -> date | datetime | None:
        """The day (or moment) the fact happened; None for an event that records no fact of a
        day (or one recorded before events carried it)."""
        value = getattr(self, self.business_date_field, None)
        return value if isinstance(value, date) else None

    @classmethod
    def pii_fields(cls) -> frozenset[str]:
        return _pii_fields(cls)

    @classmethod
    def schema_id(cls) -> str:
        return f"urn:jinguo:{cls.service}:{cls.event_type}:v{cls.version}"


_pii_cache: dict[type[EventContract], frozenset[str]] = {}


def _pii_fields(cls: type[EventContract]) -> frozenset[str]:
    if cls not in _pii_cache:
        _pii_cache[cls] = frozenset(
            name
            for name, field in cls.model_fields.items()
            if isinstance(field.json_schema_extra, dict) and field.json_schema_extra.get(PII_MARK)
        )
    return _pii_cache[cls]


class UnknownEventError(LookupError):
    pass


class ContractCatalogue:
    """Every known contract by (type, version), the latest version of each, and the upcasters."""

    def __init__(self) -> None:
        self._by_key: dict[tuple[str, int], type[EventContract]] = {}
        self._latest: dict[str, type[EventContract]] = {}
        self._upcasters: dict[tuple[str, int], Upcaster] = {}

    def register(self, *contracts: type[EventContract]) -> None:
        for contract in contracts:
            self._by_key[(contract.event_type, contract.version)] = contract
            latest = self._latest.get(contract.event_type)
            if latest is None or latest.version < contract.version:
                self._latest[contract.event_type] = contract

    def upcaster(self, event_type: str, from_version: int) -> Callable[[Upcaster], Upcaster]:
        """Register how version N of an event type becomes version N + 1."""

        def decorate(function: Upcaster) -> Upcaster:
            self._upcasters[(event_type, from_version)] = function
            return function

        return decorate

    def latest(self, event_type: str) -> type[EventContract]:
        try:
            return self._latest[event_type]
        except KeyError:
            raise UnknownEventError(f"unknown event type {event_type!r}") from None

    def erasures(self) -> list[type[EventContract]]:
        """The latest contracts of the events that erase a person."""
        return [contract for contract in self._latest.values() if contract.erases_person]

    def knows(self, event_type: str) -> bool:
        return event_type in self._latest

    def upcast(self, event_type: str, version: int, data: dict[str, Any]) -> dict[str, Any]:
        """Bring stored data of any version to the latest shape; the log is never rewritten."""
        target = self.latest(event_type).version
        while version < target:
            try:
                data = self._upcasters[(event_type, version)](data)
            except KeyError:
                raise UnknownEventError(
                    f"no upcaster for {event_type} v{version} -> v{version + 1}"
                ) from None
            version += 1
        return data

    def contracts(self) -> list[type[EventContract]]:
        return sorted(self._by_key.values(), key=lambda c: (c.service, c.event_type, c.version))

    def json_schemas(self) -> dict[str, dict[str, Any]]:
        schemas: dict[str, dict[str, Any]] = {}
        for contract in self.contracts():
            schema = contract.model_json_schema()
            schema["$id"] = contract.schema_id()
            schema["x-subject"] = (
                f"{contract.service}.{contract.aggregate}.{{id}}.{contract.event_type}"
            )
            schemas[contract.schema_id()] = schema
        return schemas


CATALOGUE = ContractCatalogue()
"""The published language of every service, filled by importing the contract modules."""
