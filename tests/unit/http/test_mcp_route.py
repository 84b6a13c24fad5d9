"""`/mcp` in-process (the `mcp` function as its container builds it): authentication, bad input, initialize.

Tool calls go to Shoal's API over HTTP, so they are covered against the local platform
(tests/integration/test_cli.py); here nothing leaves the process.
"""

from __future__ import annotations

import json
from importlib.metadata import version

from tests.conftest import AUTH

MCP_HEADERS = {**AUTH, "Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
INITIALIZE = {"jsonrpc": "2.0", "id": 1, "method": "initialize",
              "params": {"protocolVersion": "2025-06-18", "capabilities": {},
                         "clientInfo": {"name": "probe", "version": "1"}}}


def _sse_json(body: bytes) -> dict:
    data = [line[len("data: "):] for line in body.decode().splitlines() if line.startswith("data: ")]
    assert len(data) == 1, body
    return json.loads(data[0])


def test_mcp_refuses_callers_without_a_credential(function_client):
    client = function_client("mcp")
    response = client.post("/mcp", json=INITIALIZE)
    assert response.status_code == 401
    assert response.get_json() == {"error": {"code": 401, "message": "missing authorization header"}}
    forged = client.post("/mcp", json=INITIALIZE, headers={"Authorization": "Bearer forged"})
    assert (forged.status_code, forged.get_json()["error"]["message"]) == (401, "invalid token")


def test_mcp_answers_bad_json_rpc_with_a_parse_error(function_client):
    response = function_client("mcp").post("/mcp", data=b"{not json", headers=MCP_HEADERS)
    assert response.status_code == 400
    assert response.get_json() == {"jsonrpc": "2.0", "id": "server-error",
                                   "error": {"code": -32700, "message": "Parse error: Expecting property name enclosed in double "
                                                                       "quotes: line 1 column 2 (char 1)"}}


def test_mcp_initializes_statelessly(function_client):
    client = function_client("mcp")
    response = client.post("/mcp", json=INITIALIZE, headers=MCP_HEADERS)
    assert response.status_code == 200 and response.mimetype == "text/event-stream"
    assert "mcp-session-id" not in response.headers  # stateless: any replica answers the next request
    result = _sse_json(response.data)["result"]
    assert result["serverInfo"]["name"] == "shoal"
    # Shoal's version (it was the MCP SDK's: FastMCP passes none to the low-level server)
    assert result["serverInfo"]["version"] == version("shoal") != version("mcp")
    assert result["capabilities"]["tools"] == {"listChanged": False}
    assert client.get("/mcp", headers=MCP_HEADERS).status_code == 405


def test_mcp_tools_refuse_arguments_they_do_not_take(function_client):
    """FastMCP alone ignores an unknown argument (`namespace` for `resource_namespace` ran in `default`):
    the call is an error naming it, before any API call, and the schemas say so up front."""
    client = function_client("mcp")
    listed = _sse_json(client.post("/mcp", headers=MCP_HEADERS, json={
        "jsonrpc": "2.0", "id": 2, "method": "tools/list"}).data)["result"]["tools"]
    assert listed and all(tool["inputSchema"]["additionalProperties"] is False for tool in listed)
    analyze = next(tool for tool in listed if tool["name"] == "analyze_incident")
    assert "resource_namespace" in analyze["inputSchema"]["properties"]
    response = client.post("/mcp", headers=MCP_HEADERS, json={
        "jsonrpc": "2.0", "id": 3, "method": "tools/call",
        "params": {"name": "get_task", "arguments": {"name": "t1", "namesapce": "team-a"}}})
    result = _sse_json(response.data)["result"]
    assert result["isError"] is True
    assert result["content"] == [{"type": "text", "text":
                                  "unknown argument 'namesapce' for tool 'get_task'; it takes: name, namespace"}]


def test_mcp_tools_name_a_missing_or_out_of_range_argument(function_client):
    """FastMCP's own answer was pydantic's dump ("1 validation error for create_taskArguments …
    For further information visit https://errors.pydantic.dev/…"); the error names the argument and
    what is wrong with it, in one line, before any API call."""
    client = function_client("mcp")

    def call(tool: str, arguments: dict) -> dict:
        return _sse_json(client.post("/mcp", headers=MCP_HEADERS, json={
            "jsonrpc": "2.0", "id": 4, "method": "tools/call",
            "params": {"name": tool, "arguments": arguments}}).data)["result"]

    missing = call("create_task", {"name": "t1"})
    assert missing["isError"] is True
    assert missing["content"] == [{"type": "text", "text": "invalid arguments for tool 'create_task': prompt: required"}]
    too_long = call("wait_for_task", {"name": "t1", "timeout_seconds": 6000})
    assert too_long["content"] == [{"type": "text", "text": "invalid arguments for tool 'wait_for_task': "
                                    "timeout_seconds: Input should be less than or equal to 600"}]
    wrong_type = call("list_tasks", {"limit": "many"})
    assert wrong_type["content"] == [{"type": "text", "text": "invalid arguments for tool 'list_tasks': "
                                      "limit: Input should be a valid integer, unable to parse string as an integer"}]
