"""Contract: /api/v1/memories (orka-api.txt Memory; orka-behaviour.md §2 Memories)."""

from __future__ import annotations

import json

import pytest

from tests.conftest import AUTH
from tests.support.leak_scan import PLANTED_SECRETS, leak_scan  # noqa: F401  (fixture)


def err(code: int, message: str) -> dict:
    return {"error": {"code": code, "message": message}}


@pytest.fixture
def api(function_client, leak_scan):  # noqa: F811
    return leak_scan.watch(function_client("memory"))


def send(client, method, path, body=None):
    data = None if body is None else (body if isinstance(body, str) else json.dumps(body))
    return client.open(path, method=method, data=data, headers={**AUTH, "Content-Type": "application/json"})


def create(client, **body):
    response = send(client, "POST", "/api/v1/memories", body)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def ids(body):
    return [m["id"] for m in body["items"]]


def test_every_memory_route_without_credentials_is_401(api):
    for method, path in [("GET", "/api/v1/memories"), ("POST", "/api/v1/memories"), ("GET", "/api/v1/memories/m"),
                         ("PUT", "/api/v1/memories/m"), ("DELETE", "/api/v1/memories/m"),
                         ("POST", "/api/v1/memories/m/disable"), ("POST", "/api/v1/memories/m/enable")]:
        response = api.open(path, method=method)
        assert response.status_code == 401 and response.get_json() == err(401, "missing authorization header")


def test_create_returns_the_memory_object(api):
    body = create(api, content="Deploys go through ArgoCD", tags=["Deploy", "argocd", "deploy", " ArgoCD "],
                  taskName="t1", agentName="ops")
    assert body["id"].startswith("mem-") and len(body["id"]) == 40
    assert body == {"id": body["id"], "namespace": "default", "sessionName": "", "agentName": "ops",
                    "taskName": "t1", "parentTask": "", "source": "manual", "sourceProposalId": "",
                    "content": "Deploys go through ArgoCD", "tags": ["deploy", "argocd"], "disabled": False,
                    "deleted": False, "createdAt": body["createdAt"], "updatedAt": body["createdAt"],
                    "lastRecalledAt": None, "recalledCount": 0}
    assert api.get(f"/api/v1/memories/{body['id']}", headers=AUTH).get_json() == body


def test_content_is_redacted_for_secrets(api):
    body = create(api, content=f"use token {PLANTED_SECRETS[3]} and password: hunter2-secret for the db")
    assert body["content"] == "use token [REDACTED] and password: [REDACTED] for the db"


def test_bad_creates_are_400_and_store_nothing(api):
    for body, message in [("{", "invalid request body"), ("[]", "invalid request body"),
                          ({}, "content is required"), ({"content": "   "}, "content is required"),
                          ({"content": 5}, "content must be a string"),
                          ({"content": "x", "tags": [1]}, "tags must be a list of strings"),
                          ({"content": "x", "id": "mem-mine"}, "id cannot be set by clients"),
                          ({"content": "x", "recalledCount": 9}, "recalledCount cannot be set by clients"),
                          ({"content": "x", "agentName": 3}, "agentName must be a string"),
                          ({"content": "x", "namespace": 5}, "namespace must be a string"),
                          ({"content": "x", "promtp": "y"}, "promtp: unknown field"),
                          ({"content": "x", "tags": ["a"], "Tags": ["b"]}, "Tags: unknown field")]:
        response = send(api, "POST", "/api/v1/memories", body)
        assert response.status_code == 400 and response.get_json() == err(400, message), body
    assert api.get("/api/v1/memories?includeDisabled=true&includeDeleted=true", headers=AUTH).get_json() == {
        "items": [], "metadata": {}}


def test_list_is_newest_updated_first_and_pages_by_cursor(api):
    made = [create(api, content=f"fact {i}")["id"] for i in range(5)]
    send(api, "PUT", f"/api/v1/memories/{made[0]}", {"content": "fact 0, revised"})
    first = api.get("/api/v1/memories?limit=2", headers=AUTH).get_json()
    assert ids(first) == [made[0], made[4]]
    rest = api.get(f"/api/v1/memories?limit=3&continue={first['metadata']['continue']}", headers=AUTH).get_json()
    assert ids(rest) == [made[3], made[2], made[1]] and rest["metadata"] == {}


def test_list_limits_default_50_and_clamp_200(api):
    for _ in range(3):
        create(api, content="x")
    assert api.get("/api/v1/memories?limit=0", headers=AUTH).get_json() == err(400, "limit must be at least 1")
    assert api.get("/api/v1/memories?limit=x", headers=AUTH).get_json() == err(400, "invalid limit parameter: x")
    assert api.get("/api/v1/memories?includeDisabled=maybe", headers=AUTH).get_json() == err(
        400, "invalid includeDisabled parameter: maybe")
    assert len(api.get("/api/v1/memories?limit=999", headers=AUTH).get_json()["items"]) == 3


def test_search_by_text_tags_and_context(api):
    a = create(api, content="The staging cluster is eu-west-1", tags=["infra", "staging"], agentName="ops")["id"]
    b = create(api, content="Prod deploys need two approvals", tags=["infra", "prod"], taskName="t9")["id"]
    c = create(api, content="Use ruff for lint", tags=["python"], sessionName="s1", source="chat")["id"]
    get = lambda q: ids(api.get(f"/api/v1/memories?{q}", headers=AUTH).get_json())  # noqa: E731
    assert get("q=STAGING") == [a]
    assert get("query=prod") == [b]                 # matches a tag and the content
    assert get("q=python") == [c]                   # tag-only match
    assert get("tags=infra") == [b, a]
    assert get("tags=INFRA,prod") == [b]            # every tag must match
    assert get("agentName=ops") == [a] and get("taskName=t9") == [b]
    assert get("sessionName=s1&source=chat") == [c]
    assert get(f"ids={a},{c},mem-missing") == [c, a]


def test_put_is_a_partial_merge(api):
    m = create(api, content="old", tags=["a"], agentName="ops")
    response = send(api, "PUT", f"/api/v1/memories/{m['id']}", {"tags": ["B", "b"], "taskName": "t2"})
    assert response.status_code == 200
    body = response.get_json()
    assert body["content"] == "old" and body["tags"] == ["b"] and body["agentName"] == "ops"
    assert body["taskName"] == "t2" and body["updatedAt"] > m["updatedAt"] and body["createdAt"] == m["createdAt"]


def test_bad_updates_are_400_and_change_nothing(api):
    m = create(api, content="keep")
    for body, message in [("{", "invalid request body"), ({"content": ""}, "content is required"),
                          ({"disabled": False}, "disabled can only be set to true"),
                          ({"deleted": False}, "deleted can only be set to true"),
                          ({"id": "x"}, "id cannot be set by clients"),
                          ({"tags": "a,b", "content": 1}, "content must be a string"),
                          ({"contnet": "typo"}, "contnet: unknown field")]:
        response = send(api, "PUT", f"/api/v1/memories/{m['id']}", body)
        assert response.status_code == 400 and response.get_json() == err(400, message), body
    assert api.get(f"/api/v1/memories/{m['id']}", headers=AUTH).get_json() == m


def test_disable_enable_and_include_disabled(api):
    m = create(api, content="sometimes")["id"]
    response = api.post(f"/api/v1/memories/{m}/disable", headers=AUTH)
    assert response.status_code == 204 and response.data == b""
    assert ids(api.get("/api/v1/memories", headers=AUTH).get_json()) == []
    listed = api.get("/api/v1/memories?includeDisabled=true", headers=AUTH).get_json()["items"]
    assert [x["disabled"] for x in listed] == [True]
    assert api.post(f"/api/v1/memories/{m}/enable", headers=AUTH).status_code == 204
    assert ids(api.get("/api/v1/memories", headers=AUTH).get_json()) == [m]


def test_put_can_disable_and_soft_delete(api):
    m = create(api, content="x")["id"]
    assert send(api, "PUT", f"/api/v1/memories/{m}", {"disabled": True}).get_json()["disabled"] is True
    body = send(api, "PUT", f"/api/v1/memories/{m}", {"deleted": True}).get_json()
    assert body["deleted"] is True and body["disabled"] is True


def test_delete_is_soft_and_hidden_unless_include_deleted(api):
    m = create(api, content="gone soon")["id"]
    assert api.delete(f"/api/v1/memories/{m}", headers=AUTH).status_code == 204
    assert ids(api.get("/api/v1/memories?includeDisabled=true", headers=AUTH).get_json()) == []
    listed = api.get("/api/v1/memories?includeDeleted=true", headers=AUTH).get_json()["items"]
    assert [(x["id"], x["deleted"], x["disabled"]) for x in listed] == [(m, True, True)]
    assert api.get(f"/api/v1/memories/{m}", headers=AUTH).get_json() == err(404, "memory not found")
    assert api.get(f"/api/v1/memories/{m}?includeDeleted=true", headers=AUTH).get_json()["deleted"] is True
    # enabling (or touching) a deleted memory is 404
    assert api.post(f"/api/v1/memories/{m}/enable", headers=AUTH).get_json() == err(404, "memory not found")
    assert send(api, "PUT", f"/api/v1/memories/{m}", {"content": "x"}).get_json() == err(404, "memory not found")
    assert api.delete(f"/api/v1/memories/{m}", headers=AUTH).get_json() == err(404, "memory not found")


def test_missing_memory_is_404_everywhere(api):
    for method, path in [("GET", "/api/v1/memories/mem-x"), ("PUT", "/api/v1/memories/mem-x"),
                         ("DELETE", "/api/v1/memories/mem-x"), ("POST", "/api/v1/memories/mem-x/disable"),
                         ("POST", "/api/v1/memories/mem-x/enable")]:
        response = send(api, method, path, {"content": "x"} if method == "PUT" else None)
        assert response.status_code == 404 and response.get_json() == err(404, "memory not found"), path


def test_namespaces_are_isolated(api):
    m = create(api, content="team b fact", namespace="team-b")
    assert m["namespace"] == "team-b"
    assert ids(api.get("/api/v1/memories", headers=AUTH).get_json()) == []
    assert ids(api.get("/api/v1/memories?namespace=team-b", headers=AUTH).get_json()) == [m["id"]]
    assert api.get(f"/api/v1/memories/{m['id']}", headers=AUTH).status_code == 404
