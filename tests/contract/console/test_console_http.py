"""The console over plain HTTP: sign-in, redirects, CSRF, CSP, and each page against the real API.

The console function is built as its container builds it; the public API it calls is every other
function behind the same route table (tests/support/gateway.py), on a real port, over moto.
"""

from __future__ import annotations

import re
import sys
from urllib.parse import quote

import httpx
import pytest

from shared.console import session
from shared.console.render import CSP
from shared.net.pool import close_all
from tests.conftest import AUTH, DEV_TOKEN, ROOT
from tests.support.gateway import gateway_app
from tests.support.servers import BackgroundServer

CSRF = session.csrf_token(DEV_TOKEN)
ORIGIN = {"Sec-Fetch-Site": "same-origin"}


@pytest.fixture
def api(aws, event_sink, monkeypatch):
    from shared.config import reset_settings

    with BackgroundServer(gateway_app(exclude=("console",))) as server:
        monkeypatch.setenv("SHOAL_API_URL", server.url)
        reset_settings()
        with httpx.Client(base_url=server.url, headers=AUTH, timeout=10) as client:
            yield client
        close_all()  # the console's pooled client points at this server, which goes now


@pytest.fixture
def console(api):
    from functions_framework import create_app

    sys.modules.pop("main", None)
    app = create_app(target="console", source=str(ROOT / "functions" / "console" / "main.py"))
    yield app.test_client()
    sys.modules.pop("main", None)


@pytest.fixture
def signed_in(console):
    console.set_cookie(session.TOKEN_COOKIE, DEV_TOKEN)
    return console


def text(response) -> str:
    return response.get_data(as_text=True)


def test_root_and_home_redirect(console):
    assert console.get("/").status_code == 302 and console.get("/").headers["Location"] == "/console/"
    home = console.get("/console/")
    assert home.status_code == 302 and home.headers["Location"] == "/console/sign-in"


@pytest.mark.parametrize("path", ["/console/tasks", "/console/tasks/t1", "/console/chat", "/console/incidents",
                                  "/console/security", "/console/security/repo", "/console/reviews",
                                  "/console/memories", "/console/catalog/agents", "/console/jobs",
                                  "/console/api-keys"])
def test_pages_without_credentials_redirect_to_sign_in(console, path):
    response = console.get(path)
    assert response.status_code == 303
    assert response.headers["Location"] == "/console/sign-in?next=" + quote(path, safe="")
    assert response.headers["Content-Security-Policy"] == CSP


@pytest.mark.parametrize("path", ["/console/tasks/t1/events", "/console/chat/s1/events", "/console/incidents/s/events"])
def test_streams_without_credentials_are_401(console, path):
    response = console.get(path)
    assert response.status_code == 401 and text(response) == "not signed in\n"


def test_csp_is_strict_and_on_every_page(signed_in):
    response = signed_in.get("/console/tasks")
    assert response.status_code == 200
    assert response.headers["Content-Security-Policy"] == CSP
    assert "script-src 'self';" in CSP and "unsafe-inline" not in CSP and "frame-ancestors 'none'" in CSP
    assert response.headers["X-Frame-Options"] == "DENY"
    html = text(response)
    # no inline script or style, no event-handler attributes: the CSP would refuse them anyway
    assert not re.search(r"<script(?![^>]*\bsrc=)", html) and "<style" not in html
    assert not re.search(r"\son[a-z]+=", html)


def test_sign_in_with_the_dev_token(console):
    form = console.get("/console/sign-in?next=/console/reviews")
    assert form.status_code == 200 and form.headers["Content-Security-Policy"] == CSP
    nonce = re.search(r'name="csrf" value="([^"]+)"', text(form)).group(1)
    cookie = form.headers["Set-Cookie"]
    assert cookie.startswith(f"{session.LOGIN_COOKIE}={nonce};") and "HttpOnly" in cookie and "SameSite=Strict" in cookie
    response = console.post("/console/sign-in", data={"csrf": nonce, "token": DEV_TOKEN, "next": "/console/reviews"},
                            headers=ORIGIN)
    assert response.status_code == 303 and response.headers["Location"] == "/console/reviews"
    set_cookie = [c for c in response.headers.getlist("Set-Cookie") if c.startswith(session.TOKEN_COOKIE)][0]
    assert set_cookie.startswith(f"{session.TOKEN_COOKIE}={DEV_TOKEN};")
    assert "HttpOnly" in set_cookie and "SameSite=Strict" in set_cookie and "Path=/" in set_cookie
    assert console.get("/console/tasks").status_code == 200


def test_sign_in_refuses_bad_input(console):
    nonce = re.search(r'name="csrf" value="([^"]+)"', text(console.get("/console/sign-in"))).group(1)
    missing = console.post("/console/sign-in", data={"csrf": nonce, "token": " "})
    assert missing.status_code == 400 and "token is required" in text(missing)
    wrong = console.post("/console/sign-in", data={"csrf": nonce, "token": "not-the-token"})
    assert wrong.status_code == 401 and "the API refused this token" in text(wrong)
    assert session.TOKEN_COOKIE not in (wrong.headers.get("Set-Cookie") or "")
    no_csrf = console.post("/console/sign-in", data={"token": DEV_TOKEN})
    assert no_csrf.status_code == 403 and session.CSRF_REFUSED in text(no_csrf)
    cross_site = console.post("/console/sign-in", data={"csrf": nonce, "token": DEV_TOKEN},
                              headers={"Sec-Fetch-Site": "cross-site"})
    assert cross_site.status_code == 403


def test_open_redirects_are_refused(console):
    nonce = re.search(r'name="csrf" value="([^"]+)"', text(console.get("/console/sign-in"))).group(1)
    response = console.post("/console/sign-in", data={"csrf": nonce, "token": DEV_TOKEN, "next": "//evil.example/x"})
    assert response.status_code == 303 and response.headers["Location"] == "/console/tasks"


def test_tasks_page_lists_filters_and_pages(api, signed_in):
    for name in ("alpha", "beta"):
        assert api.post("/api/v1/tasks", json={"name": name, "type": "ai", "prompt": "hi"}).status_code == 201
    page = text(signed_in.get("/console/tasks"))
    assert "/console/tasks/alpha?namespace=default" in page and "/console/tasks/beta?namespace=default" in page
    pending = text(signed_in.get("/console/tasks?phase=Pending"))
    assert "alpha" in pending
    none = text(signed_in.get("/console/tasks?phase=Succeeded"))
    assert "No tasks match" in none and "/console/tasks/alpha" not in none
    bad = signed_in.get("/console/tasks?labels=%3D%3D")
    assert bad.status_code == 400 and "Something went wrong (400)" in text(bad)


def test_create_task_needs_csrf_and_goes_through_the_api(api, signed_in):
    refused = signed_in.post("/console/tasks", data={"name": "made", "prompt": "hi"})
    assert refused.status_code == 403 and session.CSRF_REFUSED in text(refused)
    cross = signed_in.post("/console/tasks", data={"name": "made", "prompt": "hi", "csrf": CSRF},
                           headers={"Sec-Fetch-Site": "cross-site"})
    assert cross.status_code == 403
    assert api.get("/api/v1/tasks/made").status_code == 404  # no state change
    bad = signed_in.post("/console/tasks", data={"name": "Bad Name!", "prompt": "hi", "csrf": CSRF})
    assert bad.status_code == 400
    made = signed_in.post("/console/tasks", data={"name": "made", "prompt": "hi", "csrf": CSRF}, headers=ORIGIN)
    assert made.status_code == 303 and made.headers["Location"] == "/console/tasks/made?namespace=default"
    assert api.get("/api/v1/tasks/made").json()["spec"]["prompt"] == "hi"
    detail = signed_in.get("/console/tasks/made?namespace=default")
    assert detail.status_code == 200 and 'data-stream="/console/tasks/made/events?namespace=default"' in text(detail)
    missing = signed_in.get("/console/tasks/nope")
    assert missing.status_code == 404 and "Something went wrong (404)" in text(missing)
    cancel = signed_in.post("/console/tasks/made/cancel?namespace=default", data={"csrf": CSRF})
    assert cancel.status_code == 303
    assert api.get("/api/v1/tasks/made").json()["status"]["phase"] == "Cancelled"


def test_task_parts_show_empty_states(api, signed_in):
    api.post("/api/v1/tasks", json={"name": "parts", "type": "ai", "prompt": "hi"})
    assert "No result yet." in text(signed_in.get("/console/tasks/parts/part/result", headers={"HX-Request": "true"}))
    assert "No child tasks." in text(signed_in.get("/console/tasks/parts/part/children"))
    assert signed_in.get("/console/tasks/parts/part/nope").status_code == 404


def test_task_stream_resumes_after_last_event_id(api, signed_in):
    from shared.tasks.feed import append_feed
    from shared.tasks.repository import tasks

    api.post("/api/v1/tasks", json={"name": "streamed", "type": "ai", "prompt": "hi"})
    for i in range(3):
        append_feed(tasks.get("default", "streamed"), "log", {"text": f"line {i}"})
    api.post("/api/v1/tasks/streamed/cancel")  # terminal: the stream ends after its backlog
    first = text(signed_in.get("/console/tasks/streamed/events"))
    ids = [int(i) for i in re.findall(r"^id: (\d+)$", first, re.M)]
    assert ids == sorted(ids) and len(ids) >= 4 and "line 0" in first
    resumed = signed_in.get("/console/tasks/streamed/events", headers={"Last-Event-ID": str(ids[1])})
    assert resumed.status_code == 200 and resumed.headers["Content-Type"].startswith("text/event-stream")
    assert [int(i) for i in re.findall(r"^id: (\d+)$", text(resumed), re.M)] == ids[2:]
    bad = signed_in.get("/console/tasks/streamed/events", headers={"Last-Event-ID": "x"})
    assert bad.status_code == 400


def test_chat_send_relays_the_stream_and_needs_csrf(api, signed_in):
    refused = signed_in.post("/console/chat/send", data={"message": "hi"})
    assert refused.status_code == 403
    empty = signed_in.post("/console/chat/send", data={"message": " ", "csrf": CSRF})
    assert empty.status_code == 400 and "message is required" in text(empty)
    streamed = signed_in.post("/console/chat/send", data={"message": "hi", "sessionId": "console-s1"},
                              headers={"X-CSRF-Token": CSRF})
    body = text(streamed)
    assert streamed.status_code == 200 and "event: done" in body and "You said: hi" in "".join(
        re.findall(r'"content":"([^"]*)"', body))
    replay = text(signed_in.get("/console/chat/console-s1/events", headers={"Last-Event-ID": "1"}))
    assert "id: 1\n" not in replay and "event: done" in replay
    page = text(signed_in.get("/console/chat"))
    assert "/console/chat?session=console-s1" in page
    # the turn is a session whose JSONL transcript the console shows one message per line
    transcript = text(signed_in.get("/console/chat/sessions/console-s1"))
    assert transcript.count('<li class="msg ') == 2 and "You said: hi" in transcript


def test_reviews_approve_and_apply(api, signed_in):
    created = api.post("/api/v1/memory-proposals", json={"title": "Use retries", "content": "retry thrice", "type": "memory"}).json()
    response = signed_in.get("/console/reviews")
    page = text(response)
    assert response.status_code == 200 and f'/console/reviews/{created["id"]}/accepted' in page
    refused = signed_in.post(f"/console/reviews/{created['id']}/accepted")
    assert refused.status_code == 403 and api.get(f"/api/v1/memory-proposals/{created['id']}").json()["status"] == "pending"
    assert signed_in.post(f"/console/reviews/{created['id']}/bogus", data={"csrf": CSRF}).status_code == 404
    approved = signed_in.post(f"/console/reviews/{created['id']}/accepted", data={"csrf": CSRF})
    assert approved.status_code == 303
    assert api.get(f"/api/v1/memory-proposals/{created['id']}").json()["status"] == "accepted"
    again = signed_in.post(f"/console/reviews/{created['id']}/accepted", data={"csrf": CSRF})
    assert again.status_code == 400 and "cannot be reviewed" in text(again)
    assert signed_in.post(f"/console/reviews/{created['id']}/apply", data={"csrf": CSRF}).status_code == 303
    assert api.get(f"/api/v1/memory-proposals/{created['id']}").json()["status"] == "applied"


def test_findings_dismiss_with_reason(api, signed_in):
    from shared.security.result_models import ModelFinding
    from shared.security.results import upsert_finding
    from shared.security.store import require_repository

    assert api.post("/api/v1/security/repositories", json={"name": "app", "spec": {
        "repoURL": "https://github.com/example/app", "analysisAgentRef": {"name": "r"}}}).status_code == 201
    fid, _ = upsert_finding(require_repository("default", "app"), "run-1", "slice-1", ModelFinding(
        title="SQL injection", severity="high", category="injection", file="app.py", line=3,
        description="query built from input"))
    assert "/console/security/app?namespace=default" in text(signed_in.get("/console/security"))
    page = text(signed_in.get("/console/security/app"))
    assert "SQL injection" in page and f"/console/security/findings/{fid}/dismiss" in page
    bad_filter = signed_in.get("/console/security/app?severity=huge")
    assert bad_filter.status_code == 400 and "severity must be one of" in text(bad_filter)
    refused = signed_in.post(f"/console/security/findings/{fid}/dismiss", data={"reason": "x"})
    assert refused.status_code == 403
    done = signed_in.post(f"/console/security/findings/{fid}/dismiss",
                          data={"csrf": CSRF, "reason": "test code", "back": "/console/security/app"})
    assert done.status_code == 303 and done.headers["Location"] == "/console/security/app"
    finding = api.get(f"/api/v1/security/findings/{fid}").json()
    assert finding["state"] == "dismissed" and finding["dismissReason"] == "test code"
    assert "Reopen" in text(signed_in.get("/console/security/app?state=dismissed"))


def test_catalog_jobs_keys_incidents_pages(api, signed_in):
    assert "No agents yet." in text(signed_in.get("/console/catalog/agents"))
    assert signed_in.get("/console/catalog/bogus").status_code == 404
    assert "No jobs yet." in text(signed_in.get("/console/jobs"))
    assert "No operator analyses yet." in text(signed_in.get("/console/incidents"))
    assert signed_in.get("/console/incidents/nosuch").status_code == 404
    key = signed_in.post("/console/api-keys", data={"name": "ci", "csrf": CSRF})
    assert key.status_code == 201 and "shown only once" in text(key)
    shown = re.search(r'<pre id="new-key">([^<]+)</pre>', text(key)).group(1)
    assert shown not in text(signed_in.get("/console/api-keys"))  # listed by prefix only afterwards
    assert signed_in.post("/console/api-keys", data={"name": "", "csrf": CSRF}).status_code == 400


def test_dashboard_session_cookie_signs_in_with_the_oidc_identity(api, console, monkeypatch):
    from shared.auth import dashboard
    from shared.config import reset_settings

    monkeypatch.setenv("SHOAL_DASHBOARD_JWT_SECRET", "s" * 40)
    reset_settings()
    console.set_cookie(dashboard.SESSION_COOKIE, dashboard.issue_session("u-1", "alice", None, None))
    assert console.get("/console/tasks").status_code == 200
    other = console.get("/console/tasks?namespace=team-b")
    assert other.status_code == 403  # the API's namespace isolation, not the console's
    console.set_cookie(dashboard.SESSION_COOKIE, "forged")
    assert console.get("/console/tasks").status_code == 303


def test_sign_out_clears_cookies(signed_in):
    refused = signed_in.post("/console/sign-out")
    assert refused.status_code == 403
    out = signed_in.post("/console/sign-out", data={"csrf": CSRF})
    assert out.status_code == 303 and out.headers["Location"] == "/console/sign-in"
    assert any(c.startswith(f"{session.TOKEN_COOKIE}=;") for c in out.headers.getlist("Set-Cookie"))


def test_static_files_are_served_from_the_package(console):
    js = console.get("/console/static/htmx.min.js")
    assert js.status_code == 200 and js.headers["Content-Type"] == "text/javascript; charset=utf-8"
    assert console.get("/console/static/htmx-license.txt").status_code == 200
    assert console.get("/console/static/missing.js").status_code == 404
    assert console.get("/console/static/..%2Fsession.py").status_code == 404


def test_an_unreachable_api_is_a_503_page(console, monkeypatch):
    from shared.config import reset_settings

    monkeypatch.setenv("SHOAL_API_URL", "http://127.0.0.1:9")
    reset_settings()
    console.set_cookie(session.TOKEN_COOKIE, DEV_TOKEN)
    response = console.get("/console/tasks")
    assert response.status_code == 503 and "the Shoal API is unavailable" in text(response)


def test_incident_session_page_shows_status_stream_and_root_cause(api, signed_in):
    from shared.incidents import sessions
    from shared.incidents.stream import append

    body = {"incident_id": "inc-1", "remediation_id": "rem-1", "signal_name": "KubePodCrashLooping",
            "severity": "critical", "signal_source": "prometheus", "resource_namespace": "shop",
            "resource_kind": "Pod", "resource_name": "web-1", "resource_api_version": "v1",
            "error_message": "Back-off restarting failed container", "environment": "production",
            "priority": "P1", "risk_tolerance": "medium", "business_category": "standard", "cluster_name": "c"}
    session_id = api.post("/api/v1/incident/analyze", json=body).json()["session_id"]
    assert "No result yet" in text(signed_in.get(f"/console/incidents/{session_id}/result"))  # 409 → empty state
    sessions.change(session_id, lambda d: d.update(status="investigating"))
    append(session_id, "tool_call", 1, {"id": "call_0", "name": "get_resource", "args": {}})
    append(session_id, "complete", 2, {"status": "completed"})
    page = signed_in.get(f"/console/incidents?session={session_id}")
    assert page.status_code == 302 and page.headers["Location"] == f"/console/incidents/{session_id}"
    detail = text(signed_in.get(f"/console/incidents/{session_id}"))
    assert f'data-stream="/console/incidents/{session_id}/events"' in detail and "investigating" in detail
    resumed = text(signed_in.get(f"/console/incidents/{session_id}/events", headers={"Last-Event-ID": "1"}))
    assert resumed.startswith("id: 2\nevent: complete")
    result = {"incident_id": "inc-1", "root_cause": "OOMKilled: memory limit 64Mi too low",
              "investigation_outcome": "actionable", "analysis": "the container exceeds its limit",
              "root_cause_analysis": {"summary": "OOM", "contributing_factors": ["limit 64Mi", "heap 200Mi"]}}
    sessions.change(session_id, lambda d: d.update(status="completed", result=result))
    shown = text(signed_in.get(f"/console/incidents/{session_id}/result"))
    assert '<dd id="root-cause">OOMKilled: memory limit 64Mi too low</dd>' in shown
    assert "<li>heap 200Mi</li>" in shown and '<dd id="outcome">actionable</dd>' in shown


def test_operator_analyses_show_root_cause_and_patch(api, signed_in):
    from shared.analyze import records

    analysis = {"timestamp": "2026-12-07T03:00:00Z", "resource_kind": "Deployment", "resource_name": "web",
                "namespace": "shop", "reason": "CrashLoopBackOff", "summary": "bad probe",
                "root_cause": "readiness probe points at port 8081", "recommendation": "fix the port",
                "action": {"type": "k8s_patch", "patch": {"spec": {"port": 8080}}}}
    records.save(records.scope(None), records.new_key(), analysis, [])
    page = text(signed_in.get("/console/incidents"))
    assert "shop/Deployment/web (CrashLoopBackOff)" in page and "readiness probe points at port 8081" in page
    assert '<span class="add">+   &#34;spec&#34;: {</span>' in page


def test_catalog_entries_are_read_and_edited_through_put(api, signed_in):
    import html
    import json

    created = api.post("/api/v1/agents", json={"name": "assistant", "spec": {"provider": "openai",
                                                                             "systemPrompt": "Be brief."}})
    assert created.status_code == 201
    listing = text(signed_in.get("/console/catalog/agents"))
    assert '/console/catalog/agents/assistant?namespace=default' in listing
    page = signed_in.get("/console/catalog/agents/assistant?namespace=default")
    document = json.loads(html.unescape(re.search(r'<textarea id="document"[^>]*>(.*?)</textarea>',
                                                  text(page), re.S).group(1)))
    assert document["spec"]["systemPrompt"] == {"inline": "Be brief."}  # Orka's Agent shape
    document["spec"]["systemPrompt"] = {"inline": "Be thorough."}
    saved = signed_in.post("/console/catalog/agents/assistant?namespace=default",
                           data={"csrf": CSRF, "document": json.dumps(document)})
    assert saved.status_code == 303
    assert api.get("/api/v1/agents/assistant").json()["spec"]["systemPrompt"] == {"inline": "Be thorough."}
    stale = signed_in.post("/console/catalog/agents/assistant?namespace=default",
                           data={"csrf": CSRF, "document": json.dumps(document)})  # old resourceVersion
    assert stale.status_code == 409
    bad = signed_in.post("/console/catalog/agents/assistant", data={"csrf": CSRF, "document": "{nope"})
    assert bad.status_code == 400 and "document must be a JSON object" in text(bad)
    refused = signed_in.post("/console/catalog/agents/assistant", data={"document": json.dumps(document)})
    assert refused.status_code == 403
    assert signed_in.get("/console/catalog/agents/missing").status_code == 404


def test_job_agents_page_and_job_actions(api, signed_in):
    assert "No job agents" in text(signed_in.get("/console/labrats-agents"))
    assert api.post("/api/agents/seed").status_code in (200, 201)
    page = text(signed_in.get("/console/labrats-agents"))
    assert "<code>" in page and "No job agents" not in page
    assert signed_in.post("/console/jobs/j1/explode", data={"csrf": CSRF}).status_code == 404
    missing = signed_in.post("/console/jobs/j1/retry", data={"csrf": CSRF})
    assert missing.status_code == 404
    assert signed_in.post("/console/jobs/j1/retry").status_code == 403


def test_console_without_a_trailing_slash_is_the_home(console):
    response = console.get("/console")
    assert response.status_code == 302 and response.headers["Location"] == "/console/sign-in"


def test_chat_cancel_deletes_the_session_through_the_api(api, signed_in):
    signed_in.post("/console/chat/send", data={"message": "hi", "sessionId": "console-c1"},
                   headers={"X-CSRF-Token": CSRF}).get_data()
    assert api.get("/api/v1/sessions/console-c1").status_code == 200
    refused = signed_in.post("/console/chat/console-c1/cancel")
    assert refused.status_code == 403 and api.get("/api/v1/sessions/console-c1").status_code == 200
    done = signed_in.post("/console/chat/console-c1/cancel", headers={"X-CSRF-Token": CSRF})
    assert done.status_code == 303 and done.headers["Location"] == "/console/chat"
    assert api.get("/api/v1/sessions/console-c1").status_code == 404
    assert signed_in.post("/console/chat/console-c1/cancel", headers={"X-CSRF-Token": CSRF}).status_code == 404


def test_artifacts_are_listed_and_downloaded(api, signed_in):
    api.post("/api/v1/tasks", json={"name": "art", "type": "ai", "prompt": "p"})
    assert api.post("/internal/v1/artifacts/default/art/out.json", content=b'{"ok":true}').status_code == 201
    listed = text(signed_in.get("/console/tasks/art/part/artifacts?namespace=default"))
    assert 'href="/console/tasks/art/artifacts/out.json?namespace=default"' in listed and "(11 bytes)" in listed
    download = signed_in.get("/console/tasks/art/artifacts/out.json?namespace=default")
    assert download.status_code == 200 and download.data == b'{"ok":true}'
    assert download.headers["Content-Disposition"] == "attachment; filename*=UTF-8''out.json"
    assert download.headers["Content-Type"] == "application/octet-stream"  # never rendered inline
    assert signed_in.get("/console/tasks/art/artifacts/missing.txt").status_code == 404


def test_artifact_download_of_a_missing_task_is_404(api, signed_in):
    missing = signed_in.get("/console/tasks/none/artifacts/report.txt")
    assert missing.status_code == 404 and "Something went wrong (404)" in text(missing)


def test_without_an_api_url_in_a_cluster_pages_are_503(console, monkeypatch):
    from shared.config import reset_settings

    monkeypatch.setenv("SHOAL_PLATFORM", "cluster")
    monkeypatch.delenv("SHOAL_API_URL")
    reset_settings()
    console.set_cookie(session.TOKEN_COOKIE, "some-token")
    response = console.get("/console/tasks")
    assert response.status_code == 503 and "SHOAL_API_URL is not set" in text(response)


def test_retry_creates_a_new_task_with_the_same_spec_through_the_api(api, signed_in):
    api.post("/api/v1/tasks", json={"name": "flaky", "type": "ai", "prompt": "try me", "labels": {"team": "a"}})
    running = signed_in.post("/console/tasks/flaky/retry?namespace=default", data={"csrf": CSRF})
    assert running.status_code == 409 and "only an ended task can be retried" in text(running)
    assert api.get("/api/v1/tasks/flaky-retry-1").status_code == 404  # no state change
    api.post("/api/v1/tasks/flaky/cancel")
    assert 'action="/console/tasks/flaky/retry?namespace=default"' in text(signed_in.get("/console/tasks/flaky"))
    refused = signed_in.post("/console/tasks/flaky/retry?namespace=default")
    assert refused.status_code == 403 and api.get("/api/v1/tasks/flaky-retry-1").status_code == 404
    first = signed_in.post("/console/tasks/flaky/retry?namespace=default", data={"csrf": CSRF})
    assert first.status_code == 303 and first.headers["Location"] == "/console/tasks/flaky-retry-1?namespace=default"
    retried = api.get("/api/v1/tasks/flaky-retry-1").json()
    assert retried["spec"]["prompt"] == "try me" and retried["metadata"]["labels"]["team"] == "a"
    assert retried["metadata"]["annotations"]["shoal.dev/retry-of"] == "flaky"
    api.post("/api/v1/tasks/flaky-retry-1/cancel")
    again = signed_in.post("/console/tasks/flaky-retry-1/retry?namespace=default", data={"csrf": CSRF})
    assert again.headers["Location"] == "/console/tasks/flaky-retry-2?namespace=default"
    second = signed_in.post("/console/tasks/flaky/retry?namespace=default", data={"csrf": CSRF})
    assert second.headers["Location"] == "/console/tasks/flaky-retry-3?namespace=default"
    assert signed_in.post("/console/tasks/nope/retry", data={"csrf": CSRF}).status_code == 404
