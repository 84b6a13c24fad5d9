"""Contract: GET /api/v1/auth/whoami (Orka's handleAuthWhoAmI field names, sanitised) and OIDC
admission without a subject allow-list (issue 19: issuer and audience are the spec's only
requirements; the allow-list stays optional)."""

from __future__ import annotations

import pytest

from shared.catalog.secrets import auth_router
from tests.conftest import AUTH
from tests.support.apps import router_client
from tests.support.idp import IdentityProvider

INVALID = {"error": {"code": 401, "message": "invalid token"}}
SA_TOKEN = "sa-token-team-w"
SA_USER = {"username": "system:serviceaccount:team-w:builder", "uid": "u-7",
           "groups": ["system:serviceaccounts", "system:authenticated"],
           "extra": {"authentication.kubernetes.io/pod-name": ["builder-0"]}}


@pytest.fixture
def client():
    return router_client(auth_router)


@pytest.fixture
def idp(monkeypatch):
    from shared.config import reset_settings

    with IdentityProvider() as server:
        monkeypatch.setenv("ORKA_OIDC_ISSUER", server.issuer)
        monkeypatch.setenv("ORKA_OIDC_AUDIENCE", "shoal")
        monkeypatch.delenv("ORKA_OIDC_ALLOWED_SUBJECTS", raising=False)
        monkeypatch.setenv("ORKA_OIDC_NAMESPACE", "team-o")
        monkeypatch.setenv("ORKA_CONTEXT_TOKEN_PROFILE", "kontxt")
        monkeypatch.setenv("ORKA_CONTEXT_TOKEN_ISSUER", server.issuer + "/txn")
        monkeypatch.setenv("ORKA_CONTEXT_TOKEN_AUDIENCE", "trust-domain.example")
        monkeypatch.setenv("ORKA_CONTEXT_TOKEN_JWKS_URL", server.jwks_url)
        monkeypatch.setenv("SHOAL_AUTH_ALLOW_HTTP", "true")
        monkeypatch.setenv("SHOAL_OUTBOUND_ALLOW", "127.0.0.1")
        reset_settings()
        yield server


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_whoami_without_credentials_is_401(client):
    response = client.get("/api/v1/auth/whoami")
    assert response.status_code == 401
    assert response.get_json() == {"error": {"code": 401, "message": "missing authorization header"}}
    bad = client.get("/api/v1/auth/whoami", headers=bearer("not-a-token"))
    assert bad.status_code == 401 and bad.get_json() == INVALID


def test_whoami_of_the_dev_principal(client):
    response = client.get("/api/v1/auth/whoami", headers=AUTH)
    assert response.status_code == 200
    assert response.get_json() == {"authenticated": True, "kind": "dev", "authType": "dev", "username": "dev", "uid": "",
                                   "groups": ["system:authenticated"], "namespace": "", "subject": "dev",
                                   "email": "", "issuer": "", "roles": []}


def test_whoami_of_a_service_account_is_token_review_and_carries_no_extra(fake_kube, client):
    fake_kube.tokens[SA_TOKEN] = {"authenticated": True, "user": SA_USER}
    response = client.get("/api/v1/auth/whoami", headers=bearer(SA_TOKEN))
    assert response.status_code == 200
    assert response.get_json() == {"authenticated": True, "kind": "serviceaccount", "authType": "tokenReview", "username": SA_USER["username"],
                                   "uid": "u-7", "groups": SA_USER["groups"], "namespace": "team-w",
                                   "subject": SA_USER["username"], "email": "", "issuer": "", "roles": []}
    assert "builder-0" not in response.get_data(as_text=True)  # token-review extras stay inside


def test_whoami_of_an_oidc_caller(idp, client):
    token = idp.mint(aud="shoal", sub="carol", preferred_username="carol@corp", email="carol@example.com",
                     groups=["devs"], roles=["admin"])
    response = client.get("/api/v1/auth/whoami", headers=bearer(token))
    assert response.status_code == 200
    assert response.get_json() == {"authenticated": True, "kind": "oidc", "authType": "oidc", "username": "carol@corp", "uid": "",
                                   "groups": ["devs"], "namespace": "team-o", "subject": "carol",
                                   "email": "carol@example.com", "issuer": idp.issuer, "roles": ["admin"]}


def test_whoami_of_a_txn_token_names_the_transaction_and_hides_its_context(idp, client):
    secret_context = "do-not-print-0b5e"
    token = idp.mint({"iss": idp.issuer + "/txn", "aud": "trust-domain.example", "txn": "txn-1", "sub": "svc-a",
                      "req_wl": "worker-a", "scope": "orka:tasks:get orka:tasks:list",
                      "tctx": {"namespace": "team-t", "token": secret_context},
                      "rctx": {"secret": secret_context}}, headers={"typ": "txntoken+jwt"})
    response = client.get("/api/v1/auth/whoami", headers={"Txn-Token": token})
    assert response.status_code == 200
    body = response.get_json()
    assert body["kind"] == "txn" and body["authType"] == "contextToken" and body["namespace"] == "team-t" and body["username"] == "svc-a"
    assert body["transaction"] == {"profile": "kontxt", "type": "txntoken+jwt", "id": "txn-1",
                                   "issuer": idp.issuer + "/txn", "subject": "svc-a",
                                   "audience": ["trust-domain.example"], "scope": "orka:tasks:get orka:tasks:list",
                                   "scopes": ["orka:tasks:get", "orka:tasks:list"], "requestingWorkload": "worker-a"}
    assert secret_context not in response.get_data(as_text=True)
    assert token not in response.get_data(as_text=True)


# -- OIDC without an allow-list ---------------------------------------------------------------------
def test_oidc_without_an_allow_list_admits_any_valid_subject(idp, client):
    for subject in ("alice", "someone-else", "svc:ci"):
        response = client.get("/api/v1/auth/validate", headers=bearer(idp.mint(aud="shoal", sub=subject)))
        assert response.status_code == 200, subject
        assert response.get_json()["subject"] == subject and response.get_json()["kind"] == "oidc"


def test_oidc_without_an_allow_list_still_checks_the_token(idp, client):
    assert client.get("/api/v1/auth/validate", headers=bearer(idp.mint(aud="other"))).get_json() == INVALID
    assert client.get("/api/v1/auth/validate", headers=bearer(idp.mint(aud="shoal", exp=1))).get_json() == INVALID


def test_the_allow_list_stays_an_option(idp, client, monkeypatch):
    from shared.config import reset_settings

    monkeypatch.setenv("ORKA_OIDC_ALLOWED_SUBJECTS", "alice,svc-*")
    reset_settings()
    assert client.get("/api/v1/auth/validate", headers=bearer(idp.mint(aud="shoal", sub="svc-ci"))).status_code == 200
    denied = client.get("/api/v1/auth/validate", headers=bearer(idp.mint(aud="shoal", sub="mallory")))
    assert denied.status_code == 401 and denied.get_json() == INVALID


def test_an_admitted_oidc_caller_is_still_bound_to_its_namespace(idp, function_client):
    tasks = function_client("tasks")
    token = idp.mint(aud="shoal", sub="dave")
    response = tasks.get("/api/v1/tasks?namespace=other", headers=bearer(token))
    assert response.status_code == 403
    assert response.get_json() == {"error": {"code": 403,
                                             "message": 'namespace "other" not allowed, restricted to "team-o"'}}
    assert tasks.get("/api/v1/tasks", headers=bearer(token)).status_code == 200
