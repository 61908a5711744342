"""The year-end sheet page of `jinguo up --demo`, in headless Chromium: it loads without a key,
shows the demo district's closed half-year with the numbers the API answers, sorts the child
areas by a click, and its exports hold the same numbers (the XLSX read with openpyxl)."""

from __future__ import annotations

import csv
import io
import signal
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from openpyxl import load_workbook
from selenium.webdriver.common.by import By

from jinguo_registry.demo import DISTRICT
from jinguo_registry.demo_programme import CLOSED_HALF
from jinguo_shared.ports import free_port
from jinguo_shared.testing import start_up

from .conftest import Browser
from .sheetpage import (
    children_in_json,
    children_on_page,
    download,
    indicators_in_json,
    indicators_on_page,
    open_sheet,
    problem_shown,
    shown,
    sort_by,
    sort_key,
)


@dataclass
class Demo:
    base: str
    key: str
    api: httpx.Client


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    data = tmp_path_factory.mktemp("jinguo")
    port = free_port()
    process = start_up(data, port, data / "jinguo-up.log", "--demo")
    key = (data / "dev-api-key").read_text().strip()
    base = f"http://127.0.0.1:{port}"
    api = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=30)
    try:
        yield Demo(base, key, api)
    finally:
        api.close()
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=60) in (0, 130), "jinguo up did not stop on Ctrl-C"


def demo_sheet(demo: Demo) -> dict[str, Any]:
    """The demo district's sheet for the half-year it closed and reported, as the API answers."""
    answer = demo.api.get(f"/registry/sheets/{DISTRICT}/{CLOSED_HALF}")
    assert answer.status_code == 200, answer.text
    sheet: dict[str, Any] = answer.json()
    # what the page is to show is in the demo: child areas, a report, figures to sort
    assert sheet["children"]
    assert sheet["report"] is not None
    return sheet


def test_the_page_is_served_without_a_key_and_its_data_only_with_one(demo: Demo) -> None:
    page = httpx.get(f"{demo.base}/registry/sheet/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert httpx.get(f"{demo.base}/registry/sheet/sheet.js").status_code == 200
    assert httpx.get(f"{demo.base}/registry/sheets/{DISTRICT}/2026").status_code == 401
    assert httpx.get(f"{demo.base}/registry/workers").status_code == 401


def test_the_page_shows_the_numbers_the_api_answers(browser: Browser, demo: Demo) -> None:
    sheet = demo_sheet(demo)
    area = sheet["area"]["code"]
    open_sheet(browser, demo.base, demo.key, area, sheet["period"])

    assert problem_shown(browser) == ""
    assert indicators_on_page(browser) == indicators_in_json(sheet)
    assert children_on_page(browser) == children_in_json(sheet)
    lagging = browser.driver.find_elements(By.CSS_SELECTOR, "#children tbody tr.lagging")
    assert {row.get_attribute("data-code") for row in lagging} == set(sheet["lagging"])
    shown_trends = browser.driver.find_elements(By.CSS_SELECTOR, "#trends figure")
    assert len(shown_trends) == len(sheet["indicators"])


def test_a_click_on_a_header_sorts_the_child_areas(browser: Browser, demo: Demo) -> None:
    sheet = demo_sheet(demo)
    open_sheet(browser, demo.base, demo.key, sheet["area"]["code"], sheet["period"])
    # an indicator on which the child areas differ, so that its order says something
    code = next(
        i["code"]
        for i in sheet["indicators"]
        if len({repr(c["values"].get(i["code"])) for c in sheet["children"]}) > 1
        and all(c["values"].get(i["code"]) is not None for c in sheet["children"])
    )

    assert sort_by(browser, code) == "ascending"
    figures = [values[code] for _, values, _ in children_on_page(browser)]
    assert figures == sorted(figures, key=sort_key)
    assert figures == sorted(
        (shown(c["values"][code]) for c in sheet["children"]), key=lambda v: sort_key(v)
    )
    assert sort_by(browser, code) == "descending"
    figures = [values[code] for _, values, _ in children_on_page(browser)]
    assert figures == sorted(figures, key=sort_key, reverse=True)


def test_the_xlsx_export_holds_the_sheets_numbers(browser: Browser, demo: Demo) -> None:
    sheet = demo_sheet(demo)
    area = sheet["area"]["code"]
    open_sheet(browser, demo.base, demo.key, area, sheet["period"])

    saved = download(browser, "export-xlsx", ".xlsx")
    book = load_workbook(saved)
    indicators = list(book["Indicators"].iter_rows(min_row=3, values_only=True))
    assert [(r[0], r[3], r[4], r[5], r[6], r[7]) for r in indicators] == [
        (
            i["code"],
            i["value"],
            i["target"],
            i["progress"],
            i["as_reported"],
            i["difference"],
        )
        for i in sheet["indicators"]
    ]
    codes = [i["code"] for i in sheet["indicators"]]
    areas = list(book["Areas"].iter_rows(min_row=3, values_only=True))
    assert [(r[0], *r[3 : 3 + len(codes)]) for r in areas] == [
        (c["code"], *(c["values"].get(code) for code in codes)) for c in sheet["children"]
    ]
    trend = list(book["Trend"].iter_rows(min_row=3, values_only=True))
    assert [row[0] for row in trend] == sheet["months"]
    assert [list(row[1:]) for row in trend] == [
        [i["trend"][n] for i in sheet["indicators"]] for n in range(len(sheet["months"]))
    ]

    saved = download(browser, "export-csv", ".csv")
    rows = list(csv.reader(io.StringIO(saved.read_text(encoding="utf-8-sig"))))
    assert [(r[0], r[3]) for r in rows[1 : 1 + len(codes)]] == [
        (i["code"], "" if i["value"] is None else str(i["value"])) for i in sheet["indicators"]
    ]


def test_a_wrong_key_shows_the_apis_problem(browser: Browser, demo: Demo) -> None:
    open_sheet(browser, demo.base, "not-a-key", DISTRICT, "2026")

    assert "Not authenticated" in problem_shown(browser)
