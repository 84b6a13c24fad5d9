"""HTTP and MCP tools end to end: created through the catalog API, called as agent-loop Tools against
local fake servers (pytest-httpserver, the SDK's FastMCP), with secret injection and SSRF refusal."""

from __future__ import annotations

import base64
import json

import pytest

from tests.conftest import AUTH
from tests.support.fake_mcp import FakeMCP
from tests.support.leak_scan import PLANTED_SECRETS, leak_scan  # noqa: F401  (fixture)

TOKEN = PLANTED_SECRETS[0]
MCP_TOKEN = PLANTED_SECRETS[1]


@pytest.fixture
def catalog(function_client, fake_kube, leak_scan):  # noqa: F811
    for name, key, value in (("tavily-secret", "api-key", TOKEN), ("mcp-secret", "token", MCP_TOKEN)):
        fake_kube.add("/api/v1", "secrets", "default", {
            "metadata": {"name": name}, "type": "Opaque", "data": {key: base64.b64encode(value.encode()).decode()}})
    return leak_scan.watch(function_client("catalog"))


@pytest.fixture
def allow_loopback(monkeypatch):
    from shared.config import reset_settings

    monkeypatch.setenv("SHOAL_OUTBOUND_ALLOW", "127.0.0.1,localhost")
    reset_settings()


def create(catalog, name, spec):
    """Secret-injecting tools are an operator's to store (the REST API refuses authSecretRef)."""
    from shared.catalog.tools import provision_tool

    provision_tool("default", name, spec)


def run(name, arguments, leak_scan):  # noqa: F811
    from shared.catalog.tool_runtime import tools_for

    [tool] = tools_for("default", [name])
    result = tool.run(arguments)
    leak_scan.record(json.dumps(result))
    return tool, result


SEARCH_PARAMS = {"type": "object", "properties": {"query": {"type": "string"}}, "required": ["query"]}


def test_http_tool_injects_the_secret_as_a_bearer_header(catalog, httpserver, allow_loopback, leak_scan):  # noqa: F811
    httpserver.expect_request("/search", method="POST", json={"query": "shoal"},
                              headers={"Authorization": f"Bearer {TOKEN}", "X-Team": "a"}
                              ).respond_with_json({"results": ["one"]})
    create(catalog, "search", {"description": "Search", "parameters": SEARCH_PARAMS, "http": {
        "url": httpserver.url_for("/search"), "headers": {"X-Team": "a"},
        "authSecretRef": {"name": "tavily-secret", "key": "api-key"}}})
    tool, result = run("search", {"query": "shoal"}, leak_scan)
    assert (tool.spec.name, tool.spec.description, tool.spec.parameters) == ("search", "Search", SEARCH_PARAMS)
    assert json.loads(result) == {"results": ["one"]}
    status = catalog.get("/api/v1/tools/search", headers=AUTH).get_json()["status"]
    assert status["available"] is True and TOKEN not in json.dumps(status)


def test_http_tool_injects_the_secret_into_the_body_and_scrubs_echoes(catalog, httpserver, allow_loopback, leak_scan):  # noqa: F811
    httpserver.expect_request("/echo", method="POST", json={"query": "q", "api_key": TOKEN}
                              ).respond_with_handler(lambda request: __import__("werkzeug").Response(
                                  request.get_data(), content_type="application/json"))
    create(catalog, "echo-http", {"description": "Echo", "http": {
        "url": httpserver.url_for("/echo"), "authSecretRef": {"name": "tavily-secret", "key": "api-key"},
        "authInject": "body", "authBodyKey": "api_key"}})
    _, result = run("echo-http", {"query": "q"}, leak_scan)
    assert json.loads(result) == {"query": "q", "api_key": "[REDACTED]"}
    assert "Authorization" not in httpserver.log[0][0].headers


def test_http_get_tool_sends_arguments_as_query_and_reports_http_errors(catalog, httpserver, allow_loopback, leak_scan):  # noqa: F811
    httpserver.expect_request("/items", method="GET", query_string="q=a&n=2").respond_with_data("nope", status=503)
    create(catalog, "items", {"description": "Items", "http": {"url": httpserver.url_for("/items"), "method": "GET",
                                                                "timeout": "5s"}})
    _, result = run("items", {"q": "a", "n": 2}, leak_scan)
    assert result == {"success": False, "error": "tool items: HTTP 503: nope", "errorType": "internal_error"}


def test_http_tool_to_a_private_address_is_refused_by_the_ssrf_guard(catalog, httpserver, fake_kube, leak_scan):  # noqa: F811
    create(catalog, "internal", {"description": "Internal", "http": {"url": httpserver.url_for("/x"),
                                 "authSecretRef": {"name": "tavily-secret", "key": "api-key"}}})
    _, result = run("internal", {}, leak_scan)
    assert result == {"success": False, "errorType": "permission_denied",
                      "error": "tool internal: address 127.0.0.1 of host localhost is not allowed"}
    assert httpserver.log == []
    # refused before the Secret was read
    assert not [r for r in fake_kube.requests if r["path"].endswith("/secrets/tavily-secret")]


def test_redirects_are_not_followed(catalog, httpserver, allow_loopback, leak_scan):  # noqa: F811
    """A tool endpoint may not bounce the call (and its Authorization header) to another address."""
    httpserver.expect_request("/bounce").respond_with_data("", status=302, headers={
        "Location": "http://169.254.169.254/latest/meta-data/"})
    create(catalog, "bounce", {"description": "Bounces", "http": {"url": httpserver.url_for("/bounce")}})
    _, result = run("bounce", {}, leak_scan)
    # redirects are not followed: the model sees the 302, the metadata address is never called
    assert result == "" and len(httpserver.log) == 1


def test_missing_secret_is_a_failure_without_a_call(catalog, httpserver, allow_loopback, leak_scan):  # noqa: F811
    create(catalog, "nosecret", {"description": "d", "http": {"url": httpserver.url_for("/x"),
                                 "authSecretRef": {"name": "absent", "key": "k"}}})
    _, result = run("nosecret", {}, leak_scan)
    assert result == {"success": False, "error": 'tool nosecret: secret "absent" not found',
                      "errorType": "internal_error"}
    assert httpserver.log == []


def test_tools_for_skips_builtins_and_refuses_unknown_names(catalog):
    from shared.catalog.tool_runtime import tools_for
    from shared.errors import NotFound

    create(catalog, "a-tool", {"description": "d", "http": {"url": "https://api.example.com/a"}})
    assert [t.spec.name for t in tools_for("default", ["web_search", "a-tool", "a-tool"])] == ["a-tool"]
    with pytest.raises(NotFound, match='tool "missing" not found'):
        tools_for("default", ["a-tool", "missing"])


def test_mcp_tool_by_url_lists_and_calls_with_the_transport_token(catalog, allow_loopback, leak_scan):  # noqa: F811
    from shared.catalog.tool_runtime import discover_mcp_tools

    with FakeMCP() as server:
        create(catalog, "echo", {"description": "Echo over MCP", "mcp": {"url": server.url + "/mcp"},
                                 "http": {"authSecretRef": {"name": "mcp-secret", "key": "token"}}})
        listed = discover_mcp_tools("default", "echo")
        assert {t["name"] for t in listed} == {"echo", "repo-inspector", "fail"}
        assert next(t for t in listed if t["name"] == "echo")["inputSchema"]["required"] == ["message"]
        tool, result = run("echo", {"message": "hello"}, leak_scan)
        assert result == "echo: hello"
        assert server.requests and all(r["headers"]["authorization"] == f"Bearer {MCP_TOKEN}"
                                       for r in server.requests)
    assert catalog.get("/api/v1/tools/echo", headers=AUTH).get_json()["status"]["available"] is True


def test_mcp_actor_tool_calls_the_resolved_substrate_endpoint(catalog, allow_loopback, monkeypatch, leak_scan):  # noqa: F811
    from shared.config import reset_settings

    with FakeMCP(path="/actors/mcp-default-repo-inspector/mcp") as server:
        monkeypatch.setenv("SHOAL_SUBSTRATE_ROUTER_URL", server.url)
        reset_settings()
        create(catalog, "repo-inspector", {"description": "Inspect", "parameters": {
            "type": "object", "properties": {"message": {"type": "string"}}},
            "mcp": {"substrateActor": {"templateRef": {"name": "orka-mcp"}}}})
        _, result = run("repo-inspector", {"message": "shoal"}, leak_scan)
        assert result == "repo facts for shoal: default branch main"
        assert server.requests[0]["path"] == "/actors/mcp-default-repo-inspector/mcp"


def test_mcp_errors_and_ssrf_refusal(catalog, monkeypatch, leak_scan):  # noqa: F811
    from shared.config import reset_settings

    with FakeMCP() as server:
        create(catalog, "fail", {"description": "Fails", "mcp": {"url": server.url + "/mcp"}})
        _, refused = run("fail", {}, leak_scan)
        assert refused == {"success": False, "errorType": "permission_denied",
                           "error": "tool fail: address 127.0.0.1 of host 127.0.0.1 is not allowed"}
        assert server.requests == []
        monkeypatch.setenv("SHOAL_OUTBOUND_ALLOW", "127.0.0.1,localhost")
        reset_settings()
        _, failed = run("fail", {}, leak_scan)
        assert failed == {"success": False, "error": "tool fail: Error executing tool fail: boom",
                          "errorType": "internal_error"}
