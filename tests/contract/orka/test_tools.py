"""Contract: /api/v1/tools (orka-api.txt Tool CRD table; orka-behaviour.md §2 tools rules)."""

from __future__ import annotations

import json

import pytest

from tests.conftest import AUTH
from tests.support.leak_scan import leak_scan  # noqa: F401  (fixture)


def err(code: int, message: str) -> dict:
    return {"error": {"code": code, "message": message}}


@pytest.fixture
def api(function_client, leak_scan):  # noqa: F811
    return leak_scan.watch(function_client("catalog"))


@pytest.fixture
def substrate(monkeypatch):
    from shared.config import reset_settings

    monkeypatch.setenv("SHOAL_SUBSTRATE_ROUTER_URL", "http://substrate-router.substrate.svc:8080")
    reset_settings()


def send(client, method, path, body):
    return client.open(path, method=method, data=body if isinstance(body, str) else json.dumps(body),
                       headers={**AUTH, "Content-Type": "application/json"})


HTTP_TOOL = {"metadata": {"name": "tavily-search"}, "spec": {
    "description": "Search the web for current information",
    "parameters": {"type": "object", "properties": {"query": {"type": "string"}}, "required": ["query"]},
    "http": {"url": "https://api.tavily.com/search?region=eu", "method": "POST"}}}
# Orka's docs example: a Secret-injecting tool, which only an operator may store (not the REST API).
SECRET_TOOL_SPEC = {**HTTP_TOOL["spec"], "http": {
    **HTTP_TOOL["spec"]["http"], "authSecretRef": {"name": "tavily-secret", "key": "api-key"},
    "authInject": "body", "authBodyKey": "api_key"}}
MCP_TOOL = {"metadata": {"name": "repo-inspector"}, "spec": {
    "description": "Inspect repository metadata through an MCP server",
    "parameters": {"type": "object", "properties": {"message": {"type": "string"}}, "required": ["message"]},
    "mcp": {"path": "/mcp", "substrateActor": {"templateRef": {"name": "orka-mcp", "namespace": "ate-demo"},
                                                "poolRef": {"name": "mcp-substrate-pool"}, "boot": True}}}}


ROUTES_401 = [
    ("GET", "/api/v1/tools"), ("GET", "/api/v1/tools/x"), ("POST", "/api/v1/tools"),
    ("PUT", "/api/v1/tools/x"), ("DELETE", "/api/v1/tools/x")]


def test_every_tool_route_without_credentials_is_401(api):
    for method, path in ROUTES_401:
        response = api.open(path, method=method)
        assert response.status_code == 401 and response.get_json() == err(401, "missing authorization header")


def test_list_has_the_six_builtins_then_stored_tools(api):
    assert send(api, "POST", "/api/v1/tools", HTTP_TOOL).status_code == 201
    items = api.get("/api/v1/tools", headers=AUTH).get_json()["items"]
    assert [t["name"] for t in items[:6]] == ["web_search", "code_exec", "file_read", "web_fetch", "file_write",
                                              "request_approval"]
    assert all(set(t) == {"name", "builtin", "description", "parameters"} and t["builtin"] is True
               for t in items[:6])
    assert items[6:] == [{"name": "tavily-search", "namespace": "default", "builtin": False,
                          "description": "Search the web for current information", "available": False,
                          "url": "https://api.tavily.com/search"}]


def test_get_builtin_metadata_and_stored_crd(api):
    web = api.get("/api/v1/tools/web_search", headers=AUTH).get_json()
    assert web["builtin"] is True and web["parameters"]["required"] == ["query"]
    from shared.catalog.tools import provision_tool

    provision_tool("default", "tavily-search", SECRET_TOOL_SPEC)
    body = api.get("/api/v1/tools/tavily-search", headers=AUTH).get_json()
    assert body["kind"] == "Tool" and body["metadata"]["namespace"] == "default"
    assert body["spec"]["http"] == {"url": "https://api.tavily.com/search?region=eu", "method": "POST",
                                    "authSecretRef": {"name": "tavily-secret", "key": "api-key"},
                                    "authInject": "body", "authBodyKey": "api_key", "timeout": "30s"}
    # the status endpoint never carries the query (which could hold a key) or userinfo
    assert body["status"] == {"endpoint": "https://api.tavily.com/search", "available": False, "kind": "http"}
    assert api.get("/api/v1/tools/nope", headers=AUTH).get_json() == err(404, "tool not found")


def test_http_defaults_method_post_timeout_30s_inject_header(api):
    response = send(api, "POST", "/api/v1/tools", {"name": "hook", "spec": {
        "description": "d", "http": {"url": "https://hooks.example.com/x"}}})
    assert response.status_code == 201
    assert response.get_json()["spec"]["http"] == {"url": "https://hooks.example.com/x", "method": "POST",
                                                   "timeout": "30s", "authInject": "header"}


def test_mcp_actor_tool_resolves_its_endpoint_and_actor(api, substrate):
    response = send(api, "POST", "/api/v1/tools", MCP_TOOL)
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["spec"]["mcp"]["path"] == "/mcp" and body["spec"]["http"] == {"timeout": "30s", "authInject": "header"}
    assert body["status"] == {
        "kind": "mcp", "available": False,
        "endpoint": "http://substrate-router.substrate.svc:8080/actors/mcp-default-repo-inspector/mcp",
        "actor": {"provider": "substrate", "actorID": "mcp-default-repo-inspector",
                  "routeHost": "substrate-router.substrate.svc",
                  "template": {"name": "orka-mcp", "namespace": "ate-demo"}, "boot": True,
                  "pool": {"name": "mcp-substrate-pool", "namespace": "default"}}}


def test_mcp_actor_tool_without_substrate_support_is_400(api):
    response = send(api, "POST", "/api/v1/tools", MCP_TOOL)
    assert response.status_code == 400
    assert response.get_json() == err(400, "MCP actor-backed tools require Substrate support to be enabled")


def test_builtin_names_are_409_for_create_update_and_delete(api):
    for name in ["web_search", "code_exec", "request_approval"]:
        body = {"name": name, "spec": {"description": "d", "http": {"url": "https://x.example.com"}}}
        message = err(409, f'tool "{name}" is a built-in tool')
        assert send(api, "POST", "/api/v1/tools", body).get_json() == message
        assert send(api, "PUT", f"/api/v1/tools/{name}", body).get_json() == message
        assert api.delete(f"/api/v1/tools/{name}", headers=AUTH).get_json() == message


def _tool(**http):
    return {"name": "t", "spec": {"description": "d", "http": {"url": "https://api.example.com/x", **http}}}


BAD_TOOLS_ARE_400_AND_STORE_NOTHING_CASES = [
    ("{", "invalid request body"),
    ({"spec": {"description": "d"}}, "name is required"),
    ({"name": "a.b", "spec": {}}, 'invalid name "a.b": must be lowercase letters, digits, "-" or "_", at most 63 characters'),
    ({"name": "t", "spec": {"http": {"url": "https://x.example.com"}}}, "spec.description is required"),
    ({"name": "t", "spec": {"description": "d", "parameters": []}}, "spec.parameters must be a JSON Schema object"),
    ({"name": "t", "spec": {"description": "d"}}, "spec.http.url is required"),
    (_tool(url="ftp://x.example.com"), "spec.http.url must be an absolute http or https URL"),
    (_tool(url="https://user:pw@x.example.com/"), "spec.http.url must not contain credentials"),
    (_tool(url="https://token@x.example.com/"), "spec.http.url must not contain credentials"),
    (_tool(url="https://x.example.com/?q=1&api_key=abc"),
     'spec.http.url must not carry credentials in query parameter "api_key"; use spec.http.authSecretRef'),
    (_tool(url="https://x.example.com/?key=abc"),
     'spec.http.url must not carry credentials in query parameter "key"; use spec.http.authSecretRef'),
    (_tool(method="TRACE"), "spec.http.method must be one of GET, POST, PUT, PATCH, DELETE"),
    (_tool(headers={"Authorization": "Bearer abc"}), 'header "Authorization" must not carry credentials; use spec.http.authSecretRef'),
    (_tool(headers={"X-API-Key": "abc"}), 'header "X-API-Key" must not carry credentials; use spec.http.authSecretRef'),
    (_tool(headers={"X-Service-Token": "abc"}), 'header "X-Service-Token" must not carry credentials; use spec.http.authSecretRef'),
    (_tool(headers={"Txn-Token": "abc"}), 'header "Txn-Token" is reserved'),
    (_tool(headers={"Host": "evil"}), 'header "Host" is reserved'),
    (_tool(headers={"X-Ok": 5}), "spec.http.headers must be a map of strings"),
    (_tool(timeout="soon"), 'invalid spec.http.timeout: time: invalid duration "soon"'),
    (_tool(timeout="0s"), 'invalid spec.http.timeout: time: invalid duration "0s"'),
    (_tool(authSecretRef={"name": "s", "key": "k"}),
     "spec.http.authSecretRef is not allowed through the REST API; create tools with Kubernetes RBAC instead"),
    (_tool(authInject="query"), "spec.http.authInject must be header or body"),
    (_tool(authInject="body"), "spec.http.authBodyKey is required when authInject is body"),
    (_tool(outboundAccessPolicyRef={"name": "p"}),
     "spec.http.outboundAccessPolicyRef is not allowed through the REST API; create tools with Kubernetes RBAC "
     "instead"),
    ({"name": "t", "spec": {"description": "d", "outboundAccessPolicyRef": {"name": "p"},
                            "http": {"url": "https://x.example.com"}}}, "outboundAccessPolicyRef is not supported"),
    ({"name": "t", "spec": {"description": "d", "mcp": {}}}, "spec.mcp.substrateActor.templateRef.name is required"),
    ({"name": "t", "spec": {"description": "d", "mcp": {"url": "https://m.example.com/mcp"},
                            "http": {"url": "https://x.example.com"}}},
     "spec.http.url must be omitted for MCP tools; the endpoint is resolved"),
    ({"name": "t", "spec": {"description": "d", "mcp": {"url": "https://m.example.com/mcp"},
                            "http": {"authInject": "body", "authBodyKey": "k"}}},
     "spec.http.authInject body is invalid for MCP actor-backed tools"),
    ({"name": "t", "spec": {"description": "d", "mcp": {"path": "mcp", "url": "https://m.example.com"}}},
     'spec.mcp.path must start with "/"'),
]


def test_bad_tools_are_400_and_store_nothing(api):
    for body, message in BAD_TOOLS_ARE_400_AND_STORE_NOTHING_CASES:
        response = send(api, "POST", "/api/v1/tools", body)
        assert response.status_code == 400 and response.get_json() == err(400, message)
    assert len(api.get("/api/v1/tools", headers=AUTH).get_json()["items"]) == 6


def test_duplicate_is_409_put_replaces_and_recomputes_status_delete_is_204(api):
    send(api, "POST", "/api/v1/tools", HTTP_TOOL)
    dup = send(api, "POST", "/api/v1/tools", HTTP_TOOL)
    assert dup.status_code == 409 and dup.get_json() == err(409, "tool already exists")
    response = send(api, "PUT", "/api/v1/tools/tavily-search", {"spec": {
        "description": "v2", "http": {"url": "https://search.example.com/v2", "method": "GET"}}})
    assert response.status_code == 200
    assert response.get_json()["status"]["endpoint"] == "https://search.example.com/v2"
    bad = send(api, "PUT", "/api/v1/tools/tavily-search", {"spec": {"description": "v3"}})
    assert bad.get_json() == err(400, "spec.http.url is required")
    assert api.get("/api/v1/tools/tavily-search", headers=AUTH).get_json()["spec"]["description"] == "v2"
    assert api.delete("/api/v1/tools/tavily-search", headers=AUTH).status_code == 204
    assert api.delete("/api/v1/tools/tavily-search", headers=AUTH).get_json() == err(404, "tool not found")


def test_list_cursor_pages_stored_tools_after_the_builtins(api):
    for i in range(3):
        send(api, "POST", "/api/v1/tools", {"name": f"t{i}", "spec": {"description": "d",
                                                                      "http": {"url": "https://x.example.com"}}})
    first = api.get("/api/v1/tools?limit=2", headers=AUTH).get_json()
    assert [t["name"] for t in first["items"]][6:] == ["t0", "t1"]
    second = api.get(f"/api/v1/tools?limit=2&continue={first['metadata']['continue']}", headers=AUTH).get_json()
    assert [t["name"] for t in second["items"]] == ["t2"] and second["metadata"] == {}
