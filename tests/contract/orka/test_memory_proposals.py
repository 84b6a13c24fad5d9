"""Contract: /api/v1/memory-proposals (orka-api.txt; orka-behaviour.md §2 Memory proposals) and its events."""

from __future__ import annotations

import json

import pytest

from tests.conftest import AUTH
from tests.support.leak_scan import leak_scan  # noqa: F401  (fixture)


def err(code: int, message: str) -> dict:
    return {"error": {"code": code, "message": message}}


@pytest.fixture
def api(function_client, leak_scan):  # noqa: F811
    return leak_scan.watch(function_client("memory"))


def send(client, method, path, body=None):
    data = None if body is None else (body if isinstance(body, str) else json.dumps(body))
    return client.open(path, method=method, data=data, headers={**AUTH, "Content-Type": "application/json"})


def propose(client, **body):
    response = send(client, "POST", "/api/v1/memory-proposals", body)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


MEMORY = {"type": "memory", "title": "Staging region", "content": "Staging runs in eu-west-1",
          "description": "Learned while debugging.\nTags: Infra, staging, infra\nTags: ignored", "taskName": "t1",
          "agentName": "ops"}


def test_every_proposal_route_without_credentials_is_401(api):
    for method, path in [("GET", "/api/v1/memory-proposals"), ("POST", "/api/v1/memory-proposals"),
                         ("GET", "/api/v1/memory-proposals/p"), ("POST", "/api/v1/memory-proposals/p/review"),
                         ("POST", "/api/v1/memory-proposals/p/apply"), ("POST", "/api/v1/memory-proposals/p/archive")]:
        response = api.open(path, method=method)
        assert response.status_code == 401 and response.get_json() == err(401, "missing authorization header")


def test_create_defaults_and_get(api, event_sink):
    body = propose(api, title="Prefer small PRs")
    assert body["id"].startswith("mprop-") and body["type"] == "skill" and body["status"] == "pending"
    assert {body[k] for k in ("reviewer", "reviewNote", "appliedMemoryId", "appliedBy", "content")} == {""}
    assert api.get(f"/api/v1/memory-proposals/{body['id']}", headers=AUTH).get_json() == body
    [event] = event_sink.of_type("dev.shoal.memory.proposed")
    assert event.data == {"namespace": "default", "name": body["id"], "type": "skill", "status": "pending"}


def test_bad_creates_are_400_and_store_nothing(api):
    for body, message in [("{", "invalid request body"), ({}, "title is required"),
                          ({"title": "  "}, "title is required"), ({"title": 1}, "title must be a string"),
                          ({"title": "t", "status": "accepted"}, "status cannot be set by clients"),
                          ({"title": "t", "appliedMemoryId": "mem-x"}, "appliedMemoryId cannot be set by clients")]:
        response = send(api, "POST", "/api/v1/memory-proposals", body)
        assert response.status_code == 400 and response.get_json() == err(400, message), body
    assert api.get("/api/v1/memory-proposals", headers=AUTH).get_json() == {"items": [], "metadata": {}}


def test_review_validation_messages(api):
    p = propose(api, **MEMORY)["id"]
    path = f"/api/v1/memory-proposals/{p}/review"
    for body, message in [("{", "invalid request body"), ({}, "status is required"),
                          ({"status": "applied"}, "proposal review status must be accepted or rejected"),
                          ({"status": "pending"}, "proposal review status must be accepted or rejected")]:
        response = send(api, "POST", path, body)
        assert response.status_code == 400 and response.get_json() == err(400, message), body
    assert api.get(f"/api/v1/memory-proposals/{p}", headers=AUTH).get_json()["status"] == "pending"
    assert send(api, "POST", "/api/v1/memory-proposals/mprop-x/review", {"status": "accepted"}).get_json() == err(
        404, "memory proposal not found")


def test_review_records_the_decision_once(api, event_sink):
    p = propose(api, **MEMORY)["id"]
    response = send(api, "POST", f"/api/v1/memory-proposals/{p}/review",
                    {"status": "rejected", "reviewer": "alice", "reviewNote": "not durable"})
    assert response.status_code == 204 and response.data == b""
    body = api.get(f"/api/v1/memory-proposals/{p}", headers=AUTH).get_json()
    assert (body["status"], body["reviewer"], body["reviewNote"]) == ("rejected", "alice", "not durable")
    again = send(api, "POST", f"/api/v1/memory-proposals/{p}/review", {"status": "accepted"})
    assert again.status_code == 400 and again.get_json() == err(400, 'proposal status "rejected" cannot be reviewed')
    [event] = event_sink.of_type("dev.shoal.memory.proposal.reviewed")
    assert event.data["status"] == "rejected" and event.data["reviewer"] == "alice"


def test_apply_rules_then_apply_creates_the_memory_and_is_idempotent(api, event_sink):
    skill = propose(api, title="A skill idea")["id"]
    pending = propose(api, **MEMORY)["id"]
    assert send(api, "POST", f"/api/v1/memory-proposals/{skill}/apply").get_json() == err(
        400, 'proposal type "skill" cannot be applied as memory')
    assert send(api, "POST", f"/api/v1/memory-proposals/{pending}/apply").get_json() == err(
        400, 'proposal status "pending" cannot be applied')
    send(api, "POST", f"/api/v1/memory-proposals/{pending}/review", {"status": "accepted"})
    first = send(api, "POST", f"/api/v1/memory-proposals/{pending}/apply", {"appliedBy": "bob"})
    assert first.status_code == 200
    memory = first.get_json()
    assert memory["id"].startswith("mem-") and memory["source"] == "memory_proposal"
    assert memory["sourceProposalId"] == pending and memory["content"] == "Staging runs in eu-west-1"
    assert memory["tags"] == ["infra", "staging"] and memory["taskName"] == "t1" and memory["agentName"] == "ops"
    second = send(api, "POST", f"/api/v1/memory-proposals/{pending}/apply", {"appliedBy": "carol"})
    assert second.status_code == 200 and second.get_json() == memory
    proposal = api.get(f"/api/v1/memory-proposals/{pending}", headers=AUTH).get_json()
    assert (proposal["status"], proposal["appliedMemoryId"], proposal["appliedBy"]) == ("applied", memory["id"], "bob")
    assert [m["id"] for m in api.get("/api/v1/memories", headers=AUTH).get_json()["items"]] == [memory["id"]]
    [event] = event_sink.of_type("dev.shoal.memory.applied")
    assert event.data["memoryId"] == memory["id"] and event.data["status"] == "applied"
    assert send(api, "POST", "/api/v1/memory-proposals/mprop-x/apply").get_json() == err(
        404, "memory proposal not found")


def test_archive_is_idempotent_and_refuses_applied(api):
    p = propose(api, title="later")["id"]
    for _ in range(2):
        response = api.post(f"/api/v1/memory-proposals/{p}/archive", headers=AUTH)
        assert response.status_code == 204 and response.data == b""
    assert api.get(f"/api/v1/memory-proposals/{p}", headers=AUTH).get_json()["status"] == "archived"
    applied = propose(api, **MEMORY)["id"]
    send(api, "POST", f"/api/v1/memory-proposals/{applied}/review", {"status": "accepted"})
    send(api, "POST", f"/api/v1/memory-proposals/{applied}/apply")
    response = api.post(f"/api/v1/memory-proposals/{applied}/archive", headers=AUTH)
    assert response.status_code == 400 and response.get_json() == err(
        400, 'proposal status "applied" cannot be archived')


def test_list_filters_newest_first_and_pages(api):
    a = propose(api, title="alpha", type="memory", taskName="t1")["id"]
    b = propose(api, title="beta", description="about Kafka", agentName="ops")["id"]
    c = propose(api, title="gamma", type="memory")["id"]
    send(api, "POST", f"/api/v1/memory-proposals/{c}/review", {"status": "accepted"})
    get = lambda q: [p["id"] for p in api.get(f"/api/v1/memory-proposals?{q}", headers=AUTH).get_json()["items"]]  # noqa: E731
    assert get("") == [c, b, a]
    assert get("type=memory") == [c, a] and get("status=accepted") == [c]
    assert get("taskName=t1") == [a] and get("agentName=ops") == [b] and get("q=kafka") == [b]
    page = api.get("/api/v1/memory-proposals?limit=2", headers=AUTH).get_json()
    assert [p["id"] for p in page["items"]] == [c, b]
    rest = api.get(f"/api/v1/memory-proposals?limit=2&continue={page['metadata']['continue']}", headers=AUTH)
    assert [p["id"] for p in rest.get_json()["items"]] == [a] and rest.get_json()["metadata"] == {}
