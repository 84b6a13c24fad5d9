"""The console in a real headless Chromium (Debian's `chromium` + `chromium-driver`, driven by Selenium)
over `make run`'s processes with the demo model. Screenshots go to tests/.artifacts/console/.

Locally without Chromium these tests skip, saying how to enable them; under CI=true they must run
(.ci/run installs the packages).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import httpx
import pytest

from shared.local.demo_cluster import CRASHING, NAMESPACE
from shared.local.serve import spawn_moto, wait_http
from tests.integration.test_faults import wait_until
from tests.support.local_platform import AUTH, TOKEN, Platform

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "tests" / ".artifacts" / "console"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")
ENABLE = "install Debian's chromium and chromium-driver (apt-get install chromium chromium-driver) to run them"
pytestmark = pytest.mark.integration

# The demo model, scripted by the first user message: the chat creates a task; the task is slow
# enough to be watched (and its stream dropped and resumed) while it runs.
SCRIPT = {
    "console-demo": [{"tool_calls": [{"name": "create_ai_task",
                                      "arguments": {"name": "demo", "prompt": "slow task for the console"}}]},
                     {"text": "Created the task for you."}],
    "slow task": [{"delay": 4, "text": "finished slowly"}],
    "console-fail": [{"error": "model unavailable (scripted)"}],
}


def _require_browser() -> None:
    """Skip (or, under CI=true, fail) before anything starts when there is no browser to drive."""
    try:
        import selenium  # noqa: F401
    except ImportError:
        missing = "the selenium package (pip install -e '.[test]')"
    else:
        missing = None if CHROMIUM and DRIVER else "Chromium"
    if missing:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true needs the browser tests, but {missing} is missing: {ENABLE}")
        pytest.skip(f"no headless browser ({missing} missing): {ENABLE}")


def _driver():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                "--window-size=1366,900"):
        options.add_argument(arg)
    # An explicit driver path: Selenium Manager never downloads anything.
    return webdriver.Chrome(options=options, service=Service(executable_path=DRIVER))


@pytest.fixture(scope="module")
def platform(tmp_path_factory):
    _require_browser()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    script = tmp_path_factory.mktemp("console") / "script.json"
    script.write_text(json.dumps(SCRIPT))
    proc, url = spawn_moto(stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_http(url + "/moto-api/", process=proc)
    # No kubeconfig: the platform serves its demo cluster, which the incident investigation reads.
    running = Platform(url, extra_env={"SHOAL_MOCK_SCRIPT": str(script),
                                       "KUBECONFIG": str(script.parent / "no-kubeconfig")},
                       stderr=ARTIFACTS.parent / "console-platform.log")
    running.state_url = url
    try:
        yield running
    finally:
        running.stop()
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture(scope="module")
def browser(platform):
    driver = _driver()
    driver.set_page_load_timeout(30)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    yield driver
    driver.quit()


def shot(driver, name: str) -> None:
    driver.save_screenshot(str(ARTIFACTS / f"{name}.png"))


def wait_for(predicate, timeout: float = 30.0, what: str = "condition"):
    """`predicate` until true; an element not rendered yet (IndexError of `_css(...)[0]`) or replaced
    between finding and reading it (the live pages re-render) is "not yet", not a failure."""
    from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException

    def attempt():
        try:
            return predicate()
        except (IndexError, NoSuchElementException, StaleElementReferenceException):
            return None

    return wait_until(attempt, timeout, what)


def _css(driver, selector: str):
    from selenium.webdriver.common.by import By

    return driver.find_elements(By.CSS_SELECTOR, selector)


def sign_in(driver, url: str) -> None:
    driver.get(url + "/")
    assert driver.current_url.endswith("/console/sign-in")
    shot(driver, "sign-in")
    _css(driver, "#token")[0].send_keys(TOKEN)
    _css(driver, "form[action='/console/sign-in'] button")[0].click()
    wait_for(lambda: driver.current_url.endswith("/console/tasks"), what="the tasks page")
    # The token is in an HttpOnly cookie: page scripts cannot read it.
    assert TOKEN not in driver.execute_script("return document.cookie")


@pytest.fixture
def state(platform, monkeypatch):
    """This process's store pointed at the platform's moto, to seed what only a repository scan of a real
    Git host produces (a security finding)."""
    from shared.config import reset_settings
    from shared.store.clients import reset_clients

    monkeypatch.setenv("AWS_ENDPOINT_URL", platform.state_url)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "local")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "local")
    reset_settings()
    reset_clients()
    yield
    reset_clients()


def test_console_end_to_end(platform, browser, state):
    url = platform.url
    sign_in(browser, url)
    shot(browser, "tasks-empty")

    # Chat: the streamed reply and the task the chat created.
    browser.get(url + "/console/chat")
    _css(browser, "#chat-message")[0].send_keys("console-demo: please make a task")
    _css(browser, "#chat-form button[type=submit]")[0].click()
    wait_for(lambda: "Created the task for you." in _css(browser, "#chat-log")[0].text, what="the streamed reply")
    link = wait_for(lambda: _css(browser, "#chat-log a.task-link"), what="the created task's link")
    assert "/console/tasks/" in link[0].get_attribute("href")
    assert "session=" in browser.current_url
    shot(browser, "chat")

    # The task page follows the task live to Succeeded; a dropped stream resumes without gaps.
    link[0].click()
    wait_for(lambda: "/console/tasks/" in browser.current_url, what="the task page")
    wait_for(lambda: "task.started" in _css(browser, "#task-stream")[0].text
             or "Succeeded" in _css(browser, "#task-phase")[0].text, what="the live stream")
    browser.execute_script("window.shoalConsole.drop()")
    wait_for(lambda: "Succeeded" in _css(browser, "#task-phase")[0].text, timeout=60, what="phase Succeeded")
    ids = [int(li.get_attribute("data-id")) for li in _css(browser, "#task-stream li") if li.get_attribute("data-id")]
    assert ids == sorted(set(ids)), ids  # resumed after Last-Event-ID: nothing repeated, in order
    assert "task.finished" in _css(browser, "#task-stream")[0].text
    wait_for(lambda: "finished slowly" in _css(browser, "#task-result")[0].text, what="the result")
    shot(browser, "task")

    # Reviews: approve a proposal.
    with httpx.Client(base_url=url, headers=AUTH, timeout=10) as api:
        proposal = api.post("/api/v1/memory-proposals", json={"title": "Prefer retries", "type": "memory",
                                                               "content": "retry 3 times"}).json()
        browser.get(url + "/console/reviews")
        shot(browser, "reviews")
        _css(browser, f"#proposal-{proposal['id']} form[action$='/accepted'] button")[0].click()
        wait_for(lambda: api.get(f"/api/v1/memory-proposals/{proposal['id']}").json()["status"] == "accepted",
                 what="the approval")

    # Incidents: a Kubernaut investigation of the demo cluster's crash-looping Deployment, run by the
    # demo model (no script matches its prompt), opened by its session id; the page follows it live.
    with httpx.Client(base_url=url, headers=AUTH, timeout=10) as api:
        submitted = api.post("/api/v1/incident/analyze", json={
            "incident_id": "inc-9", "remediation_id": "rem-9", "signal_name": "KubePodCrashLooping",
            "severity": "critical", "signal_source": "prometheus", "resource_namespace": NAMESPACE,
            "resource_kind": "Deployment", "resource_name": CRASHING, "resource_api_version": "apps/v1",
            "error_message": "Back-off restarting failed container", "environment": "development",
            "priority": "P2", "risk_tolerance": "medium", "business_category": "standard", "cluster_name": "demo"})
        assert submitted.status_code == 202, submitted.text
    browser.get(url + "/console/incidents")
    _css(browser, "input[name=session]")[0].send_keys(submitted.json()["session_id"])
    _css(browser, "form[action='/console/incidents'] button")[0].click()
    wait_for(lambda: any("DATABASE_URL is not set" in e.text for e in _css(browser, "#incident-result")),
             timeout=60, what="the root cause")
    # The live stream says which tool ran with what; the status follows the investigation to its end.
    wait_for(lambda: any(e.text == "completed" for e in _css(browser, "#incident-status")), what="the status")
    assert "get_resource" in _css(browser, "ol.stream")[0].text, _css(browser, "ol.stream")[0].text
    shot(browser, "incident")

    # Security: dismiss a finding with a reason.
    from shared.security.result_models import ModelFinding
    from shared.security.results import upsert_finding
    from shared.security.store import require_repository

    with httpx.Client(base_url=url, headers=AUTH, timeout=10) as api:
        assert api.post("/api/v1/security/repositories", json={"name": "app", "spec": {
            "repoURL": "https://github.com/example/app", "analysisAgentRef": {"name": "r"}}}).status_code == 201
        fid, _ = upsert_finding(require_repository("default", "app"), "run-1", "slice-1", ModelFinding(
            title="SQL injection", severity="high", category="injection", file="app.py", line=3,
            description="query built from input"))
        browser.get(url + "/console/security")
        _css(browser, "a[href^='/console/security/app']")[0].click()
        _css(browser, f"#finding-{fid} input[name=reason]")[0].send_keys("test fixture only")
        _css(browser, f"#finding-{fid} button")[0].click()
        wait_for(lambda: api.get(f"/api/v1/security/findings/{fid}").json()["state"] == "dismissed",
                 what="the dismissal")
        assert api.get(f"/api/v1/security/findings/{fid}").json()["dismissReason"] == "test fixture only"
        wait_for(lambda: "dismissed" in _css(browser, f"#finding-{fid} .state")[0].text, what="the page update")
        shot(browser, "findings")

    # Every other page renders its first screen (or its empty state) for the signed-in user.
    for name, path in (("incidents", "/console/incidents"), ("security", "/console/security"),
                       ("catalog", "/console/catalog/agents"), ("jobs", "/console/jobs"),
                       ("memories", "/console/memories"), ("api-keys", "/console/api-keys")):
        browser.get(url + path)
        assert "Something went wrong" not in browser.page_source, path
        shot(browser, name)


# Every page the console has, for the accessibility audit (the sign-in form is audited signed out).
AUDITED = ("/console/tasks", "/console/chat", "/console/incidents", "/console/security", "/console/reviews",
           "/console/memories", "/console/catalog/agents", "/console/jobs", "/console/labrats-agents",
           "/console/api-keys")


def _audit(driver) -> list[str]:
    """axe-core's WCAG 2 A/AA rules on the current page: the serious and critical violations, readable."""
    from axe_selenium_python import Axe

    axe = Axe(driver)
    axe.inject()  # through the driver (DevTools), not a page <script>: the page's CSP stays strict
    results = axe.run(options='{"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa"]}}')
    return [f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
            for v in results["violations"] if v["impact"] in ("serious", "critical")]


def test_every_page_passes_an_accessibility_audit(platform, browser):
    browser.delete_all_cookies()
    browser.get(platform.url + "/console/sign-in")
    problems = {"/console/sign-in": _audit(browser)}
    # The audit can fail: an image without a text alternative is a critical violation.
    browser.execute_script("document.body.append(Object.assign(document.createElement('img'), {src: '/x.png'}))")
    assert any(found.startswith("image-alt (critical)") for found in _audit(browser))
    sign_in(browser, platform.url)
    for path in AUDITED:
        browser.get(platform.url + path)
        problems[path] = _audit(browser)
    assert {path: found for path, found in problems.items() if found} == {}


def test_a_failed_chat_turn_shows_why(platform, browser, state):
    """The chat's error event is `{"sessionId", "error": {"code", "message"}}`: the page showed "error"
    alone (it read a top-level `message`)."""
    browser.delete_all_cookies()
    sign_in(browser, platform.url)
    browser.get(platform.url + "/console/chat")
    _css(browser, "#chat-message")[0].send_keys("console-fail: this turn fails")
    _css(browser, "#chat-form button[type=submit]")[0].click()
    shown = wait_for(lambda: [li.text for li in _css(browser, "#chat-log .error")], what="the turn's error")
    assert shown == ["model unavailable (scripted)"]
