"""The envelope and contracts: sealing PII, upcasting old versions, schema export."""

from __future__ import annotations

from typing import Any, ClassVar

import pytest

from jinguo_contracts import CATALOGUE
from jinguo_contracts.base import ContractCatalogue, EventContract, Pii, UnknownEventError
from jinguo_shared.envelope import CommandContext, decode, event_id, make_envelope, seal_data


class GradedV1(EventContract):
    service: ClassVar[str] = "registry"
    aggregate: ClassVar[str] = "provider"
    event_type: ClassVar[str] = "Graded"
    provider_id: str
    grade: int


class GradedV2(GradedV1):
    version: ClassVar[int] = 2
    standard: str
    contact: Pii


def catalogue() -> ContractCatalogue:
    contracts = ContractCatalogue()
    contracts.register(GradedV1, GradedV2)

    @contracts.upcaster("Graded", 1)
    def add_standard(data: dict[str, Any]) -> dict[str, Any]:
        return {**data, "standard": "GB/T 31772-2015", "contact": ""}

    return contracts


CONTEXT = CommandContext(command_id="c1", correlation_id="corr", agency_id="a1", actor="client")


def test_a_stored_v1_event_is_read_as_the_latest_version() -> None:
    v1 = GradedV1(provider_id="p1", grade=4)
    raw = make_envelope(v1, "p1", 0, CONTEXT, seal_data(v1, None)).to_json()
    event = decode("REGISTRY", 7, "registry.provider.p1.Graded", raw, catalogue())
    assert event.payload == GradedV2(
        provider_id="p1", grade=4, standard="GB/T 31772-2015", contact=""
    )
    assert (event.envelope.schemaversion, event.seq) == (1, 7)


def test_a_missing_upcaster_is_an_error_not_a_silent_default() -> None:
    contracts = ContractCatalogue()
    contracts.register(GradedV1, GradedV2)
    with pytest.raises(UnknownEventError, match="Graded v1 -> v2"):
        contracts.upcast("Graded", 1, {"provider_id": "p1", "grade": 4})


def test_pii_fields_are_sealed_with_the_data_subjects_key_and_nothing_else() -> None:
    event = GradedV2(provider_id="p1", grade=4, standard="s", contact="13800138000")
    sealed = seal_data(event, lambda subject, text: f"sealed({subject},{text[::-1]})")
    assert sealed == {
        "provider_id": "p1",
        "grade": 4,
        "standard": "s",
        "contact": "sealed(p1,00083100831)",
    }


def test_event_ids_are_deterministic_per_command_and_position() -> None:
    assert event_id("c1", 0) == event_id("c1", 0)
    assert len({event_id("c1", 0), event_id("c1", 1), event_id("c2", 0)}) == 3


def test_the_envelope_carries_the_cloudevents_attributes() -> None:
    v1 = GradedV1(provider_id="p1", grade=4)
    envelope = make_envelope(v1, "p1", 0, CONTEXT, seal_data(v1, None))
    assert envelope.source == "/jinguo/registry"
    assert envelope.dataschema == "urn:jinguo:registry:Graded:v1"
    assert (envelope.correlationid, envelope.agencyid, envelope.actorid) == ("corr", "a1", "client")


def test_every_published_contract_exports_a_json_schema_marking_pii() -> None:
    schemas = CATALOGUE.json_schemas()
    worker = schemas["urn:jinguo:registry:WorkerRegistered:v1"]
    assert worker["properties"]["national_id"]["pii"] is True
    assert "pii" not in worker["properties"]["area_code"]
    assert worker["x-subject"] == "registry.worker.{id}.WorkerRegistered"


def test_overlapping_subject_filters_collapse_to_the_widest() -> None:
    from jinguo_shared.projections.base import disjoint_filters

    assert disjoint_filters(
        [
            "registry.worker.>",
            "registry.worker.*.CertificateIssued",
            "registry.agency.>",
            "registry.resident.*.ResidentEligibilityChanged",
            "registry.resident.>",
        ]
    ) == ["registry.agency.>", "registry.resident.>", "registry.worker.>"]
    assert disjoint_filters(["a.*.X", "a.b.X"]) == ["a.*.X"]
    assert disjoint_filters(["a.b.X", "a.*.Y"]) == ["a.*.Y", "a.b.X"]
