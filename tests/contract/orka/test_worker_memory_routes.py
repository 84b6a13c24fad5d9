"""Contract: Orka's worker routes for memory and transcript search (issue 19 "Worker API parity"):
`/internal/v1/memories/<ns>/**`, `/internal/v1/memory-proposals/<ns>/**` and
`GET /internal/v1/sessions/<ns>/search`, called as Orka's worker tools call them (`recall_memory`:
GET memories with query/tags/taskName; `remember`/`propose_memory`: POST a proposal whose body carries
`namespace` and `taskName`; `search_transcript`: GET search with query/sessionName/excludeSessionName/
roles/limit/maxSnippetLength)."""

from __future__ import annotations

import re

import pytest

from tests.conftest import AUTH

ID = re.compile(r"mem-[0-9a-f-]{36}")


def err(code: int, message: str) -> dict:
    return {"error": {"code": code, "message": message}}


@pytest.fixture
def internal(function_client):
    return function_client("internal")


@pytest.fixture
def team_b(monkeypatch):
    """A worker ServiceAccount of namespace team-b (token "team-b-sa")."""
    from shared.auth import resolver
    from shared.auth.principal import Principal

    def authenticate(token, headers):
        if token == "team-b-sa":
            return Principal(kind="serviceaccount", subject="system:serviceaccount:team-b:worker", username="worker",
                             namespace="team-b")
        return None

    monkeypatch.setattr(resolver, "AUTHENTICATORS", [authenticate, *resolver.AUTHENTICATORS])
    return {"Authorization": "Bearer team-b-sa"}


ROUTES = [("GET", "/internal/v1/memories/default"), ("POST", "/internal/v1/memories/default"),
          ("GET", "/internal/v1/memories/default/mem-1"), ("PUT", "/internal/v1/memories/default/mem-1"),
          ("DELETE", "/internal/v1/memories/default/mem-1"), ("POST", "/internal/v1/memories/default/mem-1/disable"),
          ("POST", "/internal/v1/memories/default/mem-1/enable"), ("GET", "/internal/v1/memory-proposals/default"),
          ("POST", "/internal/v1/memory-proposals/default"), ("GET", "/internal/v1/memory-proposals/default/p"),
          ("POST", "/internal/v1/memory-proposals/default/p/review"),
          ("POST", "/internal/v1/memory-proposals/default/p/apply"),
          ("POST", "/internal/v1/memory-proposals/default/p/archive"),
          ("GET", "/internal/v1/sessions/default/search?query=x")]


def test_every_route_needs_credentials(internal):
    for method, path in ROUTES:
        response = internal.open(path, method=method, json={})
        assert (response.status_code, response.get_json()) == (401, err(401, "missing authorization header")), path


def test_a_worker_of_another_namespace_is_refused_before_anything_is_read(internal, team_b):
    for method, path in ROUTES:
        response = internal.open(path, method=method, json={"content": "x", "title": "t"}, headers=team_b)
        assert (response.status_code, response.get_json()) == (403, err(403, "cross-namespace access denied")), path
    own = internal.get("/internal/v1/memories/team-b", headers=team_b)
    assert (own.status_code, own.get_json()) == (200, [])


@pytest.mark.parametrize("method,path,body,message", [
    ("POST", "/internal/v1/memories/default", {"content": "  "}, "content is required"),
    ("POST", "/internal/v1/memories/default", {"content": "x", "namespace": "other"}, "memory namespace mismatch"),
    ("POST", "/internal/v1/memories/default", {"content": "x", "id": "mem-mine"}, "id cannot be set by clients"),
    ("POST", "/internal/v1/memories/default", [1], "invalid request body"),
    ("GET", "/internal/v1/memories/default?limit=x", None, "invalid limit"),
    ("GET", "/internal/v1/memories/default?limit=-1", None, "invalid limit"),
    ("POST", "/internal/v1/memory-proposals/default", {"type": "memory", "content": "x"}, "title is required"),
    ("POST", "/internal/v1/memory-proposals/default", {"title": "t", "namespace": "other"},
     "memory proposal namespace mismatch"),
    ("GET", "/internal/v1/memory-proposals/default?limit=1.5", None, "invalid limit"),
    ("GET", "/internal/v1/sessions/default/search", None, "query is required"),
    ("GET", "/internal/v1/sessions/default/search?query=%20", None, "query is required"),
    ("GET", "/internal/v1/sessions/default/search?query=a&limit=z", None, "invalid limit"),
    ("GET", "/internal/v1/sessions/default/search?query=a&maxSnippetLength=-3", None, "invalid maxSnippetLength"),
    # The REST routes' models (shared.memory.models): an unknown field is named, never stored or dropped.
    ("POST", "/internal/v1/memories/default", {"content": "x", "tag": ["a"]}, "tag: unknown field"),
    ("POST", "/internal/v1/memory-proposals/default", {"title": "t", "contnet": "x"}, "contnet: unknown field"),
])
def test_bad_input_is_400_naming_the_field_and_stores_nothing(internal, method, path, body, message):
    response = internal.open(path, method=method, json=body, headers=AUTH)
    assert (response.status_code, response.get_json()) == (400, err(400, message))
    assert internal.get("/internal/v1/memories/default?includeDisabled=true&includeDeleted=true",
                        headers=AUTH).get_json() == []
    assert internal.get("/internal/v1/memory-proposals/default", headers=AUTH).get_json() == []


def test_remember_then_review_apply_and_recall_as_an_orka_worker_does(internal, event_sink):
    # the body Orka's `remember` tool posts (proposeMemoryPayload)
    created = internal.post("/internal/v1/memory-proposals/default", headers=AUTH, json={
        "namespace": "default", "taskName": "job", "agentName": "ops", "type": "memory",
        "title": "Deploys need the ci tag", "description": "Tags: Deploy, CI", "content": "Always tag deploys with ci"})
    assert created.status_code == 201
    proposal = created.get_json()
    assert proposal["status"] == "pending" and proposal["type"] == "memory" and proposal["taskName"] == "job"
    assert internal.get("/internal/v1/memory-proposals/default?status=pending", headers=AUTH).get_json() == [proposal]
    assert internal.get(f"/internal/v1/memory-proposals/default/{proposal['id']}", headers=AUTH).get_json() == proposal

    bad = internal.post(f"/internal/v1/memory-proposals/default/{proposal['id']}/review", headers=AUTH,
                        json={"status": "maybe"})
    assert (bad.status_code, bad.get_json()) == (400, err(400, "proposal review status must be accepted or rejected"))
    reviewed = internal.post(f"/internal/v1/memory-proposals/default/{proposal['id']}/review", headers=AUTH,
                             json={"status": "accepted"})
    assert (reviewed.status_code, reviewed.data) == (204, b"")
    after = internal.get(f"/internal/v1/memory-proposals/default/{proposal['id']}", headers=AUTH).get_json()
    assert after["status"] == "accepted" and after["reviewer"] == "dev"  # the caller, as Orka records it

    applied = internal.post(f"/internal/v1/memory-proposals/default/{proposal['id']}/apply", headers=AUTH)
    assert applied.status_code == 200
    memory = applied.get_json()
    assert ID.fullmatch(memory["id"]) and memory["source"] == "memory_proposal"
    assert memory["content"] == "Always tag deploys with ci" and memory["tags"] == ["deploy", "ci"]
    assert internal.get(f"/internal/v1/memory-proposals/default/{proposal['id']}",
                        headers=AUTH).get_json()["appliedBy"] == "dev"

    # recall_memory's request: GET with query, tags and taskName
    recalled = internal.get("/internal/v1/memories/default?query=tag%20deploys&tags=deploy&taskName=job", headers=AUTH)
    assert (recalled.status_code, recalled.get_json()) == (200, [memory])
    assert internal.get("/internal/v1/memories/default?tags=deploy,other", headers=AUTH).get_json() == []
    assert [e.data["name"] for e in event_sink.of_type("dev.shoal.memory.proposed")] == [proposal["id"]]


def test_memory_lifecycle_through_the_worker_routes(internal):
    created = internal.post("/internal/v1/memories/default", headers=AUTH,
                            json={"namespace": "default", "content": "The cache lives in redis", "tags": ["Infra"]})
    assert created.status_code == 201
    memory = created.get_json()
    assert memory["namespace"] == "default" and memory["tags"] == ["infra"] and memory["source"] == "manual"
    path = f"/internal/v1/memories/default/{memory['id']}"
    assert internal.get(path, headers=AUTH).get_json() == memory

    updated = internal.put(path, headers=AUTH, json={"content": "The cache lives in valkey"})
    assert updated.status_code == 200 and updated.get_json()["content"] == "The cache lives in valkey"
    assert updated.get_json()["tags"] == ["infra"]  # a partial merge

    assert internal.post(path + "/disable", headers=AUTH).status_code == 204
    assert internal.get("/internal/v1/memories/default", headers=AUTH).get_json() == []
    assert [m["id"] for m in internal.get("/internal/v1/memories/default?includeDisabled=true",
                                          headers=AUTH).get_json()] == [memory["id"]]
    assert internal.post(path + "/enable", headers=AUTH).status_code == 204
    assert len(internal.get("/internal/v1/memories/default", headers=AUTH).get_json()) == 1

    deleted = internal.delete(path, headers=AUTH)
    assert (deleted.status_code, deleted.data) == (204, b"")
    gone = internal.get(path, headers=AUTH)
    assert (gone.status_code, gone.get_json()) == (404, err(404, "memory not found"))
    assert internal.post(path + "/enable", headers=AUTH).status_code == 404


def test_proposal_archive_and_missing_ids(internal):
    created = internal.post("/internal/v1/memory-proposals/default", headers=AUTH, json={"title": "a skill"})
    proposal = created.get_json()
    assert proposal["type"] == "skill"
    path = f"/internal/v1/memory-proposals/default/{proposal['id']}"
    refused = internal.post(path + "/apply", headers=AUTH, json={})
    assert (refused.status_code, refused.get_json()) == (400, err(400, 'proposal type "skill" cannot be applied as memory'))
    assert internal.post(path + "/archive", headers=AUTH).status_code == 204
    assert internal.get(path, headers=AUTH).get_json()["status"] == "archived"
    missing = internal.get("/internal/v1/memory-proposals/default/mprop-none", headers=AUTH)
    assert (missing.status_code, missing.get_json()) == (404, err(404, "memory proposal not found"))


def test_transcript_search_as_search_transcript_calls_it(internal):
    def append(session, messages):
        response = internal.post(f"/internal/v1/sessions/default/{session}/transcript", headers=AUTH,
                                 json={"messages": messages, "taskName": "job"})
        assert response.status_code == 204

    append("s1", [{"role": "user", "content": "Where is the deploy runbook?", "ts": "2026-01-01T00:00:00Z"},
                  {"role": "assistant", "content": "The deploy runbook is in docs/ops.md", "ts": "2026-01-01T00:00:01Z"}])
    append("s2", [{"role": "tool", "name": "file_read", "content": "deploy: make release", "ts": "2026-01-02T00:00:00Z"}])

    response = internal.get("/internal/v1/sessions/default/search?query=DEPLOY&roles=assistant,tool&excludeSessionName=s9",
                            headers=AUTH)
    assert response.status_code == 200
    found = sorted(response.get_json(), key=lambda h: h["sessionName"])
    assert found == [
        {"sessionName": "s1", "messageId": found[0]["messageId"], "stableMessageId": found[0]["stableMessageId"],
         "role": "assistant", "snippet": "The deploy runbook is in docs/ops.md", "createdAt": "2026-01-01T00:00:01Z"},
        {"sessionName": "s2", "messageId": found[1]["messageId"], "stableMessageId": found[1]["stableMessageId"],
         "role": "tool", "name": "file_read", "snippet": "deploy: make release", "createdAt": "2026-01-02T00:00:00Z"}]
    assert all(isinstance(h["messageId"], int) and h["stableMessageId"] for h in found)

    only_s1 = internal.get("/internal/v1/sessions/default/search?query=runbook&sessionName=s1&maxSnippetLength=10",
                           headers=AUTH).get_json()
    assert [(h["role"], len(h["snippet"])) for h in only_s1] == [("user", 10), ("assistant", 10)]
    assert internal.get("/internal/v1/sessions/default/search?query=runbook&excludeSessionName=s1",
                        headers=AUTH).get_json() == []
    assert len(internal.get("/internal/v1/sessions/default/search?query=deploy&limit=1", headers=AUTH).get_json()) == 1
