"""The dashboard session JWT (the `auth_token` cookie's value) as a bearer token on the Orka routes:
what the console sends for a user signed in through the OIDC login."""

from __future__ import annotations

import jwt
import pytest

SECRET = "k" * 40


@pytest.fixture
def tasks(function_client, monkeypatch):
    from shared.config import reset_settings

    monkeypatch.setenv("SHOAL_DASHBOARD_JWT_SECRET", SECRET)
    reset_settings()
    return function_client("tasks")


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_a_session_is_the_oidc_principal_of_the_default_namespace(tasks):
    from shared.auth import dashboard

    token = dashboard.issue_session("user-1", "alice", "a@example.com", None)
    assert tasks.get("/api/v1/tasks", headers=bearer(token)).status_code == 200
    other = tasks.get("/api/v1/tasks?namespace=team-b", headers=bearer(token))
    assert other.status_code == 403


def test_forged_expired_or_foreign_sessions_are_401(tasks):
    from shared.auth import dashboard

    forged = jwt.encode({"sub": "x", "iss": "shoal-dashboard", "aud": "shoal-dashboard", "typ": "session",
                         "iat": 1, "exp": 4102444800}, "w" * 40, algorithm="HS256")
    state = dashboard.sign({"sub": "login", "state": "s", "nonce": "n"}, "oidc-state", 600)
    expired = jwt.encode({"sub": "x", "iss": "shoal-dashboard", "aud": "shoal-dashboard", "typ": "session",
                          "iat": 1, "exp": 2}, SECRET, algorithm="HS256")
    for token in (forged, state, expired):
        response = tasks.get("/api/v1/tasks", headers=bearer(token))
        assert response.status_code == 401 and response.get_json() == {
            "error": {"code": 401, "message": "invalid token"}}


def test_without_the_login_configured_no_session_is_accepted(tasks, monkeypatch):
    from shared.auth import dashboard
    from shared.config import reset_settings

    token = dashboard.issue_session("user-1", "alice", None, None)
    monkeypatch.delenv("SHOAL_DASHBOARD_JWT_SECRET")
    reset_settings()
    assert tasks.get("/api/v1/tasks", headers=bearer(token)).status_code == 401
