"""Jinguo's published language. Importing this package registers every contract in CATALOGUE."""

from jinguo_contracts import (
    access,
    areas,
    employment,
    inspections,
    orders,
    periods,
    programme,
    registry,
    rights,
)
from jinguo_contracts.base import CATALOGUE, ContractCatalogue, EventContract, Pii

__all__ = [
    "CATALOGUE",
    "ContractCatalogue",
    "EventContract",
    "Pii",
    "access",
    "areas",
    "employment",
    "inspections",
    "orders",
    "periods",
    "programme",
    "registry",
    "rights",
]
