"""Contract: CORS on the Orka, OpenAI and Anthropic routes (issue 19; Orka's server middleware),
configured by ORKA_CORS_ALLOWED_ORIGINS: none by default, applied in the request pipeline."""

from __future__ import annotations

import pytest

from tests.conftest import AUTH

CONSOLE = "https://console.example.com"
HEADERS = ("Origin, Content-Type, Accept, Authorization, X-API-Key, Last-Event-ID, X-Orka-Tools, X-Request-Id, "
           "anthropic-version, anthropic-beta")


def preflight(client, path, origin=CONSOLE, method="POST"):
    return client.open(path, method="OPTIONS", headers={"Origin": origin, "Access-Control-Request-Method": method,
                                                        "Access-Control-Request-Headers": "authorization,content-type"})


def cors_headers(response) -> dict[str, str]:
    return {k: v for k, v in response.headers.items() if k.startswith("Access-Control-") or k == "Vary"}


@pytest.fixture
def origins(monkeypatch):
    from shared.config import reset_settings

    def set_origins(value: str) -> None:
        monkeypatch.setenv("ORKA_CORS_ALLOWED_ORIGINS", value)
        reset_settings()

    return set_origins


def test_by_default_no_origin_is_allowed(function_client):
    tasks = function_client("tasks")
    response = preflight(tasks, "/api/v1/tasks")
    assert response.status_code == 405 and cors_headers(response) == {}
    listed = tasks.get("/api/v1/tasks", headers={**AUTH, "Origin": CONSOLE})
    assert listed.status_code == 200 and cors_headers(listed) == {}


def test_preflight_from_an_allowed_origin_is_204_with_the_cors_headers(function_client, origins):
    origins(f"https://other.example.com, {CONSOLE}")
    response = preflight(function_client("tasks"), "/api/v1/tasks")
    assert response.status_code == 204 and response.get_data() == b""
    assert cors_headers(response) == {
        "Access-Control-Allow-Origin": CONSOLE, "Vary": "Origin",
        "Access-Control-Allow-Methods": "GET, HEAD, OPTIONS, POST", "Access-Control-Allow-Headers": HEADERS}
    item = preflight(function_client("tasks"), "/api/v1/tasks/t1", method="DELETE")
    assert item.status_code == 204 and item.headers["Access-Control-Allow-Methods"] == "DELETE, GET, HEAD, OPTIONS"


def test_answers_to_an_allowed_origin_carry_the_origin_errors_included(function_client, origins):
    origins(CONSOLE)
    tasks = function_client("tasks")
    denied = tasks.get("/api/v1/tasks", headers={"Origin": CONSOLE})
    assert denied.status_code == 401
    assert denied.get_json() == {"error": {"code": 401, "message": "missing authorization header"}}
    expected = {"Access-Control-Allow-Origin": CONSOLE, "Vary": "Origin",
                "Access-Control-Expose-Headers": "X-Request-Id"}
    assert cors_headers(denied) == expected
    ok = tasks.get("/api/v1/tasks", headers={**AUTH, "Origin": CONSOLE})
    assert ok.status_code == 200 and cors_headers(ok) == expected
    bad = tasks.post("/api/v1/tasks", data="{", headers={**AUTH, "Origin": CONSOLE, "Content-Type": "application/json"})
    assert bad.status_code == 400 and cors_headers(bad) == expected


def test_other_origins_and_unknown_paths_get_no_cors(function_client, origins):
    origins(CONSOLE)
    tasks = function_client("tasks")
    other = preflight(tasks, "/api/v1/tasks", origin="https://evil.example.com")
    assert other.status_code == 405 and cors_headers(other) == {}
    assert cors_headers(tasks.get("/api/v1/tasks", headers={**AUTH, "Origin": "https://evil.example.com"})) == {}
    missing = preflight(tasks, "/api/v1/nothing-here")
    assert missing.status_code == 404 and "Access-Control-Allow-Methods" not in missing.headers
    # an OPTIONS without Access-Control-Request-Method is not a preflight
    plain = tasks.open("/api/v1/tasks", method="OPTIONS", headers={"Origin": CONSOLE})
    assert plain.status_code == 405


def test_the_compat_and_catalog_routes_share_the_rule(function_client, origins):
    origins(CONSOLE)
    compat = preflight(function_client("compat"), "/openai/v1/chat/completions")
    assert compat.status_code == 204 and compat.headers["Access-Control-Allow-Methods"] == "OPTIONS, POST"
    anthropic = preflight(function_client("compat"), "/anthropic/v1/messages")
    assert anthropic.status_code == 204 and anthropic.headers["Access-Control-Allow-Origin"] == CONSOLE
    whoami = function_client("catalog").get("/api/v1/auth/whoami", headers={**AUTH, "Origin": CONSOLE})
    assert whoami.status_code == 200 and whoami.headers["Access-Control-Allow-Origin"] == CONSOLE


def test_a_non_orka_dialect_is_left_alone(function_client, origins):
    origins(CONSOLE)
    response = preflight(function_client("jobs"), "/api/jobs")
    assert response.status_code == 405 and cors_headers(response) == {}


def test_a_wildcard_and_the_context_token_headers(function_client, origins, monkeypatch):
    from shared.config import reset_settings

    monkeypatch.setenv("ORKA_CONTEXT_TOKEN_PROFILE", "kontxt")
    monkeypatch.setenv("ORKA_CONTEXT_TOKEN_HEADERS", "Txn-Token,Authorization:Bearer")
    origins("*")
    reset_settings()
    response = preflight(function_client("tasks"), "/api/v1/tasks", origin="https://anyone.example.org")
    assert response.status_code == 204
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert response.headers["Access-Control-Allow-Headers"] == HEADERS + ", Txn-Token"
