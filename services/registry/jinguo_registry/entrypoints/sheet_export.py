"""The year-end sheet as the files offices pass around: XLSX and CSV, from the same dict the JSON
endpoint answers with, so the three can never disagree.

Numbers stay numbers (a spreadsheet sums them); a suppressed small cell stays the text "<5", never
a number someone could add up; an unknown figure is an empty cell, not a zero.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet
from starlette.responses import Response

Cell = int | float | str | None
FileKind = Literal["xlsx", "csv"]

INDICATOR_HEADER = (
    "code",
    "name",
    "unit",
    "value",
    "target",
    "progress %",
    "as reported",
    "difference",
)
XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_MEDIA_TYPE = "text/csv; charset=utf-8"


def sheet_file(sheet: Mapping[str, Any], extension: FileKind) -> Response:
    """The sheet as a download. `sheet` is the JSON the sheet endpoint answers (its model dumped
    in JSON mode), so the file holds the numbers a client of the API reads."""
    if extension == "xlsx":
        body, media_type = sheet_xlsx(sheet), XLSX_MEDIA_TYPE
    else:
        body, media_type = sheet_csv(sheet).encode(), CSV_MEDIA_TYPE
    name = sheet_filename(sheet, extension)
    return Response(
        body,
        media_type=media_type,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def sheet_filename(sheet: Mapping[str, Any], extension: str) -> str:
    """An ASCII name for the download: `sheet-430102-2026H1.xlsx`."""
    return f"sheet-{sheet['area']['code']}-{sheet['period']}.{extension}"


def title(sheet: Mapping[str, Any]) -> str:
    area = sheet["area"]
    heading = (
        f"{area['name']} ({area['code']}) · {sheet['period']}"
        f" ({sheet['starts_on']} – {sheet['ends_on']})"
    )
    report = sheet.get("report")
    if report:
        state = report.get("state") or report.get("decision") or "submitted"
        heading += f" · report {state} on {report['submitted_on']}"
        if report.get("revision"):
            heading += f", revision {report['revision']}"
    return heading


def indicator_rows(sheet: Mapping[str, Any]) -> list[list[Cell]]:
    return [
        [
            i["code"],
            i["name"],
            i["unit"],
            _cell(i.get("value")),
            _cell(i.get("target")),
            _cell(i.get("progress")),
            _cell(i.get("as_reported")),
            _cell(i.get("difference")),
        ]
        for i in sheet["indicators"]
    ]


def trend_rows(sheet: Mapping[str, Any]) -> list[list[Cell]]:
    indicators = sheet["indicators"]
    return [
        [month, *(_at(i.get("trend") or [], n) for i in indicators)]
        for n, month in enumerate(sheet["months"])
    ]


def child_rows(sheet: Mapping[str, Any]) -> list[list[Cell]]:
    codes = [i["code"] for i in sheet["indicators"]]
    lagging = set(sheet.get("lagging") or [])
    return [
        [
            child["code"],
            child["name"],
            child["level"],
            *(_cell((child.get("values") or {}).get(code)) for code in codes),
            "yes" if child.get("lagging") or child["code"] in lagging else "",
        ]
        for child in sheet["children"]
    ]


def sheet_xlsx(sheet: Mapping[str, Any]) -> bytes:
    """Three sheets: "Indicators", "Trend" (months × indicators) and "Areas" (children ×
    indicators), each under a title row naming the area and period."""
    book = Workbook()
    names = [i["name"] for i in sheet["indicators"]]
    first = book.active
    assert isinstance(first, Worksheet)  # a new workbook has its one sheet
    first.title = "Indicators"
    heading = title(sheet)
    _table(
        first,
        heading,
        INDICATOR_HEADER,
        indicator_rows(sheet),
        widths=(24, 28, 10, 12, 12, 12, 12, 12),
        formats={5: "0.0"},
    )
    _table(
        book.create_sheet("Trend"),
        heading,
        ["month", *names],
        trend_rows(sheet),
        widths=(10, *(max(12, _width(n)) for n in names)),
    )
    _table(
        book.create_sheet("Areas"),
        heading,
        ["code", "name", "level", *names, "lagging"],
        child_rows(sheet),
        widths=(14, 22, 10, *(max(12, _width(n)) for n in names), 9),
    )
    output = io.BytesIO()
    book.save(output)
    return output.getvalue()


def sheet_csv(sheet: Mapping[str, Any]) -> str:
    """One row per indicator, a blank line, then the child areas (indicators by code). With a
    byte-order mark: Excel reads a CSV without one in the machine's code page, not UTF-8."""
    output = io.StringIO()
    output.write("\ufeff")
    writer = csv.writer(output, lineterminator="\r\n")
    writer.writerow(INDICATOR_HEADER)
    writer.writerows(_texts(indicator_rows(sheet)))
    writer.writerow([])
    writer.writerow(["code", "name", "level", *(i["code"] for i in sheet["indicators"]), "lagging"])
    writer.writerows(_texts(child_rows(sheet)))
    return output.getvalue()


def _table(
    worksheet: Worksheet,
    heading: str,
    header: Sequence[str],
    rows: Iterable[Sequence[Cell]],
    *,
    widths: Sequence[float],
    formats: Mapping[int, str] | None = None,
) -> None:
    worksheet.append([heading])
    worksheet["A1"].font = Font(bold=True, size=13)
    worksheet.append(list(header))
    for cell in worksheet[2]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    for row in rows:
        worksheet.append(list(row))
        for column, number_format in (formats or {}).items():
            cell = worksheet.cell(row=worksheet.max_row, column=column + 1)
            if isinstance(cell.value, int | float):
                cell.number_format = number_format
    worksheet.freeze_panes = "A3"
    for column, width in enumerate(widths, start=1):
        worksheet.column_dimensions[get_column_letter(column)].width = width


def _cell(value: Any) -> Cell:
    """A figure as a spreadsheet holds it: bool is no figure, anything else not a number is
    text ("<5")."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int | float):
        return value
    return str(value)


def _at(trend: Sequence[Any], n: int) -> Cell:
    return _cell(trend[n]) if n < len(trend) else None


def _texts(rows: Iterable[Sequence[Cell]]) -> Iterable[list[str]]:
    for row in rows:
        yield ["" if value is None else str(value) for value in row]


def _width(text: str) -> float:
    """Columns fit their header: a CJK character takes two widths of a Latin one."""
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text) + 2
