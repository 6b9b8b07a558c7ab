"""The mock from a real browser: headless Chromium (Debian's chromium and
chromium-driver) calls the API from another origin, and uses /docs."""

import json
import subprocess
import sys

import pytest

from .processes import call, start, stop, wait_until_up
from .redis_server import free_port, require

ADA = "3f2b8e4a-9c1d-4e5f-8a7b-6c5d4e3f2a1b"  # the page test's customer
GRACE = "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d"  # the docs test's customer (and Ada, the examples')
CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"

PAGE = """<!doctype html>
<html><body><pre id="result">running</pre>
<script>
const api = new URLSearchParams(location.search).get("api");
const url = api + "/customers/customers/%(ada)s/labels";
const headers = {"Authorization": "Bearer dev-editor", "Content-Type": "application/json"};
async function call(method, body) {
  const response = await fetch(url, {method, headers, body: body && JSON.stringify(body)});
  const answer = await response.json();
  return {status: response.status, labels: answer.data.map(label => label.id),
          requestId: response.headers.get("X-Request-ID")};
}
(async () => {
  const result = {
    get: await call("GET"),
    post: await call("POST", {labels: ["beta"]}),
    delete: await call("DELETE", {labels: ["vip"]}),
  };
  document.getElementById("result").textContent = JSON.stringify(result);
})().catch(error => { document.getElementById("result").textContent = "error: " + error; });
</script></body></html>
""".replace("%(ada)s", ADA)


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    require(CHROMIUM, CHROMEDRIVER, package="chromium chromium-driver")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1400,1000",
        f"--user-data-dir={tmp_path_factory.mktemp('chromium')}",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def mock_url():
    """`python app.py` with the example fixture: the frontend developer's mock."""
    port = free_port()
    process = start(f"{sys.executable} app.py", PORT=str(port), SEED_FILE="fixtures/example.json")
    wait_until_up(process, port)
    yield f"http://127.0.0.1:{port}"
    stop(process)


@pytest.fixture
def page_url(tmp_path):
    """The test page, served from another origin (localhost, another port)."""
    (tmp_path / "page.html").write_text(PAGE)
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_until_up(server, port)
    yield f"http://localhost:{port}/page.html"
    server.terminate()
    server.wait()


def wait_for(browser, condition, timeout=20):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(browser, timeout).until(condition)


def test_page_on_another_origin_gets_attaches_and_detaches(browser, mock_url, page_url):
    from selenium.webdriver.common.by import By

    browser.get(f"{page_url}?api={mock_url}")
    text = wait_for(browser, lambda b: (t := b.find_element(By.ID, "result").text) != "running" and t)
    result = json.loads(text) if not text.startswith("error") else pytest.fail(text)
    assert result["get"]["status"] == 200 and result["get"]["labels"] == ["newsletter", "vip"]
    assert result["post"]["status"] == 200 and result["post"]["labels"] == ["beta", "newsletter", "vip"]
    assert result["delete"]["status"] == 200 and result["delete"]["labels"] == ["beta", "newsletter"]
    assert len(result["get"]["requestId"]) == 32  # an exposed header a page can read


def try_it_out(browser, operation, customer=None, body=None):
    """Open an operation in /docs, Try it out (with ``customer`` and ``body`` typed over
    the examples, when given), Execute: the answer, which must be a 200."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    block = browser.find_element(By.CSS_SELECTOR, f"[id$='-{operation}']")
    if not block.find_elements(By.CSS_SELECTOR, ".try-out__btn"):
        block.find_element(By.CSS_SELECTOR, ".opblock-summary").click()
    button = wait_for(browser, lambda b: block.find_element(By.CSS_SELECTOR, ".try-out__btn"))
    if "cancel" not in button.get_attribute("class"):
        button.click()
    for field, text in ((block.find_element(By.CSS_SELECTOR, "input[placeholder='customerId']"), customer),) + (
        ((block.find_element(By.CSS_SELECTOR, "textarea.body-param__text"), body),) if body else ()
    ):
        if text:
            field.send_keys(Keys.CONTROL, "a")  # over the example, as a person would
            field.send_keys(Keys.DELETE)
            field.send_keys(text)
    for old in block.find_elements(By.CSS_SELECTOR, ".btn-clear"):
        old.click()  # the previous answer goes, so that the one read below is this one's
    block.find_element(By.CSS_SELECTOR, ".execute").click()
    status = wait_for(
        browser, lambda b: block.find_element(By.CSS_SELECTOR, ".live-responses-table tbody .response-col_status")
    )
    assert status.text.strip().startswith("200"), (operation, status.text)
    return json.loads(block.find_element(By.CSS_SELECTOR, ".live-responses-table .microlight").text)


def test_docs_explorer_authorizes_and_tries_attach_and_detach(browser, mock_url):
    from selenium.webdriver.common.by import By

    # The seeded state, whatever the page test did to it: the examples name its data.
    port = int(mock_url.rsplit(":", 1)[1])
    assert call(port, "POST", "/__admin/reset", token="dev-admin")[0] == 204
    browser.get(f"{mock_url}/docs/")
    blocks = wait_for(browser, lambda b: b.find_elements(By.CSS_SELECTOR, ".opblock"))
    paths = {
        block.find_element(By.CSS_SELECTOR, ".opblock-summary-path").text.replace("\u200b", "") for block in blocks
    }
    assert "/customers/customers/{customerId}/labels" in paths and "/labels/labels" in paths
    assert len(blocks) >= 15

    # Authorize with a token, as a person would.
    browser.find_element(By.CSS_SELECTOR, ".btn.authorize").click()
    field = wait_for(browser, lambda b: b.find_element(By.CSS_SELECTOR, ".modal-ux input"))
    field.send_keys("dev-editor")
    browser.find_element(By.CSS_SELECTOR, ".modal-ux .auth-btn-wrapper .authorize").click()
    browser.find_element(By.CSS_SELECTOR, ".modal-ux .btn-done").click()

    # First, the document's own examples, untouched: they name the seeded fixture's data.
    for operation, expected in (
        ("getCustomerLabels", ["Newsletter", "VIP"]),
        ("createCustomerLabels", ["Beta tester", "Newsletter", "VIP"]),
        ("deleteCustomerLabels", ["Beta tester", "VIP"]),
    ):
        answer = try_it_out(browser, operation)
        assert [label["name"] for label in answer["data"]] == expected, operation
    # Then edited, as a person would: another customer, other labels.
    for operation, body, expected in (
        ("createCustomerLabels", '{"labels": ["vip", "newsletter"]}', ["Beta tester", "Newsletter", "VIP"]),
        ("deleteCustomerLabels", '{"labels": ["beta"]}', ["Newsletter", "VIP"]),
    ):
        answer = try_it_out(browser, operation, GRACE, body)
        assert [label["name"] for label in answer["data"]] == expected
