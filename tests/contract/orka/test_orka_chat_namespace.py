"""Contract: chat refuses Shoal's own namespace (SHOAL_PLATFORM_NAMESPACE; orka-chat.txt "the operator's
namespace") besides kube-system and kube-public, on every chat route and in its tools (issue 19)."""

from __future__ import annotations

import httpx

from tests.conftest import AUTH
from tests.support.chat import post_json


def err(code: int, message: str) -> dict:
    return {"error": {"code": code, "message": message}}


def test_chat_without_credentials_is_401(function_client):
    response = function_client("chat").post("/api/v1/chat", json={"message": "hi", "namespace": "shoal"})
    assert response.status_code == 401 and response.get_json() == err(401, "missing authorization header")


def test_the_platform_namespace_is_refused_on_every_route(llm, chat):
    from shared.chat.sessions import sessions

    refused = err(403, 'namespace "shoal" is not allowed for chat')
    response = post_json(chat.url, {"message": "hi", "namespace": "shoal"})
    assert response.status_code == 403 and response.json() == refused
    assert httpx.delete(chat.url + "/api/v1/chat/s1?namespace=shoal", headers=AUTH).json() == refused
    assert httpx.get(chat.url + "/api/v1/chat/s1/stream?namespace=shoal", headers=AUTH).json() == refused
    assert llm.requests == [] and sessions.list_page("shoal", limit=None)[0] == []


def test_a_renamed_platform_namespace_is_refused_even_with_a_custom_block_list(llm, chat, monkeypatch):
    from shared.config import reset_settings

    monkeypatch.setenv("SHOAL_PLATFORM_NAMESPACE", "shoal-system")
    monkeypatch.setenv("SHOAL_CHAT_BLOCKED_NAMESPACES", "legacy")
    reset_settings()
    for namespace in ("shoal-system", "legacy"):
        response = post_json(chat.url, {"message": "hi", "namespace": namespace})
        assert response.status_code == 403
        assert response.json() == err(403, f'namespace "{namespace}" is not allowed for chat')
    llm.script = [{"text": "hello"}]
    assert post_json(chat.url, {"message": "hi", "namespace": "shoal"}).status_code == 200


def test_chat_tools_cannot_reach_the_platform_namespace(llm, chat):
    from shared.tasks.repository import tasks

    llm.script = [{"tool_calls": [{"name": "create_ai_task", "arguments": {"name": "x", "prompt": "p",
                                                                            "namespace": "shoal"}}]},
                  {"text": "could not"}]
    body = post_json(chat.url, {"message": "make a task in shoal"}).json()
    result = body["toolCalls"][0]["result"]
    assert result["success"] is False and result["errorType"] == "permission_denied"
    assert result["error"] == 'namespace "shoal" is not allowed'
    assert tasks.list_page("shoal", limit=None)[0] == []
