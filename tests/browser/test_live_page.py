"""The live page in a real browser: Debian's chromium, headless, driven by selenium through
chromium-driver (scripts/ensure-browser.sh installs both; selenium never downloads either).
The proxy runs on the scripted upstream and scorer, with an admin key; the test signs in on the
page, sends a harmful and a benign request through the openai SDK, and reads the page.

On failure, a screenshot of the page is saved and its path printed with the failure. With
``SAFETHINK_UI_SCREENSHOT=docs/ui.png`` the test also saves the page as it ends (the README's).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Literal, TypeVar

import httpx
import openai
import pytest
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.chrome.webdriver import WebDriver
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import WebDriverWait

from tests.conftest import ProxyFactory
from tests.e2e.helpers import QUESTION, scenario
from tests.support.procs import ServerProcess

pytestmark = [pytest.mark.e2e, pytest.mark.browser]
CHROMIUM = os.environ.get("SAFETHINK_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("SAFETHINK_TEST_CHROMEDRIVER", "/usr/bin/chromedriver")
ADMIN_KEY = "live-page-admin-key"
TEAM_KEY = "live-page-team-key"  # a client key of the keys file, named "team-a"
WAIT_S = 20  # every wait on the page; it polls every 2 s
T = TypeVar("T")


@pytest.fixture(scope="module")
def proxy(start_proxy: ProxyFactory, scripted_upstream: ServerProcess,
          scripted_scorer: ServerProcess, tmp_path_factory: pytest.TempPathFactory
          ) -> ServerProcess:
    keys = tmp_path_factory.mktemp("live-page") / "keys.yaml"
    keys.write_text(f"keys:\n  - name: team-a\n    key: {TEAM_KEY}\n")
    return start_proxy(upstream_url=scripted_upstream.url + "/v1", reward=scripted_scorer.url,
                       admin_key=ADMIN_KEY, api_keys_file=keys)


@pytest.fixture
def browser() -> Iterator[WebDriver]:
    for path in (CHROMIUM, CHROMEDRIVER):
        if not os.access(path, os.X_OK):
            pytest.fail(f"{path} is missing: run scripts/ensure-browser.sh (make test does), "
                        "or set SAFETHINK_TEST_CHROMIUM / SAFETHINK_TEST_CHROMEDRIVER")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    with tempfile.TemporaryDirectory(prefix="safethink-chromium-") as profile:
        # --no-sandbox: the tests may run as root, where chromium's sandbox refuses to start.
        for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                         "--disable-gpu", "--no-first-run", "--window-size=1280,1100",
                         f"--user-data-dir={profile}"):
            options.add_argument(argument)
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        # A driver path given: selenium skips its manager, so it downloads nothing.
        driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
        try:
            driver.set_page_load_timeout(WAIT_S)
            driver.set_script_timeout(WAIT_S)
            yield driver
        finally:
            driver.quit()


@contextlib.contextmanager
def screenshot_on_failure(driver: WebDriver) -> Iterator[None]:
    try:
        yield
    except BaseException as exc:
        fd, path = tempfile.mkstemp(prefix="safethink-ui-failure-", suffix=".png")
        os.close(fd)
        try:
            driver.save_screenshot(path)
            console = [entry["message"] for entry in driver.get_log("browser")][-10:]
        except WebDriverException as lost:  # the browser itself failed: say so, keep the cause
            exc.add_note(f"no screenshot of the page: {lost.msg}")
        else:
            exc.add_note(f"screenshot of the page: {path}")
            exc.add_note("browser console:\n  " + ("\n  ".join(console) or "(empty)"))
        raise


def until(driver: WebDriver, condition: Callable[[WebDriver], Literal[False] | T],
          what: str) -> T:
    """``condition`` once it holds, within WAIT_S; the page redraws itself every poll, so an
    element found may go stale before it is read, and is then looked for again."""
    wait = WebDriverWait(driver, WAIT_S, poll_frequency=0.2,
                         ignored_exceptions=[StaleElementReferenceException])
    return wait.until(condition, message=f"within {WAIT_S} s: {what}")


def sign_in(driver: WebDriver, key: str) -> None:
    field = until(driver, lambda d: _visible(d, "key"), "the page asks for the key")
    field.clear()
    field.send_keys(key)
    driver.find_element(By.CSS_SELECTOR, "#login button[type=submit]").click()


def _visible(driver: WebDriver, element_id: str) -> WebElement | Literal[False]:
    found = driver.find_element(By.ID, element_id)
    return found if found.is_displayed() else False


def ask(proxy: ServerProcess, model: str) -> str:
    """One chat request through the openai SDK; its request id."""
    with openai.OpenAI(base_url=proxy.url + "/v1", api_key=TEAM_KEY, max_retries=0) as client:
        response = client.chat.completions.with_raw_response.create(model=model,
                                                                    messages=QUESTION)
        response.parse()
    return response.headers["x-safethink-request-id"]


def finished_row(request_id: str) -> Callable[[WebDriver], list[str] | Literal[False]]:
    """The cells of the request's row in the list, once it shows the request finished."""
    def read(driver: WebDriver) -> list[str] | Literal[False]:
        rows = driver.find_elements(By.CSS_SELECTOR, f'#requests tr[data-id="{request_id}"]')
        if not rows or rows[0].get_attribute("data-outcome") != "completed":
            return False
        return [cell.text for cell in rows[0].find_elements(By.TAG_NAME, "td")]
    return read


def open_request(request_id: str) -> Callable[[WebDriver], Literal[True]]:
    def click(driver: WebDriver) -> Literal[True]:
        driver.find_element(By.CSS_SELECTOR, f'#requests button[data-id="{request_id}"]').click()
        return True
    return click


def step_rows(request_id: str,
              count: int) -> Callable[[WebDriver], list[list[str]] | Literal[False]]:
    """The cells of each row of the step timeline, once it is the request's, all ``count``."""
    def read(driver: WebDriver) -> list[list[str]] | Literal[False]:
        if driver.find_element(By.ID, "detail-id").text != request_id:
            return False
        rows = driver.find_elements(By.CSS_SELECTOR, "#steps tbody tr")
        if len(rows) != count:
            return False
        return [[cell.text for cell in row.find_elements(By.TAG_NAME, "td")] for row in rows]
    return read


def legend_totals(driver: WebDriver) -> dict[str, str]:
    """Each line of the chart and its total over the hour, as the legend shows them."""
    return {item.get_attribute("data-name") or "": item.find_element(By.TAG_NAME, "b").text
            for item in driver.find_elements(By.CSS_SELECTOR, "#legend li")}


def test_the_live_page_shows_the_steered_request_with_its_steps_and_scores(
        proxy: ServerProcess, browser: WebDriver) -> None:
    with screenshot_on_failure(browser):
        browser.get(proxy.url + "/ui")
        sign_in(browser, "not-the-admin-key")
        refused = until(browser, lambda d: _visible(d, "login-error"), "a wrong key is refused")
        assert "refused that key" in refused.text and "admin key" in refused.text
        sign_in(browser, ADMIN_KEY)
        until(browser, lambda d: _visible(d, "live"), "the page opens with the right key")

        harmful = ask(proxy, scenario(unsafe_step=2))
        benign = ask(proxy, scenario())
        # time, request id, model, key, policy, outcome, steers
        steered = until(browser, finished_row(harmful), "the steered request is listed")
        assert steered[1] == harmful and steered[2].startswith("scripted/")
        assert steered[3:] == ["team-a", "safethink", "completed", "1"]
        assert until(browser, finished_row(benign), "the benign request is listed")[3:] == [
            "team-a", "safethink", "completed", "0"]

        browser.refresh()  # the key is asked for once: the tab keeps it
        until(browser, lambda d: _visible(d, "live"), "the page opens again without asking")
        assert not browser.find_element(By.ID, "login").is_displayed()
        until(browser, open_request(harmful), "the steered request opens")
        record = httpx.get(f"{proxy.url}/v1/safethink/requests/{harmful}",
                           headers={"authorization": f"Bearer {ADMIN_KEY}"}).json()
        rows = until(browser, step_rows(harmful, len(record["steps"])), "its steps are shown")
        # step, sentence, attempt, score, against tau, decision, latency, text: as recorded
        assert [(r[0], r[2], r[3], r[5]) for r in rows] == [
            (str(s["index"]), str(s["attempt"]), f"{s['score']:.3f}", s["decision"])
            for s in record["steps"]]
        (steer,) = [r for r in rows if r[5] == "steer"]
        assert steer[0] == "2" and steer[3] == "-1.000"
        assert steer[4].startswith(f"below τ {record['tau']:.2f}")
        assert all(r[4].startswith("at or above τ") for r in rows if r[5] == "accept")
        assert all(r[6].endswith(" ms") for r in rows)

        legend = until(browser, legend_totals, "the chart's legend")
        assert int(legend["requests"]) >= 2 and int(legend["steered_requests"]) >= 1
        assert browser.find_elements(By.CSS_SELECTOR, "#chart svg polyline")
        if target := os.environ.get("SAFETHINK_UI_SCREENSHOT"):
            Path(target).parent.mkdir(parents=True, exist_ok=True)
            browser.save_screenshot(target)
