"""The sheet page against a sheet made for its hard cases: small cells ("<5") and unknown
figures in the sortable table, a report with a difference, a sheet without a report, problems.

The registry here is the page's own middleware plus a route answering a fixed sheet, so each
case is certain to be in the data; test_sheet_page.py drives the real `jinguo up --demo`.
"""

from __future__ import annotations

import csv
import io
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from openpyxl import load_workbook
from selenium.webdriver.common.by import By
from starlette.routing import Mount

from jinguo_registry.entrypoints import sheet_page
from jinguo_registry.entrypoints.sheet_export import sheet_file
from jinguo_shared.ports import free_port

from .conftest import Browser
from .sheetpage import (
    children_in_json,
    children_on_page,
    download,
    indicators_in_json,
    indicators_on_page,
    open_sheet,
    problem_shown,
    sort_by,
)

KEY = "test-key-of-the-page"
STOPPED = "dv_incidents_stopped"


def indicator(code: str, name: str, value: Any, target: Any, **more: Any) -> dict[str, Any]:
    return {
        "code": code,
        "name": name,
        "unit": "people",
        "service": "employment",
        "value": value,
        "target": target,
        "progress": None if target is None or isinstance(value, str) else value / target * 100,
        "as_reported": None,
        "difference": None,
        "trend": [value, None, *[0] * 10],
        **more,
    }


def child(code: str, name: str, reemployed: Any, stopped: Any, lagging: bool) -> dict[str, Any]:
    return {
        "code": code,
        "name": name,
        "level": "community",
        "values": {"women_reemployed": reemployed, STOPPED: stopped},
        "progress": {},
        "lagging": lagging,
    }


def year_sheet() -> dict[str, Any]:
    children = [
        child("430102001001", "韭菜园社区", 40, 7, False),
        child("430102001002", "东湖社区", 1234, "<5", False),
        child("430102001003", "西园社区", 3, None, True),
        child("430102001004", "南门社区", 17, 0, False),
        child("430102001005", "北站社区", 9, 5, True),
    ]
    return {
        "area": {"code": "430102001", "name": "文艺路街道", "level": "street"},
        "period": "2026",
        "starts_on": "2026-01-01",
        "ends_on": "2026-12-31",
        "expected_progress": 100.0,
        "months": [f"2026-{m:02}" for m in range(1, 13)],
        "indicators": [
            indicator(
                "women_reemployed",
                "妇女再就业人数",
                1303,
                2000,
                as_reported=1290,
                difference=13,
            ),
            indicator(STOPPED, "制止家暴", 12, None, as_reported="<5", unit="items"),
            indicator("cases_closed_rate", "办结率", 92.345, 95, unit="percent", as_reported=92),
        ],
        "children": children,
        "lagging": [c["code"] for c in children if c["lagging"]],
        "report": {
            "decision": "accepted",
            "submitted_on": "2027-01-05",
            "decided_on": "2027-01-09",
            "reason": None,
            "revision": 1,
            "as_reported_on": "2027-01-20",
        },
    }


def half_sheet() -> dict[str, Any]:
    sheet = year_sheet()
    sheet.update(
        period="2026H1",
        ends_on="2026-06-30",
        expected_progress=49.6,
        months=sheet["months"][:6],
        report=None,
    )
    for i in sheet["indicators"]:
        i.update(as_reported=None, difference=None, trend=i["trend"][:6])
    return sheet


def registry() -> FastAPI:
    """The page as `jinguo up` serves it, in front of a route answering the sheets above."""
    api = FastAPI()
    sheet_page.install(api)
    sheets = {"2026": year_sheet(), "2026H1": half_sheet()}

    @api.get("/sheets/{area_code}/{period}")
    async def sheet(request: Request, area_code: str, period: str) -> Response:
        if request.headers.get("authorization") != f"Bearer {KEY}":
            return problem(401, "Not authenticated", "a valid API key is required")
        period, _, extension = period.partition(".")
        if period not in sheets:
            return problem(422, "Invalid period", f"{period!r} is no year, half, quarter or month")
        body = sheets[period]
        if area_code != body["area"]["code"]:
            return problem(404, "Unknown area", f"no area {area_code}")
        if extension == "xlsx":
            return sheet_file(body, "xlsx")
        if extension == "csv":
            return sheet_file(body, "csv")
        return JSONResponse(body)

    return FastAPI(routes=[Mount("/registry", api)])


def problem(status: int, title: str, detail: str) -> JSONResponse:
    return JSONResponse(
        {"type": "about:blank", "title": title, "status": status, "detail": detail},
        status_code=status,
        media_type="application/problem+json",
    )


@pytest.fixture(scope="module")
def base() -> Iterator[str]:
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(registry(), port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        assert thread.is_alive(), "the page's server did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


def test_the_page_shows_the_sheets_figures_and_the_report_beside_them(
    browser: Browser, base: str
) -> None:
    sheet = year_sheet()
    open_sheet(browser, base, KEY, "430102001", "2026")

    assert problem_shown(browser) == ""
    assert indicators_on_page(browser) == indicators_in_json(sheet)
    assert children_on_page(browser) == children_in_json(sheet)
    driver = browser.driver
    report = driver.find_element(By.ID, "report").text
    assert "accepted 2027-01-05" in report
    assert "revision 1" in report
    assert "as reported on 2027-01-20" in report
    rate = driver.find_element(By.CSS_SELECTOR, '#indicators tr[data-code="cases_closed_rate"]')
    assert rate.find_element(By.CSS_SELECTOR, "td.value").text == "92.35"
    reemployed = driver.find_element(
        By.CSS_SELECTOR, '#indicators tr[data-code="women_reemployed"]'
    )
    assert reemployed.find_element(By.CSS_SELECTOR, "td.value").text == "1,303"
    assert reemployed.find_element(By.CSS_SELECTOR, "td.difference").text == "+13"
    lagging = driver.find_elements(By.CSS_SELECTOR, "#children tbody tr.lagging")
    assert [row.get_attribute("data-code") for row in lagging] == sheet["lagging"]
    trends = driver.find_elements(By.CSS_SELECTOR, "#trends figure")
    assert [t.get_attribute("data-code") for t in trends] == [
        i["code"] for i in sheet["indicators"]
    ]
    # the first month is a point of the line; the second, unknown, is a gap in it
    assert trends[0].find_element(By.CSS_SELECTOR, "path").get_attribute("d").count("M") == 2
    assert driver.current_url.endswith("#430102001/2026")
    assert KEY not in driver.current_url


def test_sorting_ranks_small_cells_between_zero_and_five_and_unknown_figures_last(
    browser: Browser, base: str
) -> None:
    open_sheet(browser, base, KEY, "430102001", "2026")

    assert sort_by(browser, STOPPED) == "ascending"
    order = [code[-3:] for code, _, _ in children_on_page(browser)]
    assert order == ["004", "002", "005", "001", "003"]  # 0, <5, 5, 7, unknown
    assert sort_by(browser, STOPPED) == "descending"
    order = [code[-3:] for code, _, _ in children_on_page(browser)]
    assert order == ["001", "005", "002", "004", "003"]

    assert sort_by(browser, "women_reemployed") == "ascending"
    figures = [values["women_reemployed"] for _, values, _ in children_on_page(browser)]
    assert figures == [3, 9, 17, 40, 1234]  # by number: "1,234" is no text before "17"
    assert sort_by(browser, "name") == "ascending"
    assert sort_by(browser, "lagging") == "ascending"
    assert [lag for _, _, lag in children_on_page(browser)] == [False, False, False, True, True]


def test_a_period_without_a_report_shows_no_reported_columns(browser: Browser, base: str) -> None:
    open_sheet(browser, base, KEY, "430102001", "2026H1")

    driver = browser.driver
    assert indicators_on_page(browser) == indicators_in_json(half_sheet())
    headers = driver.find_elements(By.CSS_SELECTOR, "#indicators th.reported")
    assert headers
    assert not any(h.is_displayed() for h in headers)
    assert "No report submitted" in driver.find_element(By.ID, "report").text
    # where the progress should be by the period's end: a tick on each bar with a target
    ticks = driver.find_elements(By.CSS_SELECTOR, "#indicators .bar-expected")
    assert [t.get_attribute("x1") for t in ticks] == ["74.9", "74.9"]
    assert len(driver.find_elements(By.CSS_SELECTOR, "#trends circle")) == 6 * 3 - 3


def test_problems_are_shown_by_their_title_and_detail(browser: Browser, base: str) -> None:
    open_sheet(browser, base, "not-the-key", "430102001", "2026")
    shown = problem_shown(browser)
    assert "Not authenticated" in shown
    assert "a valid API key is required" in shown
    assert not browser.driver.find_element(By.ID, "sheet").is_displayed()

    open_sheet(browser, base, KEY, "430102001", "2026Q3")
    assert "'2026Q3' is no year, half, quarter or month" in problem_shown(browser)


def test_the_exports_download_the_sheets_figures(browser: Browser, base: str) -> None:
    sheet = year_sheet()
    open_sheet(browser, base, KEY, "430102001", "2026")

    saved = download(browser, "export-xlsx", ".xlsx")
    assert saved.name == "sheet-430102001-2026.xlsx"
    rows = list(load_workbook(saved)["Indicators"].iter_rows(min_row=3, values_only=True))
    assert [(r[0], r[3], r[4], r[6], r[7]) for r in rows] == [
        (i["code"], i["value"], i["target"], i["as_reported"], i["difference"])
        for i in sheet["indicators"]
    ]

    saved = download(browser, "export-csv", ".csv")
    table = list(csv.reader(io.StringIO(saved.read_text(encoding="utf-8-sig"))))
    assert table[1][:4] == ["women_reemployed", "妇女再就业人数", "people", "1303"]
    assert ["430102001002", "东湖社区", "community", "1234", "<5", "", ""] in table
