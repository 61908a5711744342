"""What every employment route asks of a request: who reads, who writes, a path id, an area."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Query
from pydantic import AfterValidator

from jinguo_contracts.areas import area_prefix
from jinguo_shared.http.commands import CommandRequest, command_request
from jinguo_shared.http.conventions import require_scope
from jinguo_shared.http.security import Caller

WriteCommand = Annotated[
    CommandRequest, Depends(command_request(require_scope("employment:write")))
]
Reader = Annotated[Caller, Depends(require_scope("employment:read"))]
Id = Annotated[str, Path(min_length=1, max_length=64)]


def _within_area(code: str | None) -> str | None:
    """A list filters on the digits every code inside the area starts with (`43` for a
    province written `43` or `430000`)."""
    return None if code is None else area_prefix(code)


Area = Annotated[
    str | None,
    Query(max_length=24, description="an area code in any form: 43, 430000, 430102001…"),
    AfterValidator(_within_area),
]
