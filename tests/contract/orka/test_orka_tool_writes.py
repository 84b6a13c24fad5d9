"""Contract: REST tool writes may not attach Secrets or outbound policies, and refuse unparsable URLs
(issue 19; Orka's validateToolRESTMutation). Operators provision Secret-injecting tools instead."""

from __future__ import annotations

import json

import pytest

from tests.conftest import AUTH

AUTH_REF = "spec.http.authSecretRef is not allowed through the REST API; create tools with Kubernetes RBAC instead"
POLICY_REF = ("spec.http.outboundAccessPolicyRef is not allowed through the REST API; create tools with Kubernetes "
              "RBAC instead")
# Orka's docs example (orka-api.txt, "Tool CRD Schema"), verbatim apart from the YAML → JSON.
TAVILY = {"apiVersion": "core.orka.ai/v1alpha1", "kind": "Tool", "metadata": {"name": "tavily-search"}, "spec": {
    "description": "Search the web for current information",
    "parameters": {"type": "object", "properties": {"query": {"type": "string"}}, "required": ["query"]},
    "http": {"url": "https://api.tavily.com/search", "method": "POST",
             "authSecretRef": {"name": "tavily-secret", "key": "api-key"}, "authInject": "body",
             "authBodyKey": "api_key"}}}


def err(code: int, message: str) -> dict:
    return {"error": {"code": code, "message": message}}


@pytest.fixture
def api(function_client):
    return function_client("catalog")


def send(client, method, path, body):
    return client.open(path, method=method, data=json.dumps(body), headers={**AUTH, "Content-Type": "application/json"})


def plain(url="https://hooks.example.com/x", **http):
    return {"name": "hook", "spec": {"description": "d", "http": {"url": url, **http}}}


def stored_names() -> list[str]:
    from shared.catalog.tools import tools

    return [r.name for r in tools.list_page("default", limit=None)[0]]


def test_tool_writes_without_credentials_are_401(api):
    for method, path in (("POST", "/api/v1/tools"), ("PUT", "/api/v1/tools/hook")):
        response = api.open(path, method=method, data=json.dumps(plain()), content_type="application/json")
        assert response.status_code == 401
        assert response.get_json() == err(401, "missing authorization header")


@pytest.mark.parametrize("body,message", [
    (TAVILY, AUTH_REF),
    (plain(authSecretRef={"name": "s", "key": "k"}), AUTH_REF),
    (plain(outboundAccessPolicyRef={"name": "egress"}), POLICY_REF),
    # an MCP tool's transport token is a Secret too
    ({"name": "mcp-t", "spec": {"description": "d", "mcp": {"url": "https://m.example.com/mcp"},
                                "http": {"authSecretRef": {"name": "s", "key": "token"}}}}, AUTH_REF),
    (plain(url="https://example.com/%zz"), "spec.http.url is invalid"),
    (plain(url="https://example.com/a%2"), "spec.http.url is invalid"),
    (plain(url="https://example.com/a b"), "spec.http.url is invalid"),
    (plain(url="https://example.com:port/"), "spec.http.url is invalid"),
    (plain(url="https://[::1/"), "spec.http.url is invalid"),
])
def test_post_refuses_secrets_policies_and_invalid_urls(api, body, message):
    response = send(api, "POST", "/api/v1/tools", body)
    assert response.status_code == 400 and response.get_json() == err(400, message)
    assert stored_names() == []


def test_put_refuses_them_too_and_keeps_the_stored_tool(api):
    assert send(api, "POST", "/api/v1/tools", plain()).status_code == 201
    for body, message in ((plain(authSecretRef={"name": "s", "key": "k"}), AUTH_REF),
                          (plain(outboundAccessPolicyRef={"name": "egress"}), POLICY_REF),
                          (plain(url="https://example.com/%zz"), "spec.http.url is invalid")):
        response = send(api, "PUT", "/api/v1/tools/hook", {"spec": body["spec"]})
        assert response.status_code == 400 and response.get_json() == err(400, message)
    spec = api.get("/api/v1/tools/hook", headers=AUTH).get_json()["spec"]
    assert spec["http"] == {"url": "https://hooks.example.com/x", "method": "POST", "timeout": "30s",
                            "authInject": "header"}


def test_valid_escapes_are_still_accepted(api):
    response = send(api, "POST", "/api/v1/tools", plain(url="https://example.com/a%20b?q=%C3%A9"))
    assert response.status_code == 201
    assert response.get_json()["spec"]["http"]["url"] == "https://example.com/a%20b?q=%C3%A9"


def test_an_operator_provisions_the_secret_tool_and_rest_reads_it_without_the_secret(api):
    from shared.catalog.tools import provision_tool

    provision_tool("default", "tavily-search", TAVILY["spec"])
    body = api.get("/api/v1/tools/tavily-search", headers=AUTH).get_json()
    assert body["spec"]["http"]["authSecretRef"] == {"name": "tavily-secret", "key": "api-key"}
    assert body["status"] == {"endpoint": "https://api.tavily.com/search", "available": False, "kind": "http"}
    # provisioning keeps every other rule
    from shared.errors import Invalid

    with pytest.raises(Invalid, match="spec.http.authSecretRef.key is required"):
        provision_tool("default", "bad", {"description": "d", "http": {"url": "https://x.example.com",
                                                                       "authSecretRef": {"name": "s"}}})
    with pytest.raises(Invalid, match="spec.http.url is invalid"):
        provision_tool("default", "bad", {"description": "d", "http": {"url": "https://x.example.com/%zz"}})
