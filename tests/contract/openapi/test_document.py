"""Contract: /openapi.json is generated from the routes' own models (shared.http.openapi)."""

from __future__ import annotations

import pytest

from tests.conftest import AUTH


@pytest.fixture(scope="module")
def document():
    from shared.http.openapi import build_document
    from shared.http.route_table import FUNCTION_ROUTERS, build_api

    return build_document({name: build_api(name).routes for name in FUNCTION_ROUTERS})


def test_the_document_validates_as_openapi_3_1(document):
    from openapi_spec_validator import validate

    validate(document)


def test_a_modelled_write_has_its_body_query_and_response(document):
    create = document["paths"]["/api/v1/memories"]["post"]
    assert create["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/MemoryCreate"}
    schema = document["components"]["schemas"]["MemoryCreate"]
    assert schema["additionalProperties"] is False and schema["required"] == ["content"]
    assert create["responses"]["201"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Memory"}
    assert [p["name"] for p in create["parameters"]] == ["namespace"]
    assert create["responses"]["401"]["headers"]["WWW-Authenticate"] == {
        "$ref": "#/components/headers/WWW-Authenticate"}


def test_query_parameters_come_from_the_query_model(document):
    listing = document["paths"]["/api/v1/memories"]["get"]
    params = {p["name"]: p for p in listing["parameters"]}
    assert {"limit", "continue", "q", "tags", "includeDisabled", "namespace"} <= set(params)
    assert params["limit"]["schema"]["type"] == "integer" and params["limit"]["schema"]["minimum"] == 1
    assert params["includeDeleted"]["schema"]["type"] == "boolean"
    assert listing["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/MemoryList"}


def test_error_responses_use_the_dialects_media_type(document):
    analyze = document["paths"]["/api/v1/incident/analyze"]["post"]
    assert "application/problem+json" in analyze["responses"]["401"]["content"]


def test_what_the_document_promises_is_what_the_route_answers(function_client):
    """The documented success shape validates the real answer (jsonschema against the components)."""
    import jsonschema

    memory = function_client("memory")
    doc = function_client("meta").get("/openapi.json").get_json()
    created = memory.post("/api/v1/memories", json={"content": "x", "tags": ["A"]}, headers=AUTH)
    assert created.status_code == 201
    listing = memory.get("/api/v1/memories?limit=5", headers=AUTH)
    for body, name in ((created.get_json(), "Memory"), (listing.get_json(), "MemoryList")):
        # The components ride along, so `#/components/schemas/X` refs resolve inside the schema.
        jsonschema.validate(body, {**doc["components"]["schemas"][name], "components": doc["components"]})


def test_two_models_of_one_name_fail_the_build_instead_of_sharing_a_component():
    """Components are keyed by class name: a second class of the same name (here nested in another
    route's body) would silently take the first one's schema."""
    from pydantic import BaseModel

    from shared.http.api import Route
    from shared.http.openapi import build_document

    def make(field: str) -> type[BaseModel]:
        return type("Item", (BaseModel,), {"__annotations__": {field: str}, "__module__": f"tests.{field}"})

    first, second = make("a"), make("b")

    class Wrapper(BaseModel):
        items: list[second]  # type: ignore[valid-type]

    def handler(ctx):  # never called: only the document is built
        return {}

    routes = [Route("/one", ("POST",), handler, body=first), Route("/two", ("POST",), handler, body=Wrapper)]
    with pytest.raises(ValueError) as raised:
        build_document({"f": routes})
    assert str(raised.value) == ('two models are named "Item" (tests.a.Item and tests.b.Item): their OpenAPI '
                                 "components would collide; rename one")
    # one class used twice is fine
    assert set(build_document({"f": [Route("/one", ("POST",), handler, body=first),
                                     Route("/two", ("PUT",), handler, body=first)]})["components"]["schemas"]) >= {"Item"}


def test_mcp_is_documented_as_the_streamable_http_transport(document):
    # MCP's Streamable HTTP transport: a JSON-RPC message in, an SSE stream of JSON-RPC messages out
    # (202 with no body for a notification), JSON-RPC errors for bad input and a wrong Accept.
    mcp = document["paths"]["/mcp"]["post"]
    assert mcp["requestBody"]["content"] == {"application/json": {"schema": {
        "$ref": "#/components/schemas/mcp.JSONRPCMessage"}}}
    assert mcp["responses"]["200"]["content"]["text/event-stream"]["x-events"] == {
        "message": {"$ref": "#/components/schemas/mcp.JSONRPCMessage"}}
    assert "content" not in mcp["responses"]["202"]
    error = {"schema": {"$ref": "#/components/schemas/mcp.JSONRPCError"}}
    assert mcp["responses"]["400"]["content"] == {"application/json": error,
                                                  "text/plain": {"schema": {"type": "string"}}}
    assert mcp["responses"]["406"]["content"] == {"application/json": error}
    assert [p["name"] for p in mcp["parameters"]] == ["MCP-Protocol-Version"]
    assert [ref["$ref"].rsplit(".", 1)[1] for ref in document["components"]["schemas"]["mcp.JSONRPCMessage"]["anyOf"]] \
        == ["JSONRPCRequest", "JSONRPCNotification", "JSONRPCResponse", "JSONRPCError"]


def test_bodies_a_route_reads_itself_are_documented_in_their_media_type(document):
    binary = {"schema": {"type": "string", "format": "binary"}}
    for path in ("/internal/v1/results/{namespace}/{task}", "/internal/v1/artifacts/{namespace}/{task}/{filename}"):
        assert document["paths"][path]["post"]["requestBody"]["content"] == {"*/*": binary}
    upload = document["paths"]["/api/uploads"]["post"]["requestBody"]
    assert upload["content"]["multipart/form-data"]["schema"]["properties"] == {"file": binary["schema"]}
    assert document["paths"]["/api/config/sources/{source}"]["put"]["requestBody"]["required"] is False


def test_console_pages_document_their_redirects_and_error_pages(document):
    page = document["paths"]["/console/tasks"]["get"]["responses"]
    assert set(page["200"]["content"]) == {"text/html; charset=utf-8"}
    assert page["303"]["headers"]["Location"]["description"].startswith("/console/sign-in")
    assert set(page["404"]["content"]) == {"text/html; charset=utf-8"}
    assert set(page["400"]["content"]) == {"text/html; charset=utf-8", "application/json"}
    static = document["paths"]["/console/static/{filename}"]["get"]["responses"]
    assert set(static["404"]["content"]) == {"text/plain"}
    stream = document["paths"]["/console/tasks/{name}/events"]["get"]["responses"]
    assert set(stream["401"]["content"]) == {"text/plain", "text/html; charset=utf-8"}


def test_the_monitor_spec_is_closed_at_every_depth(document):
    schemas = document["components"]["schemas"]
    body = document["paths"]["/api/v1/monitors/repositories"]["post"]["requestBody"]["content"]["application/json"]
    assert body["schema"] == {"$ref": "#/components/schemas/RepositoryMonitorBody"}
    for name in ("RepositoryMonitorSpec", "MonitorReview", "PullRequestTarget", "CommandLabels"):
        assert schemas[name]["additionalProperties"] is False, name
