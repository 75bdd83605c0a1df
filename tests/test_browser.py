"""The story browser in a real headless Chromium (Debian's chromium and chromium-driver, driven by selenium)
against a running `headlines up` (real Redis, real API, real workers) with the sample ingested and
read_token set: log in, list the stories, open one, and see new placements appear without a reload.

Skipped, saying why, only where Chromium or its driver is not installed (.ci/run installs them as root).
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.helpers import SAMPLE, Service, chrome_driver, cli, headlines_up, wait_until

TOKEN = "browser-Token-5"
# Seconds a browser check may wait: a placement goes through the batcher, the queue and a worker.
PATIENCE = 60


@pytest.fixture(scope="module")
def browser():
    driver = chrome_driver()
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    folder = tmp_path_factory.mktemp("browser")
    with headlines_up(folder, {"HEADLINES_API_TOKEN": TOKEN, "HEADLINES_READ_TOKEN": TOKEN}) as service:
        cli(service.env, "ingest", str(SAMPLE), "--wait")
        yield service


def _submit(service: Service, body: dict) -> None:
    answer = httpx.post(f"{service.base}/headlines", json=body, headers={"Authorization": f"Bearer {TOKEN}"})
    assert answer.status_code == 202, answer.text


def _newest(service: Service) -> str:
    """When the newest story was last seen: a headline of that time is neither late nor out of its window."""
    answer = httpx.get(f"{service.base}/clusters", params={"limit": 1}, headers={"Authorization": f"Bearer {TOKEN}"})
    return str(answer.json()["clusters"][0]["last_seen"])


def _logged_in(browser, service: Service, path: str = "/") -> None:
    from selenium.webdriver.common.by import By

    browser.get(service.base + path)
    if browser.find_elements(By.ID, "token"):  # the login form, answered with a 401
        browser.find_element(By.ID, "token").send_keys(TOKEN)
        browser.find_element(By.CSS_SELECTOR, "form.login button").click()
    wait_until(lambda: not browser.find_elements(By.ID, "token"), PATIENCE, "the login to pass")


def _live(browser) -> None:
    """Wait until the page follows /events (what it shows once its EventSource opened)."""
    from selenium.webdriver.common.by import By

    wait_until(lambda: browser.find_element(By.ID, "live-status").text == "(live)", PATIENCE,
               lambda: f"the page to follow /events (it says {browser.find_element(By.ID, 'live-status').text})")


def test_it_lists_the_stories_and_opens_one(browser, service):
    from selenium.webdriver.common.by import By

    _logged_in(browser, service)
    assert browser.find_element(By.TAG_NAME, "h1").text == "Stories"
    headings = [h.text for h in browser.find_elements(By.TAG_NAME, "h2")]
    assert "Newest" in headings and "Largest" in headings
    largest = browser.find_elements(By.CSS_SELECTOR, "#largest li.story")
    assert len(largest) == 20  # the sample has more than 20 stories
    sizes = [int(row.find_element(By.CLASS_NAME, "count").text) for row in largest]
    assert sizes == sorted(sizes, reverse=True) and sizes[0] > 1
    first = largest[0].find_element(By.CSS_SELECTOR, "a.title")
    title = first.text
    first.click()
    wait_until(lambda: "/stories/" in browser.current_url, PATIENCE, "the story page")
    assert browser.find_element(By.CSS_SELECTOR, "h1 .title").text == title
    shown = browser.find_elements(By.CSS_SELECTOR, "#headlines li.headline")
    assert len(shown) == sizes[0]  # folded or not, every headline of the story is on its page
    for details in browser.find_elements(By.CSS_SELECTOR, "#headlines details"):
        hidden = details.find_elements(By.CSS_SELECTOR, "li.duplicate")
        assert hidden and not hidden[0].is_displayed()  # folded away until opened
        details.find_element(By.TAG_NAME, "summary").click()
        assert hidden[0].is_displayed()


def test_a_new_placement_appears_on_the_front_page_without_a_reload(browser, service):
    from selenium.webdriver.common.by import By

    _logged_in(browser, service)
    _live(browser)
    marker = browser.execute_script("return window.performance.timeOrigin")  # changes only on a reload
    title = "Volcano Under Glacier in Iceland Erupts, Grounding Flights Across Northern Europe"
    _submit(service, {"id": "live-1", "title": title, "source": "Browser Test", "published_at": _newest(service)})
    item = wait_until(lambda: browser.find_elements(By.CSS_SELECTOR, '#live li[data-id="live-1"]'), PATIENCE,
                      "the new headline in the live list")
    assert title in item[0].text
    assert browser.execute_script("return window.performance.timeOrigin") == marker


def test_a_new_copy_appears_on_its_story_page_without_a_reload(browser, service):
    from selenium.webdriver.common.by import By

    _logged_in(browser, service)
    row = browser.find_elements(By.CSS_SELECTOR, "#recent li.story")[0]  # the newest: still open
    size = int(row.find_element(By.CLASS_NAME, "count").text)
    row.find_element(By.CSS_SELECTOR, "a.title").click()
    wait_until(lambda: "/stories/" in browser.current_url, PATIENCE, "the story page")
    _live(browser)
    story = browser.current_url.rsplit("/", 1)[1]
    last = browser.find_elements(By.CSS_SELECTOR, "#headlines li.headline .title")[-1].get_attribute("textContent")
    _submit(service, {"id": "live-copy", "title": last,
                      "source": "Browser Test", "published_at": _newest(service)})
    wait_until(lambda: browser.find_elements(By.CSS_SELECTOR, '#headlines li[data-id="live-copy"]'), PATIENCE,
               "the copy among the story's headlines")
    assert browser.find_element(By.CSS_SELECTOR, f'#live li[data-id="live-copy"] a[href="/stories/{story}"]')
    assert int(browser.find_element(By.CSS_SELECTOR, "p.meta .count").text) == size + 1


def test_which_story_is_this_finds_a_story(browser, service):
    from selenium.webdriver.common.by import By

    _logged_in(browser, service)
    row = browser.find_elements(By.CSS_SELECTOR, "#largest li.story")[0]
    title = row.find_element(By.CSS_SELECTOR, "a.title").text
    href = row.find_element(By.CSS_SELECTOR, "a.title").get_attribute("href")
    when = row.find_element(By.TAG_NAME, "time").get_attribute("datetime")
    browser.find_element(By.ID, "find-title").send_keys(title)
    browser.find_element(By.ID, "find-when").send_keys(when)
    browser.find_element(By.CSS_SELECTOR, "form.find button").click()
    answer = wait_until(lambda: browser.find_elements(By.ID, "answer"), PATIENCE, "the answer")
    assert answer[0].find_element(By.TAG_NAME, "a").get_attribute("href") == href
