"""The sheet's XLSX and CSV hold the JSON's figures: numbers as numbers, "<5" as text, unknown
figures empty, Chinese intact."""

from __future__ import annotations

import csv
import io
from typing import Any

from openpyxl import load_workbook

from jinguo_registry.entrypoints.sheet_export import (
    sheet_csv,
    sheet_file,
    sheet_filename,
    sheet_xlsx,
)

MONTHS = ["2026-01", "2026-02", "2026-03", "2026-04", "2026-05", "2026-06"]


def sample() -> dict[str, Any]:
    return {
        "area": {"code": "430102", "name": "芙蓉区", "level": "district"},
        "period": "2026H1",
        "starts_on": "2026-01-01",
        "ends_on": "2026-06-30",
        "months": MONTHS,
        "indicators": [
            {
                "code": "women_reemployed",
                "name": "妇女再就业人数",
                "unit": "people",
                "service": "employment",
                "value": 123,
                "target": 200,
                "progress": 61.5,
                "as_reported": 120,
                "difference": 3,
                "trend": [10, 12, 30, 21, 25, 25],
            },
            {
                "code": "dv_incidents_stopped",
                "name": "制止家暴",
                "unit": "items",
                "service": "rights",
                "value": "<5",
                "target": None,
                "progress": None,
                "as_reported": "<5",
                "difference": None,
                "trend": [0, "<5", None, 0, 0, 0],
            },
            {
                "code": "cases_closed_rate",
                "name": "办结率",
                "unit": "percent",
                "service": "rights",
                "value": 92.5,
                "target": 95,
                "progress": 97.4,
                "as_reported": None,
                "difference": None,
                "trend": [90.0, 91.5, 92.0, 92.5, 92.5, 92.5],
            },
        ],
        "children": [
            {
                "code": "430102001",
                "name": "文艺路街道",
                "level": "street",
                "values": {
                    "women_reemployed": 12,
                    "dv_incidents_stopped": "<5",
                    "cases_closed_rate": 88.0,
                },
                "progress": {"women_reemployed": 40.0},
                "lagging": True,
            },
            {
                "code": "430102002",
                "name": "朝阳街街道",
                "level": "street",
                "values": {"women_reemployed": 111, "dv_incidents_stopped": 0},
                "progress": {"women_reemployed": 80.0},
                "lagging": False,
            },
        ],
        "lagging": ["430102001"],
        "report": {
            "state": "revised",
            "submitted_on": "2026-07-03",
            "decided_on": "2026-07-05",
            "reason": None,
            "revision": 1,
        },
    }


def rows(worksheet: Any) -> list[list[Any]]:
    return [list(row) for row in worksheet.iter_rows(values_only=True)]


def test_the_xlsx_holds_the_figures_as_numbers_and_small_cells_as_text() -> None:
    book = load_workbook(io.BytesIO(sheet_xlsx(sample())))

    assert book.sheetnames == ["Indicators", "Trend", "Areas"]
    indicators = book["Indicators"]
    title, header, *body = rows(indicators)
    assert "芙蓉区 (430102)" in title[0]
    assert "2026H1" in title[0]
    assert "revision 1" in title[0]
    assert header == [
        "code",
        "name",
        "unit",
        "value",
        "target",
        "progress %",
        "as reported",
        "difference",
    ]
    assert body == [
        ["women_reemployed", "妇女再就业人数", "people", 123, 200, 61.5, 120, 3],
        ["dv_incidents_stopped", "制止家暴", "items", "<5", None, None, "<5", None],
        ["cases_closed_rate", "办结率", "percent", 92.5, 95, 97.4, None, None],
    ]
    assert indicators["D4"].data_type == "s"  # "<5": text, which no SUM adds up
    assert indicators["D3"].data_type == "n"
    assert indicators.freeze_panes == "A3"
    assert all(cell.font.bold for cell in indicators[2])
    assert indicators.column_dimensions["B"].width >= 20


def test_the_xlsx_has_the_trend_by_month_and_the_child_areas() -> None:
    book = load_workbook(io.BytesIO(sheet_xlsx(sample())))

    _, header, *trend = rows(book["Trend"])
    assert header == ["month", "妇女再就业人数", "制止家暴", "办结率"]
    assert trend[0] == ["2026-01", 10, 0, 90.0]
    assert trend[1] == ["2026-02", 12, "<5", 91.5]
    assert trend[2] == ["2026-03", 30, None, 92.0]
    assert [row[0] for row in trend] == MONTHS

    _, header, *areas = rows(book["Areas"])
    assert header == ["code", "name", "level", "妇女再就业人数", "制止家暴", "办结率", "lagging"]
    assert areas == [
        ["430102001", "文艺路街道", "street", 12, "<5", 88.0, "yes"],
        ["430102002", "朝阳街街道", "street", 111, 0, None, None],
    ]
    assert book["Areas"].freeze_panes == "A3"


def test_the_csv_starts_with_a_bom_and_round_trips_through_the_csv_module() -> None:
    text = sheet_csv(sample())

    assert text.startswith("\ufeff")
    table = list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))
    blank = table.index([])
    indicators, children = table[:blank], table[blank + 1 :]
    assert indicators[0][:4] == ["code", "name", "unit", "value"]
    assert indicators[1] == [
        "women_reemployed",
        "妇女再就业人数",
        "people",
        "123",
        "200",
        "61.5",
        "120",
        "3",
    ]
    assert indicators[2] == ["dv_incidents_stopped", "制止家暴", "items", "<5", "", "", "<5", ""]
    assert float(indicators[3][3]) == 92.5
    assert children[0] == [
        "code",
        "name",
        "level",
        "women_reemployed",
        "dv_incidents_stopped",
        "cases_closed_rate",
        "lagging",
    ]
    assert children[1] == ["430102001", "文艺路街道", "street", "12", "<5", "88.0", "yes"]
    assert children[2] == ["430102002", "朝阳街街道", "street", "111", "0", "", ""]


def test_a_sheet_without_children_or_report_exports_its_indicators_alone() -> None:
    sheet = sample() | {"children": [], "lagging": [], "report": None}

    book = load_workbook(io.BytesIO(sheet_xlsx(sheet)))
    assert len(rows(book["Areas"])) == 2  # title and header
    assert "report" not in rows(book["Indicators"])[0][0]
    table = list(csv.reader(io.StringIO(sheet_csv(sheet).removeprefix("\ufeff"))))
    assert table[-1][0] == "code"
    assert sheet_filename(sheet, "xlsx") == "sheet-430102-2026H1.xlsx"


def test_a_download_is_named_for_its_area_and_period_and_typed() -> None:
    xlsx = sheet_file(sample(), "xlsx")
    assert xlsx.media_type == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert xlsx.headers["content-disposition"] == 'attachment; filename="sheet-430102-2026H1.xlsx"'
    assert load_workbook(io.BytesIO(xlsx.body))["Indicators"]["D3"].value == 123

    comma = sheet_file(sample(), "csv")
    assert comma.headers["content-type"] == "text/csv; charset=utf-8"
    assert comma.headers["content-disposition"] == 'attachment; filename="sheet-430102-2026H1.csv"'
    assert bytes(comma.body).decode("utf-8-sig") == sheet_csv(sample()).removeprefix("\ufeff")
