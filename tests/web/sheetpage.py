"""Reading the sheet page as a person sees it: what its cells say, in the order it shows them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.select import Select
from selenium.webdriver.support.wait import WebDriverWait

from .conftest import Browser

WAIT = 60
Figure = int | float | str | None


def open_sheet(browser: Browser, base: str, key: str, area: str, period: str) -> None:
    """The page, with the key, area and period typed in and the sheet on screen."""
    driver = browser.driver
    driver.get(f"{base}/registry/sheet/")
    year, span = period[:4], period[4:]
    fill(driver.find_element(By.ID, "key"), key)
    fill(driver.find_element(By.ID, "area"), area)
    fill(driver.find_element(By.ID, "year"), year)
    Select(driver.find_element(By.ID, "span")).select_by_value(span)
    driver.find_element(By.ID, "show").click()
    WebDriverWait(driver, WAIT).until(
        lambda d: (
            d.find_element(By.ID, "sheet").get_attribute("data-loaded") == f"{area}/{period}"
            or d.find_element(By.ID, "problem").is_displayed()
        )
    )


def fill(field: WebElement, text: str) -> None:
    field.clear()
    field.send_keys(text)


def problem_shown(browser: Browser) -> str:
    box = browser.driver.find_element(By.ID, "problem")
    return box.text if box.is_displayed() else ""


def figure(text: str) -> Figure:
    """A cell's text as the number (or "<5", or None for "—") it shows."""
    text = text.strip().removesuffix("%").replace(",", "")
    if text in ("—", ""):
        return None
    if text == "<5":
        return text
    number = float(text)
    return int(number) if number.is_integer() and "." not in text else number


def shown(value: Any) -> Any:
    """A JSON figure as the page shows it: a fraction to two decimals (however the browser
    rounds a half)."""
    if isinstance(value, float) and not value.is_integer():
        return pytest.approx(value, abs=0.0051)
    return value


def indicators_on_page(browser: Browser) -> dict[str, dict[str, Figure]]:
    rows = browser.driver.find_elements(By.CSS_SELECTOR, "#indicators tbody tr")
    table = {}
    for row in rows:
        cells = {
            field: row.find_element(By.CSS_SELECTOR, f"td.{field}")
            for field in ("value", "target", "as-reported", "difference")
        }
        bar = row.find_element(By.CSS_SELECTOR, "td.progress svg")
        progress = bar.get_attribute("aria-label") or ""
        table[row.get_attribute("data-code") or ""] = {
            "value": figure(cells["value"].text),
            "target": figure(cells["target"].text),
            "progress": None if progress == "no target" else figure(progress),
            # hidden cells (no report) have no text to a user: read what they hold
            "as_reported": figure(cells["as-reported"].get_attribute("textContent") or ""),
            "difference": figure(cells["difference"].get_attribute("textContent") or ""),
        }
    return table


def indicators_in_json(sheet: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        i["code"]: {
            field: shown(i[field])
            for field in ("value", "target", "progress", "as_reported", "difference")
        }
        for i in sheet["indicators"]
    }


def children_on_page(browser: Browser) -> list[tuple[str, dict[str, Figure], bool]]:
    """Each child area's row in the order shown: code, figures by indicator, lagging mark."""
    rows = browser.driver.find_elements(By.CSS_SELECTOR, "#children tbody tr")
    return [
        (
            row.get_attribute("data-code") or "",
            {
                cell.get_attribute("data-indicator") or "": figure(cell.text)
                for cell in row.find_elements(By.CSS_SELECTOR, "td[data-indicator]")
            },
            bool(row.find_elements(By.CSS_SELECTOR, ".tag")),
        )
        for row in rows
    ]


def children_in_json(sheet: dict[str, Any]) -> list[tuple[str, dict[str, Any], bool]]:
    codes = [i["code"] for i in sheet["indicators"]]
    return [
        (
            child["code"],
            {code: shown(child["values"].get(code)) for code in codes},
            child["code"] in sheet["lagging"],
        )
        for child in sheet["children"]
    ]


def sort_by(browser: Browser, key: str) -> str:
    """Clicks a header of the child areas; answers the order it now claims."""
    header = browser.driver.find_element(By.CSS_SELECTOR, f'#children th[data-key="{key}"]')
    header.click()
    return header.get_attribute("aria-sort") or ""


def sort_key(value: Figure) -> float:
    """How the page ranks a figure: "<5" (one to four) above 0 and below 5."""
    if isinstance(value, int | float):
        return value
    assert value == "<5", value
    return 2.5


def download(browser: Browser, button: str, suffix: str) -> Path:
    """Clicks an export button; answers the file Chromium saved."""
    before = set(browser.downloads.iterdir())
    browser.driver.find_element(By.ID, button).click()

    def saved(_: Any) -> Path | None:
        new = [p for p in set(browser.downloads.iterdir()) - before if p.suffix == suffix]
        return new[0] if new else None

    # Chromium writes to a .crdownload and renames it when the file is whole
    path: Path = WebDriverWait(browser.driver, WAIT).until(saved)
    return path


def wait_visible(browser: Browser, element_id: str) -> None:
    WebDriverWait(browser.driver, WAIT).until(
        expected_conditions.visibility_of_element_located((By.ID, element_id))
    )
