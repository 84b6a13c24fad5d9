"""ServiceAccount tokens via TokenReview and authorization via SubjectAccessReview (fake Kubernetes API)."""

from __future__ import annotations

import pytest

from shared.catalog.secrets import auth_router
from tests.conftest import AUTH
from tests.support.apps import router_client

SA_TOKEN = "sa-token-team-a"
USER = {"username": "system:serviceaccount:team-a:builder", "uid": "u-1",
        "groups": ["system:serviceaccounts", "system:serviceaccounts:team-a", "system:authenticated"],
        "extra": {"authentication.kubernetes.io/pod-name": ["builder-0"]}}


def err(code: int, message: str) -> dict:
    return {"error": {"code": code, "message": message}}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def kube(fake_kube):
    fake_kube.tokens[SA_TOKEN] = {"authenticated": True, "user": USER}
    return fake_kube


def reviews(kube, kind: str) -> list[dict]:
    return [r for r in kube.requests if r["path"].endswith(kind)]


def test_service_account_token_resolves_to_its_namespace(kube):
    response = router_client(auth_router).get("/api/v1/auth/validate", headers=bearer(SA_TOKEN))
    assert response.status_code == 200
    assert response.get_json() == {"authenticated": True, "kind": "serviceaccount", "subject": USER["username"],
                                   "username": USER["username"], "namespace": "team-a", "groups": USER["groups"]}
    [review] = reviews(kube, "tokenreviews")
    assert review["body"]["spec"] == {"token": SA_TOKEN}
    assert review["headers"]["Authorization"] == "Bearer reviewer-token"


def test_token_reviews_are_cached_by_token_hash(kube):
    client = router_client(auth_router)
    for _ in range(3):
        assert client.get("/api/v1/auth/validate", headers=bearer(SA_TOKEN)).status_code == 200
    assert len(reviews(kube, "tokenreviews")) == 1


def test_audiences_are_sent_and_must_be_confirmed(kube, monkeypatch):
    from shared.config import reset_settings

    monkeypatch.setenv("SHOAL_TOKEN_AUDIENCES", "https://shoal.example")
    reset_settings()
    client = router_client(auth_router)
    assert client.get("/api/v1/auth/validate", headers=bearer(SA_TOKEN)).status_code == 200
    assert reviews(kube, "tokenreviews")[-1]["body"]["spec"]["audiences"] == ["https://shoal.example"]


@pytest.mark.parametrize("headers,message", [
    ({}, "missing authorization header"), ({"Authorization": "Basic abc"}, "invalid authorization header format"),
    ({"Authorization": "Bearer"}, "invalid authorization header format"), (bearer("unknown"), "invalid token")])
def test_401_messages(kube, headers, message):
    response = router_client(auth_router).get("/api/v1/auth/validate", headers=headers)
    assert response.status_code == 401 and response.get_json() == err(401, message)


def test_x_api_key_carries_a_token_too(kube):
    response = router_client(auth_router).get("/api/v1/auth/validate", headers={"x-api-key": SA_TOKEN})
    assert response.status_code == 200 and response.get_json()["namespace"] == "team-a"


def test_without_a_kubernetes_api_no_token_review_happens(function_client):
    tasks = function_client("tasks")
    assert tasks.get("/api/v1/tasks", headers=bearer(SA_TOKEN)).get_json() == err(401, "invalid token")
    assert tasks.get("/api/v1/tasks", headers=AUTH).status_code == 200


def test_dev_token_only_under_the_local_platform(function_client, monkeypatch):
    from shared.config import reset_settings

    tasks = function_client("tasks")
    monkeypatch.setenv("SHOAL_PLATFORM", "cluster")
    reset_settings()
    assert tasks.get("/api/v1/tasks", headers=AUTH).get_json() == err(401, "invalid token")


def test_apiserver_failure_is_503_not_a_silent_401(function_client, monkeypatch):
    from shared.config import reset_settings
    from shared.kube import reset_client

    monkeypatch.setenv("SHOAL_KUBE_API_URL", "http://127.0.0.1:9")  # nothing listens
    reset_settings()
    reset_client()
    try:
        response = function_client("tasks").get("/api/v1/tasks", headers=bearer("whatever"))
    finally:
        reset_client()
    assert response.status_code == 503 and response.get_json() == err(503, "token review unavailable")


# -- SubjectAccessReview -----------------------------------------------------------------------------

def test_task_create_needs_rbac(kube, function_client):
    kube.authorize = lambda spec: spec["resourceAttributes"]["verb"] != "create"
    tasks = function_client("tasks")
    response = tasks.post("/api/v1/tasks", json={"name": "t1", "type": "ai", "prompt": "p"},
                          headers=bearer(SA_TOKEN))
    assert response.status_code == 403 and response.get_json() == err(403, "not authorized to create tasks")
    assert tasks.get("/api/v1/tasks/t1", headers=bearer(SA_TOKEN)).status_code == 404  # nothing stored
    sar = reviews(kube, "subjectaccessreviews")[0]["body"]["spec"]
    assert sar["user"] == USER["username"] and sar["groups"] == USER["groups"] and sar["uid"] == "u-1"
    assert sar["resourceAttributes"] == {"namespace": "team-a", "verb": "create", "group": "core.orka.ai",
                                         "resource": "tasks"}


def test_allowed_create_lands_in_the_service_account_namespace(kube, function_client):
    tasks = function_client("tasks")
    response = tasks.post("/api/v1/tasks", json={"name": "t2", "type": "ai", "prompt": "p"},
                          headers=bearer(SA_TOKEN))
    assert response.status_code == 201 and response.get_json()["metadata"]["namespace"] == "team-a"
    assert "requestedBy" not in response.get_json()["spec"]  # stamped for OIDC and Txn-Token only


@pytest.mark.parametrize("method,path,verb,name", [
    ("GET", "/api/v1/tasks", "list", None), ("GET", "/api/v1/tasks/t9", "get", "t9"),
    ("DELETE", "/api/v1/tasks/t9", "delete", "t9"), ("GET", "/api/v1/tasks/t9/result", "get", "t9")])
def test_every_task_route_asks_rbac_with_its_verb(kube, function_client, method, path, verb, name):
    kube.authorize = lambda spec: False
    response = function_client("tasks").open(path, method=method, headers=bearer(SA_TOKEN))
    assert response.status_code == 403
    assert response.get_json() == err(403, f"not authorized to {verb} tasks")
    attrs = reviews(kube, "subjectaccessreviews")[-1]["body"]["spec"]["resourceAttributes"]
    assert attrs["verb"] == verb and attrs.get("name") == name and attrs["namespace"] == "team-a"


def test_delete_denied_by_rbac_deletes_nothing(kube, function_client):
    """Orka #464: a TokenReview caller could delete what RBAC denies."""
    tasks = function_client("tasks")
    assert tasks.post("/api/v1/tasks", json={"name": "keep", "type": "ai", "prompt": "p"},
                      headers=AUTH, query_string={"namespace": "team-a"}).status_code == 201
    kube.authorize = lambda spec: spec["resourceAttributes"]["verb"] != "delete"
    assert tasks.delete("/api/v1/tasks/keep", headers=bearer(SA_TOKEN)).status_code == 403
    assert tasks.get("/api/v1/tasks/keep", headers=bearer(SA_TOKEN)).status_code == 200


def test_other_namespace_only_when_rbac_allows_it(kube, function_client):
    tasks = function_client("tasks")
    kube.authorize = lambda spec: spec["resourceAttributes"]["namespace"] == "team-a"
    response = tasks.get("/api/v1/tasks?namespace=team-b", headers=bearer(SA_TOKEN))
    assert response.status_code == 403
    assert response.get_json() == err(403, 'namespace "team-b" not allowed, restricted to "team-a"')
    kube.authorize = lambda spec: True
    assert tasks.get("/api/v1/tasks?namespace=team-c", headers=bearer(SA_TOKEN)).status_code == 200


def test_body_namespace_is_checked_too(kube, function_client):
    kube.authorize = lambda spec: spec["resourceAttributes"]["namespace"] == "team-a"
    response = function_client("tasks").post(
        "/api/v1/tasks", json={"name": "t3", "namespace": "team-b", "type": "ai", "prompt": "p"},
        headers=bearer(SA_TOKEN))
    assert response.status_code == 403
    assert response.get_json() == err(403, 'namespace "team-b" not allowed, restricted to "team-a"')


def test_worker_api_takes_service_accounts_of_its_own_namespace(kube, function_client):
    internal = function_client("internal")
    response = internal.post("/internal/v1/results/team-b/t", data=b"x", headers=bearer(SA_TOKEN))
    assert response.status_code == 403 and response.get_json() == err(403, "cross-namespace access denied")
    response = internal.post("/internal/v1/results/team-a/missing", data=b"x", headers=bearer(SA_TOKEN))
    assert response.status_code == 404  # authorized; the task does not exist
    assert not reviews(kube, "subjectaccessreviews")  # the worker API does not ask RBAC


def test_non_service_account_users_are_decided_by_rbac(kube, function_client):
    kube.tokens["human"] = {"authenticated": True, "user": {"username": "jane@example.com", "groups": ["devs"]}}
    kube.authorize = lambda spec: spec["resourceAttributes"]["namespace"] == "default"
    tasks = function_client("tasks")
    assert tasks.get("/api/v1/tasks", headers=bearer("human")).status_code == 200
    assert tasks.get("/api/v1/tasks?namespace=prod", headers=bearer("human")).status_code == 403
    response = function_client("internal").post("/internal/v1/results/default/t", data=b"x", headers=bearer("human"))
    assert response.status_code == 401 and response.get_json() == err(401, "invalid token")
