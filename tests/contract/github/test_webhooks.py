"""Contract: POST /webhooks/github with real payloads signed in the test (test-fixtures.md §1)."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from shared.github.signature import sign

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "github"
SECRET = "It's a Secret to Everybody"


def err(code: int, message: str) -> dict:
    return {"error": {"code": code, "message": message}}


def payload(name: str, **changes) -> dict:
    data = json.loads((FIXTURES / f"{name}.json").read_text())
    data.update(changes)
    return data


def headers_for(event: str, body: bytes, *, secret: str = SECRET, delivery: str | None = None,
                content_type: str = "application/json") -> dict[str, str]:
    return {"X-GitHub-Event": event, "X-GitHub-Delivery": delivery or str(uuid.uuid4()),
            "X-GitHub-Hook-ID": "109948940", "X-GitHub-Hook-Installation-Target-Type": "repository",
            "X-GitHub-Hook-Installation-Target-ID": "186853002", "User-Agent": "GitHub-Hookshot/044aadd",
            "Content-Type": content_type, "X-Hub-Signature-256": sign(secret, body)}


@pytest.fixture
def hooks(function_client, monkeypatch):
    from shared.config import reset_settings

    monkeypatch.setenv("ORKA_GITHUB_WEBHOOK_SECRET", SECRET)
    monkeypatch.setenv("ORKA_GITHUB_LABEL_TRIGGER_AGENT", "coder")
    reset_settings()
    client = function_client("webhooks")
    from shared.store import ObjectStore

    ObjectStore("agent").create("default", "coder", {"spec": {"runtime": {"type": "claude"}}})
    ObjectStore("agent").create("default", "plain", {"spec": {"provider": "openai"}})
    return client


def post(client, event: str, data: dict | bytes, **kwargs):
    body = data if isinstance(data, bytes) else json.dumps(data, indent=2).encode()
    return client.post("/webhooks/github", data=body, headers=headers_for(event, body, **kwargs))


def test_published_hmac_vector():
    expected = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    assert sign(SECRET, b"Hello, World!") == expected
    from shared.github.signature import verify

    assert verify(SECRET, b"Hello, World!", expected)
    assert not verify(SECRET, b"Hello, World?", expected)


def test_no_secret_configured_is_503(function_client):
    client = function_client("webhooks")
    response = post(client, "ping", payload("ping"))
    assert response.status_code == 503
    assert response.get_json() == err(503, "GitHub webhook secret is not configured")


def test_ping_is_202_without_dispatch(hooks, event_sink):
    response = post(hooks, "ping", payload("ping"))
    assert response.status_code == 202
    body = response.get_json()
    assert body["status"] == "ok" and body["hook_id"] == 109948940 and body["zen"]
    assert event_sink.events == []


@pytest.mark.parametrize("event,name,type_", [
    ("pull_request", "pull_request.opened", "com.github.pull_request.opened"),
    ("pull_request", "pull_request.synchronize", "com.github.pull_request.synchronize"),
])
def test_pull_request_events_are_emitted_with_the_delivery_id(hooks, event_sink, event, name, type_):
    delivery = str(uuid.uuid4())
    data = payload(name)
    response = post(hooks, event, data, delivery=delivery)
    assert response.status_code == 202
    assert response.get_json() == {"status": "accepted", "delivery": delivery, "type": type_}
    [emitted] = event_sink.of_type(type_)  # validated against events/ by the sink
    assert emitted.id == delivery and emitted.data == data and emitted.subject == "pull/2"
    assert emitted.source == "https://github.com/Codertocat/Hello-World"


def test_labeled_issue_with_trigger_label_is_emitted_with_its_task_name(hooks, event_sink):
    data = payload("issues.labeled", label={"name": "agent:implement", "color": "d73a4a"})
    response = post(hooks, "issues", data)
    assert response.status_code == 202
    body = response.get_json()
    assert body["status"] == "accepted" and body["type"] == "com.github.issues.labeled"
    assert body["namespace"] == "default" and body["action"] == "implement" and body["label"] == "agent:implement"
    assert body["taskName"].startswith("github-implement-1-") and len(body["taskName"]) == len("github-implement-1-") + 12
    assert len(event_sink.of_type("com.github.issues.labeled")) == 1


def test_form_encoded_delivery(hooks, event_sink):
    from urllib.parse import urlencode

    data = payload("pull_request.opened")
    body = urlencode({"payload": json.dumps(data)}).encode()
    response = hooks.post("/webhooks/github", data=body,
                          headers=headers_for("pull_request", body, content_type="application/x-www-form-urlencoded"))
    assert response.status_code == 202 and response.get_json()["status"] == "accepted"
    [emitted] = event_sink.of_type("com.github.pull_request.opened")
    assert emitted.data == data


def test_duplicate_delivery_is_processed_once(hooks, event_sink):
    delivery = str(uuid.uuid4())
    data = payload("pull_request.opened")
    first = post(hooks, "pull_request", data, delivery=delivery)
    second = post(hooks, "pull_request", data, delivery=delivery)
    assert first.get_json()["status"] == "accepted"
    assert second.status_code == 202 and second.get_json() == {"status": "duplicate", "delivery": delivery}
    assert len(event_sink.of_type("com.github.pull_request.opened")) == 1


# -- negative cases of test-fixtures §1 -----------------------------------------------------------------

def _signed(event: str = "pull_request", name: str = "pull_request.opened"):
    body = json.dumps(payload(name), indent=2).encode()
    return body, headers_for(event, body)


@pytest.mark.parametrize("case", ["body_changed", "header_missing", "sha1_only", "wrong_prefix", "wrong_secret",
                                  "uppercase_hex", "empty_header", "signature_of_other_body"])
def test_bad_signatures_are_401_and_dispatch_nothing(hooks, event_sink, case):
    import hashlib
    import hmac

    body, headers = _signed()
    digest = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    if case == "body_changed":
        body = body.replace(b'"opened"', b'"closed"', 1)
    elif case == "header_missing":
        del headers["X-Hub-Signature-256"]
    elif case == "sha1_only":
        del headers["X-Hub-Signature-256"]
        headers["X-Hub-Signature"] = "sha1=" + hmac.new(SECRET.encode(), body, hashlib.sha1).hexdigest()
    elif case == "wrong_prefix":
        headers["X-Hub-Signature-256"] = "sha512=" + digest
    elif case == "wrong_secret":
        headers["X-Hub-Signature-256"] = sign("not the secret", body)
    elif case == "uppercase_hex":
        headers["X-Hub-Signature-256"] = "sha256=" + digest.upper()
    elif case == "empty_header":
        headers["X-Hub-Signature-256"] = ""
    elif case == "signature_of_other_body":
        headers["X-Hub-Signature-256"] = sign(SECRET, b"Hello, World!")
    response = hooks.post("/webhooks/github", data=body, headers=headers)
    assert response.status_code == 401
    assert response.get_json() == err(401, "invalid GitHub webhook signature")
    assert event_sink.events == []


def test_unknown_event_is_ignored(hooks, event_sink):
    response = post(hooks, "star", {"action": "created", "repository": payload("ping")["repository"]})
    assert response.status_code == 202
    assert response.get_json()["status"] == "ignored" and "star.created" in response.get_json()["reason"]
    assert event_sink.events == []


def test_closed_pull_request_is_ignored(hooks, event_sink):
    response = post(hooks, "pull_request", payload("pull_request.closed"))
    assert response.status_code == 202 and response.get_json()["status"] == "ignored"
    assert event_sink.events == []


@pytest.mark.parametrize("event,name", [("issues", "issues.labeled"), ("pull_request", "pull_request.labeled")])
def test_labeled_with_a_non_trigger_label_is_ignored(hooks, event_sink, event, name):
    response = post(hooks, event, payload(name))  # the real payloads carry label "bug"
    assert response.status_code == 202
    assert response.get_json()["status"] == "ignored"
    assert response.get_json()["reason"] == 'label "bug" is not a trigger label'
    assert event_sink.events == []


def test_trigger_label_without_an_agent_is_400(hooks, monkeypatch, event_sink):
    from shared.config import reset_settings

    monkeypatch.delenv("ORKA_GITHUB_LABEL_TRIGGER_AGENT")
    reset_settings()
    response = post(hooks, "issues", payload("issues.labeled", label={"name": "agent:implement"}))
    assert response.status_code == 400
    assert response.get_json() == err(400, 'no agent configured for label "agent:implement"')
    assert event_sink.events == []


@pytest.mark.parametrize("agent,message", [
    ("ghost", 'agent "ghost" not found in namespace "default"'), ("plain", 'agent "plain" has no runtime')])
def test_trigger_label_with_a_missing_or_runtime_less_agent_is_400(hooks, monkeypatch, event_sink, agent, message):
    from shared.config import reset_settings

    monkeypatch.setenv("ORKA_GITHUB_LABEL_TRIGGER_AGENT", agent)
    reset_settings()
    response = post(hooks, "issues", payload("issues.labeled", label={"name": "agent:implement"}))
    assert response.status_code == 400 and response.get_json() == err(400, message)
    assert event_sink.events == []


@pytest.mark.parametrize("body,headers,message", [
    (b"not json", {}, "invalid request body"), (b"[1,2]", {}, "invalid request body"),
    (b'{"action":"opened"}', {"X-GitHub-Event": ""}, "missing X-GitHub-Event header"),
    (b'{"action":"opened"}', {"X-GitHub-Delivery": ""}, "missing X-GitHub-Delivery header")])
def test_malformed_but_signed_deliveries_are_400(hooks, event_sink, body, headers, message):
    response = hooks.post("/webhooks/github", data=body, headers={**headers_for("pull_request", body), **headers})
    assert response.status_code == 400 and response.get_json() == err(400, message)
    assert event_sink.events == []
