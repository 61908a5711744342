"""The register of areas from a file: CSV with a header row, or JSON (a list of objects).

    code,name,urban,year,households,residents,women
    430102,芙蓉区,true,2026,150000,420000,212000
    430102001001,韭菜园社区,true,2026,3200,9100,4650

`code` and `name` are required; `urban` defaults to true (false for 村 and 乡镇); the population
columns are optional, all three together with a year. Every row is checked before anything is
recorded: a file with one bad row records nothing and says which rows are wrong.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from jinguo_registry.handlers.programme import RecordPopulation, RegisterArea

TRUE = {"true", "1", "yes", "y", "urban", "是"}
FALSE = {"false", "0", "no", "n", "rural", "否"}
POPULATION = ("households", "residents", "women")


class AreasFileError(ValueError):
    pass


@dataclass(frozen=True)
class AreaLine:
    line: int
    area: RegisterArea
    year: int | None
    population: RecordPopulation | None


def _rows(path: Path) -> list[tuple[int, dict[str, Any]]]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise AreasFileError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise AreasFileError(f"{path}: is a directory, not a file") from None
    except UnicodeDecodeError:
        raise AreasFileError(f"{path}: not UTF-8 text (save the sheet as CSV UTF-8)") from None
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as error:
            raise AreasFileError(f"{path}: not JSON ({error})") from None
        if isinstance(data, dict):
            data = data.get("areas")
        if not isinstance(data, list) or not all(isinstance(row, dict) for row in data):
            raise AreasFileError(f"{path}: JSON must be a list of objects (or {{'areas': [...]}})")
        return [(n, row) for n, row in enumerate(data, start=1)]
    reader = csv.DictReader(io.StringIO(text))
    if not reader.fieldnames or not {"code", "name"} <= set(reader.fieldnames):
        raise AreasFileError(f"{path}: the header row must name at least `code` and `name`")
    return [(n, row) for n, row in enumerate(reader, start=2)]


def _flag(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value or "").strip().lower()
    if text in ("", *TRUE):
        return True
    if text in FALSE:
        return False
    raise ValueError(f"urban: {value!r} is neither true nor false")


def _line(n: int, row: dict[str, Any]) -> AreaLine:
    area = RegisterArea.model_validate(
        {
            "area_code": str(row.get("code") or ""),
            "name": row.get("name"),
            "urban": _flag(row.get("urban")),
        }
    )
    given = [name for name in POPULATION if str(row.get(name) or "").strip()]
    if not given:
        return AreaLine(n, area, None, None)
    if len(given) < len(POPULATION) or not str(row.get("year") or "").strip():
        raise ValueError("population needs a year and all of households, residents, women")
    population = RecordPopulation.model_validate({name: row[name] for name in POPULATION})
    return AreaLine(n, area, int(str(row["year"])), population)


def _problem(location: tuple[int | str, ...], message: str) -> str:
    message = message.removeprefix("Value error, ")
    return f"{'.'.join(str(p) for p in location)}: {message}" if location else message


def read_areas(path: Path) -> list[AreaLine]:
    """Every line checked, parents before their children; or one error naming every bad row."""
    lines, problems = [], []
    for n, row in _rows(path):
        try:
            lines.append(_line(n, row))
        except ValidationError as error:
            details = "; ".join(_problem(e["loc"], e["msg"]) for e in error.errors())
            problems.append(f"line {n}: {details}")
        except ValueError as error:
            problems.append(f"line {n}: {error}")
    if problems:
        shown = "\n  ".join(problems[:20])
        more = f"\n  … and {len(problems) - 20} more" if len(problems) > 20 else ""
        raise AreasFileError(
            f"{path}: {len(problems)} bad rows, nothing recorded:\n  {shown}{more}"
        )
    if not lines:
        raise AreasFileError(f"{path}: no areas in it")
    return sorted(lines, key=lambda line: (len(line.area.area_code), line.area.area_code))
