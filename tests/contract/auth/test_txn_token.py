"""Txn-Token authentication, scope authorization and server stamping on task create."""

from __future__ import annotations

import pytest

from shared.catalog.secrets import auth_router
from tests.support.apps import router_client
from tests.support.idp import IdentityProvider, rsa_key

INVALID = {"error": {"code": 401, "message": "invalid token"}}
TCTX = {"namespace": "team-t", "action": "BUY", "ticker": "MSFT"}


@pytest.fixture
def idp(monkeypatch):
    from shared.config import reset_settings

    with IdentityProvider() as server:
        monkeypatch.setenv("ORKA_CONTEXT_TOKEN_PROFILE", "kontxt")
        monkeypatch.setenv("ORKA_CONTEXT_TOKEN_ISSUER", server.issuer)
        monkeypatch.setenv("ORKA_CONTEXT_TOKEN_AUDIENCE", "trust-domain.example")
        monkeypatch.setenv("SHOAL_AUTH_ALLOW_HTTP", "true")
        monkeypatch.setenv("SHOAL_OUTBOUND_ALLOW", "127.0.0.1")
        reset_settings()
        yield server


def txn_token(idp, *, typ: str = "txntoken+jwt", **claims) -> str:
    body = {"aud": "trust-domain.example", "txn": "97053963-771d-49cc-a4e3-20aad399c312",
            "sub": "d084sdrt234fsaw34tr23t", "req_wl": "apigateway.trust-domain.example",
            "scope": "orka:tasks:create orka:tasks:read", "tctx": TCTX, "rctx": {"req_ip": "69.151.72.123"},
            **claims}
    return idp.mint(body, headers={"typ": typ})


def test_txn_token_header_authenticates(idp):
    client = router_client(auth_router)
    response = client.get("/api/v1/auth/validate", headers={"Txn-Token": txn_token(idp)})
    assert response.status_code == 200
    assert response.get_json() == {"authenticated": True, "kind": "txn", "subject": "d084sdrt234fsaw34tr23t",
                                   "username": "d084sdrt234fsaw34tr23t", "namespace": "team-t", "groups": []}
    assert idp.requests == ["/.well-known/jwks.json"]


def test_bearer_txn_token_refused_unless_configured(idp, monkeypatch):
    from shared.config import reset_settings

    client = router_client(auth_router)
    headers = {"Authorization": f"Bearer {txn_token(idp)}"}
    response = client.get("/api/v1/auth/validate", headers=headers)
    assert response.status_code == 401
    assert response.get_json() == {"error": {"code": 401,
                                             "message": "context tokens must be sent in the Txn-Token header"}}
    monkeypatch.setenv("ORKA_CONTEXT_TOKEN_HEADERS", "Txn-Token,Authorization:Bearer")
    reset_settings()
    assert client.get("/api/v1/auth/validate", headers=headers).status_code == 200


def test_without_configuration_the_header_is_not_a_credential(idp, monkeypatch):
    from shared.config import reset_settings

    monkeypatch.delenv("ORKA_CONTEXT_TOKEN_ISSUER")
    reset_settings()
    response = router_client(auth_router).get("/api/v1/auth/validate", headers={"Txn-Token": txn_token(idp)})
    assert response.status_code == 401
    assert response.get_json() == {"error": {"code": 401, "message": "missing authorization header"}}


@pytest.mark.parametrize("case", ["typ_jwt", "typ_legacy", "no_typ", "no_txn", "no_scope", "no_req_wl", "no_iat",
                                  "empty_sub", "wrong_aud", "wrong_iss", "expired", "unknown_kid", "no_kid"])
def test_bad_txn_tokens_are_401(idp, case):
    import jwt

    token = {
        "typ_jwt": lambda: txn_token(idp, typ="JWT"),
        "typ_legacy": lambda: txn_token(idp, typ="txn_token"),
        "no_typ": lambda: jwt.encode({"aud": "trust-domain.example", "iss": idp.issuer, "sub": "s", "txn": "t",
                                      "scope": "s", "req_wl": "w", "iat": 1, "exp": 9_999_999_999},
                                     idp.keys["k1"], algorithm="RS256", headers={"kid": "k1", "typ": None}),
        "no_txn": lambda: txn_token(idp, txn=None),
        "no_scope": lambda: txn_token(idp, scope=None),
        "no_req_wl": lambda: txn_token(idp, req_wl=None),
        "no_iat": lambda: txn_token(idp, iat=None),
        "empty_sub": lambda: txn_token(idp, sub=" "),
        "wrong_aud": lambda: txn_token(idp, aud="elsewhere"),
        "wrong_iss": lambda: txn_token(idp, iss="https://other.example"),
        "expired": lambda: txn_token(idp, exp=1_000_000, iat=999_000, nbf=None),
        "unknown_kid": lambda: idp.mint({"aud": "trust-domain.example", "txn": "t", "scope": "s", "req_wl": "w"},
                                        kid="nope", key=rsa_key("nope"), headers={"typ": "txntoken+jwt"}),
        "no_kid": lambda: jwt.encode({"aud": "trust-domain.example", "iss": idp.issuer, "sub": "s", "txn": "t",
                                      "scope": "s", "req_wl": "w", "iat": 1, "exp": 9_999_999_999},
                                     idp.keys["k1"], algorithm="RS256", headers={"typ": "txntoken+jwt"}),
    }[case]()
    response = router_client(auth_router).get("/api/v1/auth/validate", headers={"Txn-Token": token})
    assert response.status_code == 401 and response.get_json() == INVALID


def test_task_create_stamps_requested_by_transaction_labels_and_annotations(idp, function_client):
    tasks = function_client("tasks")
    response = tasks.post("/api/v1/tasks", json={"name": "buy", "type": "ai", "prompt": "p"},
                          headers={"Txn-Token": txn_token(idp)})
    assert response.status_code == 201, response.get_json()
    task = response.get_json()
    assert task["metadata"]["namespace"] == "team-t"
    assert task["spec"]["requestedBy"] == {"subject": "d084sdrt234fsaw34tr23t", "issuer": idp.issuer,
                                           "username": "d084sdrt234fsaw34tr23t"}
    tx = task["spec"]["transaction"]
    assert tx["id"] == "97053963-771d-49cc-a4e3-20aad399c312" and tx["profile"] == "kontxt"
    assert tx["requestingWorkload"] == "apigateway.trust-domain.example"
    assert tx["scopes"] == ["orka:tasks:create", "orka:tasks:read"] and tx["context"] == TCTX
    assert tx["contextDigest"].startswith("sha256:") and tx["requesterContextDigest"].startswith("sha256:")
    assert task["metadata"]["labels"]["orka.ai/transaction-id"] == tx["id"]
    assert task["metadata"]["labels"]["orka.ai/auth-profile"] == "kontxt"
    assert task["metadata"]["annotations"]["orka.ai/transaction-context-digest"] == tx["contextDigest"]


@pytest.mark.parametrize("body,message", [
    ({"name": "x", "type": "ai", "prompt": "p", "requestedBy": {"subject": "me"}}, "requestedBy cannot be set by clients"),
    ({"name": "x", "spec": {"type": "ai", "prompt": "p", "Transaction": {}}}, "spec.transaction cannot be set by clients"),
])
def test_clients_cannot_send_stamped_fields(idp, function_client, body, message):
    tasks = function_client("tasks")
    response = tasks.post("/api/v1/tasks", json=body, headers={"Txn-Token": txn_token(idp)})
    assert response.status_code == 400 and response.get_json() == {"error": {"code": 400, "message": message}}


def test_other_namespace_is_forbidden(idp, function_client):
    tasks = function_client("tasks")
    response = tasks.get("/api/v1/tasks?namespace=other", headers={"Txn-Token": txn_token(idp)})
    assert response.status_code == 403
    assert response.get_json() == {"error": {"code": 403,
                                             "message": 'namespace "other" not allowed, restricted to "team-t"'}}


def test_no_tctx_namespace_needs_a_namespace_bound_identity(idp, function_client):
    tasks = function_client("tasks")
    response = tasks.get("/api/v1/tasks", headers={"Txn-Token": txn_token(idp, tctx={"action": "x"})})
    assert response.status_code == 403
    assert response.get_json() == {"error": {"code": 403, "message": "namespace-bound identity required"}}


def test_scope_enforcement_modes(idp, function_client, monkeypatch):
    from shared.config import reset_settings

    tasks = function_client("tasks")
    token = txn_token(idp, scope="orka:tasks:read")
    body = {"name": "scoped", "type": "ai", "prompt": "p"}
    # off (default) and audit: allowed (audit only logs)
    for mode in ("off", "audit"):
        monkeypatch.setenv("ORKA_CONTEXT_TOKEN_AUTHORIZATION_MODE", mode)
        reset_settings()
        assert tasks.get("/api/v1/tasks", headers={"Txn-Token": token}).status_code == 200
    monkeypatch.setenv("ORKA_CONTEXT_TOKEN_AUTHORIZATION_MODE", "enforce")
    reset_settings()
    assert tasks.get("/api/v1/tasks", headers={"Txn-Token": token}).status_code == 200  # read granted
    response = tasks.post("/api/v1/tasks", json=body, headers={"Txn-Token": token})
    assert response.status_code == 403
    assert response.get_json() == {"error": {"code": 403,
                                             "message": "context token is not authorized for create tasks"}}
    assert tasks.get("/api/v1/tasks/scoped", headers={"Txn-Token": token}).status_code == 404  # nothing stored
    wildcard = txn_token(idp, scope="orka:tasks:*")
    assert tasks.post("/api/v1/tasks", json=body, headers={"Txn-Token": wildcard}).status_code == 201
