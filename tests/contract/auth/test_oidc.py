"""OIDC JWT authentication against a loopback identity provider (discovery + JWKS over HTTP)."""

from __future__ import annotations

import base64
import json

import pytest

from shared.catalog.secrets import auth_router
from tests.support.apps import router_client
from tests.support.idp import IdentityProvider, public_jwk, rsa_key

INVALID = {"error": {"code": 401, "message": "invalid token"}}


@pytest.fixture
def idp(monkeypatch):
    from shared.config import reset_settings

    with IdentityProvider() as server:
        monkeypatch.setenv("ORKA_OIDC_ISSUER", server.issuer)
        monkeypatch.setenv("ORKA_OIDC_AUDIENCE", "shoal")
        monkeypatch.setenv("ORKA_OIDC_ALLOWED_SUBJECTS", "alice,svc-*,b?b")
        monkeypatch.setenv("ORKA_OIDC_NAMESPACE", "team-a")
        monkeypatch.setenv("SHOAL_AUTH_ALLOW_HTTP", "true")
        monkeypatch.setenv("SHOAL_OUTBOUND_ALLOW", "127.0.0.1")
        reset_settings()
        yield server


@pytest.fixture
def client(idp):
    return router_client(auth_router)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_valid_token_resolves_through_discovery(idp, client):
    token = idp.mint(aud="shoal", preferred_username="alice@corp", email="alice@example.com",
                     groups=["devs"])
    response = client.get("/api/v1/auth/validate", headers=bearer(token))
    assert response.status_code == 200
    assert response.get_json() == {"authenticated": True, "kind": "oidc", "subject": "alice",
                                   "username": "alice@corp", "namespace": "team-a", "groups": ["devs"]}
    assert idp.requests[:2] == ["/.well-known/openid-configuration", "/jwks.json"]


def test_configured_jwks_url_skips_discovery(idp, client, monkeypatch):
    from shared.config import reset_settings

    monkeypatch.setenv("ORKA_OIDC_JWKS_URL", idp.jwks_url)
    reset_settings()
    response = client.get("/api/v1/auth/validate", headers=bearer(idp.mint(aud="shoal", sub="svc-ci")))
    assert response.status_code == 200 and response.get_json()["username"] == "svc-ci"
    assert "/.well-known/openid-configuration" not in idp.requests


@pytest.mark.parametrize("claims,username", [
    ({"preferred_username": "p", "email": "e", "name": "n"}, "p"), ({"email": "e", "name": "n"}, "e"),
    ({"name": "n"}, "n"), ({}, "alice")])
def test_username_is_the_first_present_claim(idp, client, claims, username):
    response = client.get("/api/v1/auth/validate", headers=bearer(idp.mint(claims, aud="shoal")))
    assert response.get_json()["username"] == username


def test_namespace_defaults_to_default(idp, client, monkeypatch):
    from shared.config import reset_settings

    monkeypatch.delenv("ORKA_OIDC_NAMESPACE")
    reset_settings()
    response = client.get("/api/v1/auth/validate", headers=bearer(idp.mint(aud="shoal")))
    assert response.get_json()["namespace"] == "default"


def _hs256_with_public_key(idp) -> str:
    """The classic key-confusion attack: HS256 whose secret is the RSA public key's PEM."""
    import hashlib
    import hmac

    from cryptography.hazmat.primitives import serialization

    pem = idp.keys["k1"].public_key().public_bytes(serialization.Encoding.PEM,
                                                     serialization.PublicFormat.SubjectPublicKeyInfo)

    def b64(obj) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()

    import time

    signing_input = f"{b64({'alg': 'HS256', 'typ': 'JWT', 'kid': 'k1'})}." \
                    f"{b64({'iss': idp.issuer, 'aud': 'shoal', 'sub': 'alice', 'exp': int(time.time()) + 300})}"
    sig = base64.urlsafe_b64encode(hmac.new(pem, signing_input.encode(), hashlib.sha256).digest()).rstrip(b"=")
    return f"{signing_input}.{sig.decode()}"


def _alg_none(idp) -> str:
    import time

    def b64(obj) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()

    return f"{b64({'alg': 'none', 'kid': 'k1'})}." \
           f"{b64({'iss': idp.issuer, 'aud': 'shoal', 'sub': 'alice', 'exp': int(time.time()) + 300})}."


@pytest.mark.parametrize("case", ["expired", "wrong_aud", "no_aud", "future_nbf", "no_exp", "no_sub",
                                  "alg_none", "hs256_public_key", "unknown_kid", "wrong_key", "tampered",
                                  "subject_not_allowed"])
def test_bad_tokens_are_401_invalid_token(idp, client, case):
    mint = idp.mint
    token = {
        "expired": lambda: mint(aud="shoal", lifetime=-3600),
        "wrong_aud": lambda: mint(aud="someone-else"),
        "no_aud": lambda: mint(),
        "future_nbf": lambda: mint(aud="shoal", nbf=9_999_999_999),
        "no_exp": lambda: mint(aud="shoal", exp=None),
        "no_sub": lambda: mint(aud="shoal", sub=None),
        "alg_none": lambda: _alg_none(idp),
        "hs256_public_key": lambda: _hs256_with_public_key(idp),
        "unknown_kid": lambda: mint(aud="shoal", kid="k9", key=rsa_key("k9")),
        "wrong_key": lambda: mint(aud="shoal", key=rsa_key("other")),
        "tampered": lambda: (lambda t: t[:-6] + ("AAAAAA" if not t.endswith("AAAAAA") else "BBBBBB"))(
            mint(aud="shoal")),
        "subject_not_allowed": lambda: mint(aud="shoal", sub="mallory"),
    }[case]()
    response = client.get("/api/v1/auth/validate", headers=bearer(token))
    assert response.status_code == 401
    assert response.get_json() == INVALID


def test_wrong_issuer_is_not_ours_and_stays_invalid(idp, client):
    token = idp.mint(aud="shoal", iss="https://evil.example")
    response = client.get("/api/v1/auth/validate", headers=bearer(token))
    assert response.status_code == 401 and response.get_json() == INVALID


def test_empty_allow_list_admits_every_valid_token_of_the_issuer(idp, client, monkeypatch):
    from shared.config import reset_settings

    monkeypatch.setenv("ORKA_OIDC_ALLOWED_SUBJECTS", "")
    reset_settings()
    response = client.get("/api/v1/auth/validate", headers=bearer(idp.mint(aud="shoal", sub="mallory")))
    assert response.status_code == 200 and response.get_json()["subject"] == "mallory"


def test_rotated_key_is_fetched_on_unknown_kid(idp, client, monkeypatch):
    from shared.config import reset_settings

    monkeypatch.setenv("SHOAL_JWKS_REFRESH_COOLDOWN_SECONDS", "0")
    reset_settings()
    assert client.get("/api/v1/auth/validate", headers=bearer(idp.mint(aud="shoal"))).status_code == 200
    idp.keys["k2"] = rsa_key("k2")  # the provider rotates in a new key
    token = idp.mint(aud="shoal", kid="k2")
    assert client.get("/api/v1/auth/validate", headers=bearer(token)).status_code == 200
    assert idp.requests.count("/jwks.json") == 2


def test_http_issuer_needs_the_test_switch(idp, client, monkeypatch):
    from shared.config import reset_settings

    monkeypatch.setenv("SHOAL_AUTH_ALLOW_HTTP", "false")
    reset_settings()
    response = client.get("/api/v1/auth/validate", headers=bearer(idp.mint(aud="shoal")))
    assert response.status_code == 401 and idp.requests == []


def test_jwks_on_a_private_address_is_refused_by_the_ssrf_guard(idp, client, monkeypatch):
    from shared.config import reset_settings

    monkeypatch.delenv("SHOAL_OUTBOUND_ALLOW")
    reset_settings()
    response = client.get("/api/v1/auth/validate", headers=bearer(idp.mint(aud="shoal")))
    assert response.status_code == 401 and idp.requests == []


def test_rfc7515_a2_rs256_vector_is_refused(idp, client):
    """RFC 7515 A.2: a genuine RS256 JWS, but foreign (iss "joe", no kid, expired in 2011)."""
    token = ("eyJhbGciOiJSUzI1NiJ9."
             "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ."
             "cC4hiUPoj9Eetdgtv3hF80EGrhuB__dzERat0XF9g2VtQgr9PJbu3XOiZj5RZmh7AAuHIm4Bh-0Qc_lF5YKt_O8W2Fp5jujGbds9"
             "uJdbF9CUAr7t1dnZcAcQjbKBYNX4BAynRFdiuB--f_nZLgrnbyTyWzO75vRK5h6xBArLIARNPvkSjtQBMHlb1L07Qe7K0GarZRmB_"
             "eSN9383LcOLn6_dO--xi12jzDwusC-eOkHWEsqtFZESc6BfI7noOPqvhJ1phCnvWh6IeYI2w9QOYEUipUTI8np6LbgGY9Fs98rqVt"
             "5AXLIhWkWywlVmtVrBp0igcN_IoypGlUPQGe77Rw")
    response = client.get("/api/v1/auth/validate", headers=bearer(token))
    assert response.status_code == 401 and response.get_json() == INVALID


def test_rfc7515_a2_vector_verifies_with_its_key_but_our_verifier_requires_kid(idp, client, monkeypatch):
    """Serve the RFC's public key as our issuer's only key: the token still fails (no kid, wrong iss, expired)."""
    from shared.auth.jwks import TokenRejected, verify_rs256

    token = ("eyJhbGciOiJSUzI1NiJ9."
             "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ."
             "cC4hiUPoj9Eetdgtv3hF80EGrhuB__dzERat0XF9g2VtQgr9PJbu3XOiZj5RZmh7AAuHIm4Bh-0Qc_lF5YKt_O8W2Fp5jujGbds9"
             "uJdbF9CUAr7t1dnZcAcQjbKBYNX4BAynRFdiuB--f_nZLgrnbyTyWzO75vRK5h6xBArLIARNPvkSjtQBMHlb1L07Qe7K0GarZRmB_"
             "eSN9383LcOLn6_dO--xi12jzDwusC-eOkHWEsqtFZESc6BfI7noOPqvhJ1phCnvWh6IeYI2w9QOYEUipUTI8np6LbgGY9Fs98rqVt"
             "5AXLIhWkWywlVmtVrBp0igcN_IoypGlUPQGe77Rw")
    with pytest.raises(TokenRejected, match="no kid"):
        verify_rs256(token, jwks_url=idp.jwks_url, issuer="joe", audience="shoal", require=["exp"])


def test_rfc7515_a1_hs256_vector_is_refused_by_the_rs256_only_verifier(idp):
    from shared.auth.jwks import TokenRejected, verify_rs256

    token = ("eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9."
             "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ."
             "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk")
    with pytest.raises(TokenRejected, match="HS256"):
        verify_rs256(token, jwks_url=idp.jwks_url, issuer="joe", audience="shoal", require=["exp"])


def test_public_jwk_helper_round_trips():
    jwk = public_jwk(rsa_key("k1"), "k1")
    assert jwk["kty"] == "RSA" and jwk["kid"] == "k1" and "d" not in jwk


def test_task_create_stamps_requested_by(idp, function_client):
    tasks = function_client("tasks")
    token = idp.mint(aud="shoal", preferred_username="alice@corp", email="alice@example.com",
                     groups=["devs"], roles=["admin"])
    response = tasks.post("/api/v1/tasks", json={"name": "oidc-task", "type": "ai", "prompt": "p"},
                          headers=bearer(token))
    assert response.status_code == 201, response.get_json()
    task = response.get_json()
    assert task["metadata"]["namespace"] == "team-a"
    assert task["spec"]["requestedBy"] == {"subject": "alice", "issuer": idp.issuer, "username": "alice@corp",
                                           "email": "alice@example.com", "groups": ["devs"], "roles": ["admin"]}
    assert "transaction" not in task["spec"]
    assert not any(k.startswith("orka.ai/transaction") for k in task["metadata"]["labels"])


def test_oidc_caller_stays_in_its_namespace(idp, function_client):
    tasks = function_client("tasks")
    response = tasks.post("/api/v1/tasks", json={"name": "x", "namespace": "prod", "type": "ai", "prompt": "p"},
                          headers=bearer(idp.mint(aud="shoal")))
    assert response.status_code == 403
    assert response.get_json() == {"error": {"code": 403,
                                             "message": 'namespace "prod" not allowed, restricted to "team-a"'}}


# -- optional RBAC for OIDC callers (SHOAL_OIDC_RBAC) ---------------------------------------------------
@pytest.fixture
def oidc_rbac(idp, fake_kube, monkeypatch):
    from shared.config import reset_settings

    monkeypatch.setenv("SHOAL_OIDC_RBAC", "true")
    reset_settings()
    return fake_kube


def test_with_oidc_rbac_the_cluster_decides_as_for_the_apiservers_oidc_user(idp, oidc_rbac, function_client):
    tasks = function_client("tasks")
    asked = []

    def authorize(spec):
        asked.append(spec)
        return spec["resourceAttributes"]["verb"] == "list"  # alice may read tasks, not create them

    oidc_rbac.authorize = authorize
    token = idp.mint(aud="shoal", preferred_username="alice@corp", groups=["devs"])
    denied = tasks.post("/api/v1/tasks", json={"name": "t", "type": "ai", "prompt": "p"}, headers=bearer(token))
    assert denied.status_code == 403
    assert denied.get_json() == {"error": {"code": 403, "message": "not authorized to create tasks"}}
    assert tasks.get("/api/v1/tasks", headers=bearer(token)).status_code == 200
    first = asked[0]
    assert (first["user"], first["groups"]) == ("oidc:alice", ["oidc:devs"])
    assert first["resourceAttributes"] == {"namespace": "team-a", "verb": "create", "group": "core.orka.ai",
                                           "resource": "tasks"}


def test_oidc_rbac_names_users_by_email_with_a_custom_prefix(idp, oidc_rbac, function_client, monkeypatch):
    from shared.config import reset_settings

    monkeypatch.setenv("SHOAL_OIDC_RBAC_USERNAME_CLAIM", "email")
    monkeypatch.setenv("SHOAL_OIDC_RBAC_USERNAME_PREFIX", "")
    reset_settings()
    asked = []
    oidc_rbac.authorize = lambda spec: asked.append(spec) or True
    token = idp.mint(aud="shoal", email="alice@example.com")
    assert function_client("tasks").get("/api/v1/tasks", headers=bearer(token)).status_code == 200
    assert asked[0]["user"] == "alice@example.com"
    no_email = function_client("tasks").get("/api/v1/tasks", headers=bearer(idp.mint(aud="shoal")))
    assert no_email.status_code == 403
    assert no_email.get_json()["error"]["message"] == "token has no email claim to authorize"


def test_oidc_rbac_without_a_kubernetes_api_fails_closed(idp, function_client, monkeypatch):
    from shared.config import reset_settings

    monkeypatch.setenv("SHOAL_OIDC_RBAC", "true")
    reset_settings()
    response = function_client("tasks").get("/api/v1/tasks", headers=bearer(idp.mint(aud="shoal")))
    assert response.status_code == 403
