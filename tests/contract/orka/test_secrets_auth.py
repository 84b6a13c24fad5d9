"""Contract: GET /api/v1/secrets (names only, from Kubernetes) and GET /api/v1/auth/validate."""

from __future__ import annotations

import base64

import pytest

from tests.conftest import AUTH
from tests.support.leak_scan import PLANTED_SECRETS, leak_scan  # noqa: F401  (fixture)


def err(code: int, message: str) -> dict:
    return {"error": {"code": code, "message": message}}


def b64(value: str) -> str:
    return base64.b64encode(value.encode()).decode()


@pytest.fixture
def api(function_client, fake_kube, leak_scan):  # noqa: F811
    fake_kube.add("/api/v1", "secrets", "default", {
        "metadata": {"name": "tavily-secret"}, "type": "Opaque", "data": {"api-key": b64(PLANTED_SECRETS[0])}})
    fake_kube.add("/api/v1", "secrets", "default", {
        "metadata": {"name": "db"}, "type": "kubernetes.io/basic-auth",
        "data": {"password": b64(PLANTED_SECRETS[2])}, "stringData": {"username": "admin"}})
    fake_kube.add("/api/v1", "secrets", "default", {
        "metadata": {"name": "builder-token-x1"}, "type": "kubernetes.io/service-account-token",
        "data": {"token": b64(PLANTED_SECRETS[3])}})
    fake_kube.add("/api/v1", "secrets", "team-b", {
        "metadata": {"name": "other-ns"}, "type": "Opaque", "data": {"k": b64(PLANTED_SECRETS[1])}})
    return leak_scan.watch(function_client("catalog"))


def test_secrets_and_auth_routes_without_credentials_are_401(api):
    for path in ("/api/v1/secrets", "/api/v1/auth/validate"):
        response = api.get(path)
        assert response.status_code == 401 and response.get_json() == err(401, "missing authorization header")
    assert api.get("/api/v1/secrets", headers={"Authorization": "Bearer wrong"}).get_json() == err(401, "invalid token")


def test_list_returns_names_and_types_only_without_service_account_tokens(api, fake_kube):
    response = api.get("/api/v1/secrets", headers=AUTH)
    assert response.status_code == 200
    assert response.get_json() == {"items": [
        {"name": "db", "namespace": "default", "type": "kubernetes.io/basic-auth"},
        {"name": "tavily-secret", "namespace": "default", "type": "Opaque"}], "metadata": {}}
    listed = [r for r in fake_kube.requests if r["path"] == "/api/v1/namespaces/default/secrets"]
    assert listed and listed[0]["method"] == "GET" and listed[0]["query"]["limit"] == "100"


def test_list_follows_the_namespace_parameter(api):
    body = api.get("/api/v1/secrets?namespace=team-b", headers=AUTH).get_json()
    assert body == {"items": [{"name": "other-ns", "namespace": "team-b", "type": "Opaque"}], "metadata": {}}


def test_bad_limit_is_400(api):
    assert api.get("/api/v1/secrets?limit=0", headers=AUTH).get_json() == err(400, "limit must be at least 1")


def test_auth_validate_returns_authenticated_and_public_principal_fields(api):
    response = api.get("/api/v1/auth/validate", headers=AUTH)
    assert response.status_code == 200
    assert response.get_json() == {"authenticated": True, "kind": "dev", "subject": "dev", "username": "dev",
                                   "namespace": None, "groups": ["system:authenticated"]}
