"""Contract: the model retrieve routes (`GET /openai/v1/models/{model}`, `GET /anthropic/v1/models/{model_id}`)
and `POST /anthropic/v1/messages/count_tokens`, driven by the real SDKs in strict mode over HTTP, with
exact status/body checks in process and the official documents' components for the answers."""

from __future__ import annotations

import json
from unittest.mock import ANY

import anthropic
import openai
import pytest

from tests.conftest import AUTH, DEV_TOKEN
from tests.support.vendor_specs import violations

USER = [{"role": "user", "content": "hi"}]
WEATHER = {"name": "get_weather", "description": "Weather for a city",
           "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}
COUNT = "/anthropic/v1/messages/count_tokens"
CANNOT_COUNT = 'model "{}": its provider ({}) cannot count tokens; only Anthropic providers and the demo model can'


def oai_error(message: str, kind: str, param: str | None = None, code: str | None = None) -> dict:
    return {"error": {"message": message, "type": kind, "param": param, "code": code}}


def ant_error(message: str, kind: str) -> dict:
    return {"type": "error", "error": {"type": kind, "message": message}, "request_id": ANY}


def count(client, body, headers=AUTH):
    return client.post(COUNT, data=body if isinstance(body, str) else json.dumps(body),
                       headers={**headers, "Content-Type": "application/json", "anthropic-version": "2023-06-01"})


@pytest.fixture
def slashed_model(openai_upstream, monkeypatch):
    """An OpenAI-compatible model whose own id holds a `/` (as vLLM and Ollama name theirs)."""
    from shared.config import reset_settings

    monkeypatch.setenv("SHOAL_LLM_MODEL", "meta-llama/Llama-3.1-8B")
    reset_settings()
    return "meta-llama/Llama-3.1-8B"


def _timeless(model) -> dict:
    """An SDK model's fields but the time stamps (the list dates its entries when asked)."""
    return {k: v for k, v in model.model_dump().items() if k not in ("created", "created_at")}


# -- authentication ----------------------------------------------------------------------------------
@pytest.mark.parametrize("method,path,error", [
    ("GET", "/openai/v1/models/shoal-mock", oai_error("missing authorization header", "authentication_error")),
    ("GET", "/anthropic/v1/models/shoal-mock", ant_error("missing authorization header", "authentication_error")),
    ("POST", COUNT, ant_error("missing authorization header", "authentication_error"))])
def test_without_credentials_is_401_in_the_dialect(compat, method, path, error):
    response = compat.open(path, method=method)
    assert (response.status_code, response.get_json()) == (401, error)


def test_a_bad_key_raises_the_sdks_authentication_error(compat_server):
    oai = openai.OpenAI(base_url=compat_server.url + "/openai/v1", api_key="wrong", max_retries=0,
                        _strict_response_validation=True)
    claude = anthropic.Anthropic(base_url=compat_server.url + "/anthropic", api_key="wrong", max_retries=0,
                                 _strict_response_validation=True)
    with pytest.raises(openai.AuthenticationError):
        oai.models.retrieve("shoal-mock")
    with pytest.raises(anthropic.AuthenticationError):
        claude.models.retrieve("shoal-mock")
    with pytest.raises(anthropic.AuthenticationError) as exc:
        claude.messages.count_tokens(model="shoal-mock", messages=USER)
    assert exc.value.body["error"]["message"] == "invalid token"


# -- retrieve: the list's entry, by any id the list gives, `/` escaped or not ---------------------------
def test_openai_retrieve_is_the_listed_entry(openai_client, openai_upstream, compat):
    listed = {m.id: m for m in openai_client.models.list().data}
    for ident in ("default/gpt-upstream", "gpt-upstream"):  # the SDK escapes the `/` (%2F)
        model = openai_client.models.retrieve(ident)
        assert _timeless(model) == _timeless(listed[ident])
        assert (model.id, model.object, model.owned_by) == (ident, "model", "openai")
    raw = compat.get("/openai/v1/models/default/gpt-upstream", headers=AUTH)  # older SDKs send it unescaped
    assert raw.status_code == 200
    assert raw.get_json() == {"id": "default/gpt-upstream", "object": "model", "created": ANY, "owned_by": "openai"}
    assert violations("openai", "Model", raw.get_json()) == []
    assert openai_upstream.requests == []  # the list is ours: nothing asked upstream


def test_anthropic_retrieve_is_the_listed_entry(anthropic_client, anthropic_upstream, compat):
    listed = {m.id: m for m in anthropic_client.models.list().data}
    for ident in ("default/claude-upstream", "claude-upstream"):
        model = anthropic_client.models.retrieve(ident)
        assert _timeless(model) == _timeless(listed[ident])
        assert (model.id, model.type, model.display_name, model.lifecycle) == (ident, "model", ident, "active")
    raw = compat.get("/anthropic/v1/models/default/claude-upstream", headers=AUTH)
    assert raw.status_code == 200
    assert raw.get_json() == {"id": "default/claude-upstream", "object": "model", "type": "model",
                              "display_name": "default/claude-upstream", "lifecycle": "active", "created": ANY,
                              "created_at": ANY, "owned_by": "anthropic", "capabilities": None,
                              "max_input_tokens": None, "max_tokens": None}
    assert violations("anthropic", "ModelInfo", raw.get_json()) == []


def test_an_id_holding_a_slash_of_its_own_is_found(openai_client, slashed_model, compat):
    assert [m.id for m in openai_client.models.list().data] == [f"default/{slashed_model}", slashed_model]
    for ident in (f"default/{slashed_model}", slashed_model):
        assert openai_client.models.retrieve(ident).id == ident
        assert compat.get(f"/openai/v1/models/{ident}", headers=AUTH).get_json()["id"] == ident
        assert compat.get(f"/anthropic/v1/models/{ident}", headers=AUTH).get_json()["id"] == ident


def test_an_unknown_model_is_404_in_each_dialect(compat, openai_client, anthropic_client, openai_upstream):
    response = compat.get("/openai/v1/models/gpt-nope", headers=AUTH)
    assert (response.status_code, response.get_json()) == (404, oai_error(
        "The model 'gpt-nope' does not exist", "invalid_request_error", "model", "model_not_found"))
    assert violations("openai", "ErrorResponse", response.get_json()) == []
    with pytest.raises(openai.NotFoundError) as raised:
        openai_client.models.retrieve("default/gpt-nope")
    assert (raised.value.code, raised.value.param) == ("model_not_found", "model")
    assert raised.value.body["message"] == "The model 'default/gpt-nope' does not exist"

    response = compat.get("/anthropic/v1/models/claude-nope", headers=AUTH)
    assert (response.status_code, response.get_json()) == (404, ant_error("model: claude-nope", "not_found_error"))
    assert violations("anthropic", "ErrorResponse", response.get_json()) == []
    with pytest.raises(anthropic.NotFoundError) as missing:
        anthropic_client.models.retrieve("nope/claude")
    assert missing.value.body["error"]["message"] == "model: nope/claude"


def test_a_malformed_model_id_is_a_400_naming_the_parameter(compat):
    response = compat.get("/openai/v1/models/gpt%00x", headers=AUTH)
    assert (response.status_code, response.get_json()) == (400, oai_error(
        "path parameter model contains a control character", "invalid_request_error"))
    response = compat.get("/anthropic/v1/models/claude%00x", headers=AUTH)
    assert (response.status_code, response.get_json()) == (400, ant_error(
        "path parameter model_id contains a control character", "invalid_request_error"))


# -- count_tokens: /messages' checks but max_tokens, in Orka's order; nothing reaches the model -------------
BAD_COUNTS = [
    ("{not json", "invalid request body"),
    ({"messages": USER}, "model is required"),
    ({"model": "", "messages": []}, "model is required"),
    ({"model": "claude"}, "messages is required and must be non-empty"),
    ({"model": "claude", "messages": []}, "messages is required and must be non-empty"),
    ({"model": 7, "messages": USER}, "model: expected a string"),
    ({"model": "claude", "messages": USER, "tools": {"name": "x"}}, "tools: expected an array of objects"),
    ({"model": "claude", "messages": USER, "system": 7}, "system: expected a string or an array of objects"),
    ({"model": "nope/claude", "messages": USER}, 'failed to resolve provider: unknown provider "nope"'),
    ({"model": "claude", "messages": [{"role": "robot", "content": "x"}]},
     'messages[0].role: expected one of user, assistant, system; got "robot"'),
    ({"model": "claude", "messages": [{"role": "user", "content": 7}]},
     "failed to convert messages: content must be a string or array of content blocks"),
    ({"model": "claude", "messages": USER, "tools": [{"description": "no name"}]}, "invalid request body"),
]


def test_bad_counts_are_400_naming_the_field(compat, anthropic_upstream):
    for body, message in BAD_COUNTS:
        response = count(compat, body)
        assert (response.status_code, response.get_json()) == (400, ant_error(message, "invalid_request_error")), body
        assert violations("anthropic", "ErrorResponse", response.get_json()) == []
    assert anthropic_upstream.requests == []


# -- count_tokens on an Anthropic provider: relayed through the same-wire hop ----------------------------
def test_the_count_is_the_anthropic_providers_own(anthropic_client, anthropic_upstream):
    anthropic_upstream.script = [{"input_tokens": 42}]
    counted = anthropic_client.messages.count_tokens(
        model="default/claude-upstream", system="be brief", messages=USER, tools=[WEATHER],
        tool_choice={"type": "auto"}, extra_headers={"anthropic-beta": "token-counting-2024-11-01"})
    assert counted.input_tokens == 42
    [sent] = anthropic_upstream.requests
    assert (sent["method"], sent["path"]) == ("POST", "/v1/messages/count_tokens")
    # The body as sent (no max_tokens added), with only the model resolved; our key, never the caller's.
    assert sent["json"] == {"model": "claude-upstream", "system": "be brief", "messages": USER, "tools": [WEATHER],
                            "tool_choice": {"type": "auto"}}
    assert sent["headers"]["X-Api-Key"] == "sk-ant-upstream"
    assert sent["headers"]["Anthropic-Version"] == anthropic_client.default_headers["anthropic-version"]  # the SDK's
    assert sent["headers"]["Anthropic-Beta"] == "token-counting-2024-11-01"
    assert DEV_TOKEN not in json.dumps(sent["headers"])


def test_the_beta_count_claude_code_sends_is_relayed_too(anthropic_client, anthropic_upstream, compat):
    # Claude Code calls beta.messages.countTokens: `?beta=true` and its betas in `anthropic-beta`.
    anthropic_upstream.script = [{"input_tokens": 7}, {"input_tokens": 9}]
    counted = anthropic_client.beta.messages.count_tokens(model="claude-upstream", messages=USER,
                                                          betas=["context-management-2025-06-27"])
    assert counted.input_tokens == 7
    # (the SDK adds its own token-counting beta to the caller's)
    assert anthropic_upstream.requests[0]["headers"]["Anthropic-Beta"] == \
        "context-management-2025-06-27,token-counting-2024-11-01"
    response = compat.post(COUNT + "?beta=true", json={"model": "claude-upstream", "messages": USER}, headers=AUTH)
    assert (response.status_code, response.get_json()) == (200, {"input_tokens": 9})
    assert violations("anthropic", "CountMessageTokensResponse", response.get_json()) == []
    assert "Anthropic-Beta" not in anthropic_upstream.requests[1]["headers"]  # none sent, none relayed


def test_an_upstream_failure_is_a_500_naming_the_count(compat, anthropic_upstream):
    anthropic_upstream.script = [{"error": {"status": 400, "type": "invalid_request_error",
                                            "message": "tools.0.input_schema: bad"}}]
    response = count(compat, {"model": "claude-upstream", "messages": USER})
    assert (response.status_code, response.get_json()) == (500, ant_error(
        "token count failed: anthropic provider error 400: tools.0.input_schema: bad", "api_error"))


# -- count_tokens elsewhere: the demo model counts as its usage does; other providers cannot ---------------
def test_the_demo_models_count_is_the_input_its_usage_reports(anthropic_client):
    system, messages = "Be brief.", [{"role": "user", "content": "Summarise the last three deployments"},
                                     {"role": "assistant", "content": "Which namespace?"},
                                     {"role": "user", "content": [{"type": "text", "text": "demo, please"}]}]
    counted = anthropic_client.messages.count_tokens(model="shoal-mock", system=system, messages=messages)
    assert counted.input_tokens == 9 // 4 + 36 // 4 + 16 // 4 + 12 // 4  # a quarter of each message's characters
    message = anthropic_client.messages.create(model="shoal-mock", max_tokens=64, system=system, messages=messages,
                                               extra_headers={"X-Orka-Tools": "disabled"})
    assert message.usage.input_tokens == counted.input_tokens


def test_a_provider_without_a_count_is_a_400_naming_the_model(compat, anthropic_client, openai_upstream):
    response = count(compat, {"model": "default/gpt-upstream", "messages": USER})
    assert (response.status_code, response.get_json()) == (400, ant_error(
        CANNOT_COUNT.format("default/gpt-upstream", "openai"), "invalid_request_error"))
    with pytest.raises(anthropic.BadRequestError):  # a 4xx: the SDK does not retry, Claude Code estimates
        anthropic_client.messages.count_tokens(model="gpt-upstream", messages=USER)
    assert openai_upstream.requests == []
