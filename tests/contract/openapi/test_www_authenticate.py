"""Contract: every 401 carries an RFC 6750 challenge (shared.http.api.www_authenticate), whatever
the route's dialect: `Bearer realm="shoal"` without credentials, plus `error="invalid_token"` when a
credential was given and refused."""

from __future__ import annotations

import pytest

# One protected route of each error dialect: (function, method, path, content type of its error).
ROUTES = [
    ("tasks", "post", "/api/v1/tasks", "application/json"),
    ("memory", "get", "/api/v1/memories", "application/json"),
    ("jobs", "post", "/api/jobs/submit", "application/json"),
    ("incidents", "post", "/api/v1/incident/analyze", "application/problem+json"),
    ("analyze", "post", "/analyze", "application/json"),
    ("compat", "post", "/openai/v1/chat/completions", "application/json"),
    ("compat", "post", "/anthropic/v1/messages", "application/json"),
]


@pytest.mark.parametrize(("function", "method", "path", "content_type"), ROUTES)
def test_a_401_without_credentials_names_the_bearer_realm(function_client, function, method, path, content_type):
    response = getattr(function_client(function), method)(path, json={})
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="shoal"'
    assert response.headers["Content-Type"] == content_type


@pytest.mark.parametrize(("function", "method", "path", "content_type"), ROUTES)
def test_a_401_for_a_refused_token_says_invalid_token(function_client, function, method, path, content_type):
    response = getattr(function_client(function), method)(path, json={},
                                                          headers={"Authorization": "Bearer not-a-token"})
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="shoal", error="invalid_token"'


def test_a_refused_anthropic_api_key_says_invalid_token(function_client):
    response = function_client("compat").post("/anthropic/v1/messages", json={}, headers={"x-api-key": "nope"})
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="shoal", error="invalid_token"'


def test_a_success_carries_no_challenge(function_client):
    from tests.conftest import AUTH

    response = function_client("memory").get("/api/v1/memories", headers=AUTH)
    assert response.status_code == 200 and "WWW-Authenticate" not in response.headers


def test_a_malformed_authorization_header_is_a_refused_credential(function_client):
    response = function_client("memory").get("/api/v1/memories", headers={"Authorization": "Basic abc"})
    assert response.status_code == 401
    assert response.get_json() == {"error": {"code": 401, "message": "invalid authorization header format"}}
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="shoal", error="invalid_token"'
