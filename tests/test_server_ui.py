"""The inspector page at ``/ui`` in a real headless browser: Debian's ``chromium`` driven by
Selenium through the system ``chromedriver`` (no browser download). Screenshots go to the
test's temp folder (and to ``$MEM_UI_SHOTS`` when set, which is how the docs image is made)."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from serving import require, require_binary, thread_server

require("fastapi")
require("selenium")
from selenium import webdriver  # noqa: E402
from selenium.webdriver.chrome.options import Options  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.remote.webdriver import WebDriver  # noqa: E402
from selenium.webdriver.support import expected_conditions as ec  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

from mem_integrations import Memory, MemoryConfig, MemoryNotFoundError  # noqa: E402
from mem_integrations.server import ServerSettings, build_app, parse_keys  # noqa: E402
from mem_integrations.testing import FrozenClock, HashEmbedder  # noqa: E402

KEY = "key-inspector-01"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run",
         "--window-size=1400,900"]  # fmt: skip


@pytest.fixture
def browser() -> Iterator[WebDriver]:
    options = Options()
    options.binary_location = require_binary("chromium")
    for flag in FLAGS:
        options.add_argument(flag)
    service = Service(executable_path=require_binary("chromedriver"))
    driver = webdriver.Chrome(service=service, options=options)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture
def seeded(tmp_path: Path) -> Iterator[Memory]:
    clock = FrozenClock()
    m = Memory(MemoryConfig(uri=str(tmp_path / "store"), embedder=HashEmbedder(), clock=clock,
                            decay=True))  # fmt: skip
    for i in range(23):
        m.add(f"Alice note {i} about gardening", user_id="alice")
    m.add("Alice drinks green tea", user_id="alice", metadata={"kind": "drink"})
    clock.advance(days=3)
    tea = m.get_all(user_id="alice", filters={"metadata": {"kind": "drink"}})["results"][0]
    m.update(tea["id"], "Alice drinks green tea every morning", expiration_date="2031-05-01")
    m.add("Bob likes chess", user_id="bob")
    yield m
    m.close()


def shoot(driver: WebDriver, tmp_path: Path, name: str) -> None:
    path = tmp_path / f"{name}.png"
    assert driver.save_screenshot(str(path)) and path.stat().st_size > 5_000
    target = os.environ.get("MEM_UI_SHOTS")
    if target:
        shutil.copy(path, Path(target) / path.name)


def test_inspector_in_headless_chromium(
    browser: WebDriver, seeded: Memory, tmp_path: Path
) -> None:
    settings = ServerSettings(keys=parse_keys({KEY: {"admin": True}}))
    with thread_server(build_app(settings, memory=seeded)) as url:
        wait = WebDriverWait(browser, 30)
        find = browser.find_element
        browser.get(url + "/ui")
        wait.until(ec.text_to_be_present_in_element((By.ID, "status"), "Missing API key"))

        find(By.ID, "key").send_keys(KEY)
        find(By.ID, "connect").click()
        alice = wait.until(ec.element_to_be_clickable(
            (By.CSS_SELECTOR, '#entities li[data-type="user"][data-name="alice"]')))  # fmt: skip
        assert "24" in alice.text and "bob" in find(By.ID, "entities").text
        alice.click()
        wait.until(ec.text_to_be_present_in_element((By.ID, "page-info"), "page 1 of 2"))
        assert len(browser.find_elements(By.CSS_SELECTOR, "#results tr")) == 20
        find(By.ID, "next").click()
        wait.until(ec.text_to_be_present_in_element((By.ID, "page-info"), "page 2 of 2"))
        assert len(browser.find_elements(By.CSS_SELECTOR, "#results tr")) == 4
        shoot(browser, tmp_path, "inspector-list")

        browser.execute_script("document.getElementById('filters').value = arguments[0]",
                               json.dumps({"metadata": {"kind": "drink"}}))  # fmt: skip
        find(By.ID, "search").click()
        wait.until(ec.text_to_be_present_in_element((By.ID, "page-info"), "(1 memories)"))
        browser.execute_script("document.getElementById('filters').value = ''")

        find(By.ID, "query").send_keys("green tea")
        find(By.ID, "search").click()
        wait.until(ec.text_to_be_present_in_element((By.ID, "page-info"), "results"))
        top = find(By.CSS_SELECTOR, "#results tr")
        assert "green tea" in top.text
        body = {"query": "green tea", "filters": {"user_id": "alice"}, "top_k": 20}
        auth = {"Authorization": f"Token {KEY}"}
        api: Any = httpx.post(url + "/v3/memories/search/", headers=auth, json=body).json()
        api = api["results"][0]
        shown = top.find_element(By.CSS_SELECTOR, ".decay").text
        assert shown == f"×{api['score_breakdown']['decay']:.3f}"
        assert top.find_element(By.CSS_SELECTOR, ".relevance").text == (
            f"{api['score_breakdown']['relevance']:.3f}")  # fmt: skip

        top.click()
        wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, "#history tr")))
        assert find(By.ID, "detail-expires").text.startswith("2031-05-0")
        events = [r.text.split()[2] for r in browser.find_elements(By.CSS_SELECTOR, "#history tr")]
        assert events == ["ADD", "UPDATE"]
        shoot(browser, tmp_path, "inspector")

        find(By.ID, "delete").click()
        wait.until(ec.alert_is_present()).dismiss()  # "Cancel" keeps it
        wait.until(ec.text_to_be_present_in_element((By.ID, "status"), "kept"))
        assert seeded.get(api["id"])["memory"] == "Alice drinks green tea every morning"
        find(By.ID, "delete").click()
        wait.until(ec.alert_is_present()).accept()
        wait.until(ec.presence_of_element_located((By.ID, "deleted-note")))
        with pytest.raises(MemoryNotFoundError):
            seeded.get(api["id"])
        assert [e["event"] for e in seeded.history(api["id"])] == ["ADD", "UPDATE", "DELETE"]
