"""Contract: task-scoped model tokens (docs/auth.md "Task tokens", docs/compat.md "Model access for
runtimes"). The worker mints a token on the worker API; a coding-agent runtime uses it as its API key on
the compat endpoints with the vendors' SDKs; the model call is a plain proxy with the platform's (or the
Agent's own) key, counted on the task, and the token dies with the task's attempt."""

from __future__ import annotations

import base64
import json
import threading
import time
from datetime import datetime
from types import SimpleNamespace

import anthropic
import openai
import pytest

from shared.auth.authorization import TASK_TOKEN_FORBIDDEN
from tests.conftest import AUTH, DEV_TOKEN
from tests.support.leak_scan import leak_scan  # noqa: F401  (fixture)

COMPAT_URL = "http://compat.test"
USER = [{"role": "user", "content": "hi"}]


def orka_err(code: int, message: str) -> dict:
    return {"error": {"code": code, "message": message}}


def openai_err(message: str, kind: str) -> dict:
    return {"error": {"message": message, "type": kind, "param": None, "code": None}}


@pytest.fixture
def shoal(function_client, compat, compat_server, monkeypatch):
    from shared.config import reset_settings

    monkeypatch.setenv("SHOAL_COMPAT_URL", COMPAT_URL)
    reset_settings()
    return SimpleNamespace(tasks=function_client("tasks"), internal=function_client("internal"),
                           catalog=function_client("catalog"), compat=compat, url=compat_server.url,
                           closed=compat_server.closed)


@pytest.fixture
def no_token_cache(monkeypatch):
    """Every call reads the store (the fencing tests look at the store, not at a replica's cache)."""
    from shared.config import reset_settings

    monkeypatch.setenv("SHOAL_TASK_TOKEN_CACHE_SECONDS", "0")
    reset_settings()


def start_task(shoal, name: str = "rt", **spec) -> None:
    body = {"name": name, "type": "agent", "prompt": "fix the bug", **spec}
    assert shoal.tasks.post("/api/v1/tasks", json=body, headers=AUTH).status_code == 201
    assert running(shoal, name).status_code == 204


def running(shoal, name: str = "rt"):
    return shoal.internal.post(f"/internal/v1/status/default/{name}", json={"phase": "Running"}, headers=AUTH)


def mint(shoal, name: str = "rt") -> dict:
    response = shoal.internal.post(f"/internal/v1/tasks/default/{name}/model-token", headers=AUTH)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def on_test_app(shoal, url: str) -> str:
    """A minted base URL, mapped onto the compat app this test serves."""
    assert url.startswith(COMPAT_URL)
    return shoal.url + url[len(COMPAT_URL):]


def openai_client(shoal, minted: dict) -> openai.OpenAI:
    return openai.OpenAI(base_url=on_test_app(shoal, minted["openaiBaseURL"]), api_key=minted["token"],
                         max_retries=0, _strict_response_validation=True)


def anthropic_client(shoal, minted: dict) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=on_test_app(shoal, minted["anthropicBaseURL"]), api_key=minted["token"],
                               max_retries=0, _strict_response_validation=True)


def bearer(minted: dict) -> dict:
    return {"Authorization": f"Bearer {minted['token']}"}


def usage(shoal, name: str = "rt") -> dict:
    """The task's usage once every answer of the compat server is closed: a call is counted after its
    answer is sent, so an SDK call may return a moment before its usage is written."""
    shoal.closed.wait()
    return shoal.tasks.get(f"/api/v1/tasks/{name}", headers=AUTH).get_json()["status"]["usage"]


def end_task(shoal, name: str = "rt") -> None:
    assert shoal.internal.post(f"/internal/v1/status/default/{name}", json={"phase": "Succeeded"},
                               headers=AUTH).status_code == 204


# -- minting -------------------------------------------------------------------------------------------
def test_mint_answers_201_with_a_token_its_expiry_and_the_compat_base_urls(shoal):
    start_task(shoal)
    before = time.time()
    response = shoal.internal.post("/internal/v1/tasks/default/rt/model-token", headers=AUTH)
    assert response.status_code == 201
    body = response.get_json()
    assert set(body) == {"token", "expiresAt", "anthropicBaseURL", "openaiBaseURL"}
    assert body["token"].startswith("shoal_tt_") and len(body["token"]) >= len("shoal_tt_") + 43  # 256 bits
    assert body["anthropicBaseURL"] == "http://compat.test/anthropic"
    assert body["openaiBaseURL"] == "http://compat.test/openai/v1"
    # No spec.timeout: the default lifetime, SHOAL_TASK_TOKEN_MAX_SECONDS (2 h).
    expires = datetime.fromisoformat(body["expiresAt"].replace("Z", "+00:00")).timestamp()
    assert before + 7200 - 2 <= expires <= time.time() + 7200 + 1


def test_the_token_lives_for_what_remains_of_the_task_timeout(shoal):
    start_task(shoal, timeout="10m")
    expires = datetime.fromisoformat(mint(shoal)["expiresAt"].replace("Z", "+00:00")).timestamp()
    assert time.time() + 600 - 5 <= expires <= time.time() + 600 + 1


def test_minting_again_gives_a_fresh_token_and_both_work(shoal, openai_upstream):
    start_task(shoal)
    first, second = mint(shoal), mint(shoal)
    assert first["token"] != second["token"]
    for minted in (first, second):
        assert openai_client(shoal, minted).chat.completions.create(model="m", messages=USER).choices


def test_the_worker_client_mints_over_http(shoal):
    from shared.workerapi.client import InternalClient
    from tests.support.servers import BackgroundServer

    start_task(shoal)
    with BackgroundServer(shoal.internal.application) as server:
        minted = InternalClient(server.url, DEV_TOKEN).mint_model_token("default", "rt")
    assert minted["token"].startswith("shoal_tt_") and minted["openaiBaseURL"] == "http://compat.test/openai/v1"


def test_mint_for_an_unknown_task_is_404(shoal):
    response = shoal.internal.post("/internal/v1/tasks/default/nope/model-token", headers=AUTH)
    assert response.status_code == 404
    assert response.get_json() == orka_err(404, "task not found")


def test_mint_for_a_task_that_is_not_running_is_409(shoal):
    assert shoal.tasks.post("/api/v1/tasks", json={"name": "rt", "type": "agent", "prompt": "p"},
                            headers=AUTH).status_code == 201
    response = shoal.internal.post("/internal/v1/tasks/default/rt/model-token", headers=AUTH)
    assert response.status_code == 409
    assert response.get_json() == orka_err(409, "task is not running")
    assert running(shoal).status_code == 204
    end_task(shoal)
    response = shoal.internal.post("/internal/v1/tasks/default/rt/model-token", headers=AUTH)
    assert response.status_code == 409
    assert response.get_json() == orka_err(409, "task is not running")


def test_mint_without_credentials_is_401(shoal):
    start_task(shoal)
    response = shoal.internal.post("/internal/v1/tasks/default/rt/model-token")
    assert response.status_code == 401
    assert response.get_json() == orka_err(401, "missing authorization header")
    response = shoal.internal.post("/internal/v1/tasks/default/rt/model-token",
                                   headers={"Authorization": "Bearer not-a-token"})
    assert response.status_code == 401
    assert response.get_json() == orka_err(401, "invalid token")


def test_a_task_token_cannot_mint_another(shoal):
    start_task(shoal)
    response = shoal.internal.post("/internal/v1/tasks/default/rt/model-token", headers=bearer(mint(shoal)))
    assert response.status_code == 403
    assert response.get_json() == orka_err(403, TASK_TOKEN_FORBIDDEN)


def test_the_plaintext_token_is_stored_nowhere(shoal, openai_upstream):
    from shared.store.clients import client
    from shared.store.tables import TABLES, table_name

    start_task(shoal)
    minted = mint(shoal)
    openai_client(shoal, minted).chat.completions.create(model="m", messages=USER)
    secret_part = minted["token"][len("shoal_tt_"):]
    dumps = []
    for table in TABLES:
        pages = client("dynamodb").get_paginator("scan").paginate(TableName=table_name(table.key))
        dumps += [json.dumps(item) for page in pages for item in page["Items"]]
    assert any('"tasktoken#' in d for d in dumps)  # the hashed record is there
    assert not [d for d in dumps if secret_part in d]


# -- using it on the compat endpoints ---------------------------------------------------------------------
def test_openai_sdk_with_the_token_is_a_plain_proxy_with_the_platform_key(shoal, openai_upstream):
    start_task(shoal)
    openai_upstream.script = [{"text": "patched"}]
    reply = openai_client(shoal, mint(shoal)).chat.completions.create(model="gpt-upstream", messages=USER)
    assert reply.choices[0].message.content == "patched"
    [sent] = openai_upstream.requests
    # Exactly the client's request: no Orka system prompt, tools or rules.
    assert sent["json"] == {"model": "gpt-upstream", "messages": USER}
    assert sent["headers"]["Authorization"] == "Bearer sk-upstream"


def test_anthropic_sdk_with_the_token_is_a_plain_proxy_with_the_platform_key(shoal, anthropic_upstream):
    start_task(shoal)
    minted = mint(shoal)
    anthropic_upstream.script = [{"text": "patched"}]
    message = anthropic_client(shoal, minted).messages.create(model="claude-upstream", max_tokens=256,
                                                              messages=USER)
    assert message.content[0].text == "patched"
    [sent] = anthropic_upstream.requests
    assert sent["json"] == {"model": "claude-upstream", "max_tokens": 256, "messages": USER}
    assert sent["headers"]["X-Api-Key"] == "sk-ant-upstream"
    assert minted["token"] not in json.dumps(sent["headers"])


def test_no_tool_loop_even_when_the_client_asks_for_server_tools(shoal, anthropic_upstream):
    start_task(shoal)
    anthropic_upstream.script = [{"text": "a plain answer without the goal-state sentinel"}]
    client = anthropic_client(shoal, mint(shoal))
    message = client.messages.create(model="claude-upstream", max_tokens=64, messages=USER,
                                     extra_headers={"X-Orka-Tools": "enabled"})
    assert message.content[0].text == "a plain answer without the goal-state sentinel"
    assert len(anthropic_upstream.requests) == 1  # no re-prompt
    assert "system" not in anthropic_upstream.requests[0]["json"] and "tools" not in anthropic_upstream.requests[0]["json"]


def test_a_model_the_platform_does_not_configure_runs_as_the_task_model(shoal, anthropic_upstream):
    start_task(shoal)
    client = anthropic_client(shoal, mint(shoal))
    client.messages.create(model="claude-sonnet-4-5", max_tokens=64, messages=USER)
    assert anthropic_upstream.requests[-1]["json"]["model"] == "claude-upstream"  # the default provider's
    client.messages.create(model="default/claude-explicit", max_tokens=64, messages=USER)
    assert anthropic_upstream.requests[-1]["json"]["model"] == "claude-explicit"  # a configured provider


def test_the_task_agents_model_is_the_fallback(shoal, anthropic_upstream):
    assert shoal.catalog.post("/api/v1/agents", json={"name": "coder", "spec": {
        "model": "claude-of-the-agent", "runtime": {"type": "claude"}}}, headers=AUTH).status_code == 201
    start_task(shoal, agentRef="coder")
    anthropic_client(shoal, mint(shoal)).messages.create(model="claude-sonnet-4-5", max_tokens=64, messages=USER)
    assert anthropic_upstream.requests[-1]["json"]["model"] == "claude-of-the-agent"


def test_a_translated_call_is_proxied_and_counted_too(shoal, openai_upstream):
    """The Anthropic endpoint in front of an OpenAI provider: the engine translates, without its loop."""
    start_task(shoal)
    message = anthropic_client(shoal, mint(shoal)).messages.create(model="claude-sonnet-4-5", max_tokens=64,
                                                                   messages=USER)
    assert message.content[0].text == "scripted: hi"
    [sent] = openai_upstream.requests
    assert sent["json"]["messages"] == USER and "tools" not in sent["json"]
    assert usage(shoal) == {"inputTokens": 11, "outputTokens": 3, "llmCalls": 1}


# -- usage --------------------------------------------------------------------------------------------------
def test_anthropic_usage_sums_a_plain_and_a_streamed_call(shoal, anthropic_upstream):
    start_task(shoal)
    assert "usage" not in shoal.tasks.get("/api/v1/tasks/rt", headers=AUTH).get_json()["status"]
    client = anthropic_client(shoal, mint(shoal))
    assert usage(shoal) == {"inputTokens": 0, "outputTokens": 0, "llmCalls": 0}  # counted from the first mint
    anthropic_upstream.script = [{"text": "x" * 40}, {"text": "y" * 80}]
    client.messages.create(model="claude-upstream", max_tokens=64, messages=USER)
    with client.messages.stream(model="claude-upstream", max_tokens=64, messages=USER) as stream:
        assert "".join(stream.text_stream) == "y" * 80
    assert usage(shoal) == {"inputTokens": 22, "outputTokens": 10 + 20, "llmCalls": 2}
    listed = shoal.tasks.get("/api/v1/tasks", headers=AUTH).get_json()["items"]
    assert listed[0]["status"]["usage"] == {"inputTokens": 22, "outputTokens": 30, "llmCalls": 2}


def test_openai_usage_sums_a_plain_and_a_streamed_call(shoal, openai_upstream):
    start_task(shoal)
    client = openai_client(shoal, mint(shoal))
    openai_upstream.script = [{"text": "x" * 40}, {"text": "y" * 80}]
    client.chat.completions.create(model="gpt-upstream", messages=USER)
    with client.chat.completions.stream(model="gpt-upstream", messages=USER) as stream:
        assert stream.get_final_completion().choices[0].message.content == "y" * 80
    assert usage(shoal) == {"inputTokens": 22, "outputTokens": 30, "llmCalls": 2}


def test_an_openai_stream_is_counted_without_showing_usage_the_client_did_not_ask_for(shoal, openai_upstream):
    start_task(shoal)
    minted = mint(shoal)
    openai_upstream.script = [{"text": "y" * 80}]
    response = shoal.compat.post("/openai/v1/chat/completions", headers=bearer(minted),
                                 json={"model": "gpt-upstream", "messages": USER, "stream": True})
    data = [line[6:] for line in response.get_data(as_text=True).split("\n") if line.startswith("data: ")]
    assert data[-1] == "[DONE]"
    chunks = [json.loads(d) for d in data[:-1]]
    assert all(c["choices"] and "usage" not in c for c in chunks)
    assert openai_upstream.requests[0]["json"]["stream_options"] == {"include_usage": True}
    assert usage(shoal) == {"inputTokens": 0, "outputTokens": 0, "llmCalls": 0}  # counted once the answer is sent:
    response.close()  # when the server closes it, after the last byte (the terminating chunk too)
    assert usage(shoal) == {"inputTokens": 11, "outputTokens": 20, "llmCalls": 1}


def test_a_stream_the_client_asked_usage_for_keeps_its_usage_chunk(shoal, openai_upstream):
    start_task(shoal)
    response = shoal.compat.post("/openai/v1/chat/completions", headers=bearer(mint(shoal)),
                                 json={"model": "gpt-upstream", "messages": USER, "stream": True,
                                       "stream_options": {"include_usage": True}})
    data = [json.loads(line[6:]) for line in response.get_data(as_text=True).split("\n")
            if line.startswith("data: {")]
    assert data[-1]["choices"] == [] and data[-1]["usage"]["prompt_tokens"] == 11
    response.close()  # what the server does once the answer is sent
    assert usage(shoal)["llmCalls"] == 1


@pytest.mark.parametrize("vendor,stream", [("openai", False), ("openai", True), ("anthropic", True),
                                           ("translated", False), ("translated", True)])
def test_the_client_has_its_whole_answer_before_the_usage_is_written(shoal, openai_upstream, monkeypatch,
                                                                    vendor, stream):
    """The store write is no part of what the client waits for: the SDK's call returns (a stream to its
    terminating chunk) while the write is held, and the write lands after, counted once. Proxied on the
    same wire, and translated (the Anthropic endpoint in front of the OpenAI provider)."""
    import shared.compat.usage as usage_module

    if vendor == "anthropic":
        shoal_llm = {"claude": {"type": "anthropic", "baseURL": openai_upstream.url, "apiKeyEnv": "OPENAI_API_KEY"}}
        monkeypatch.setenv("SHOAL_LLM_PROVIDERS", json.dumps(shoal_llm))
    release, released = threading.Event(), []
    write = usage_module.add_usage

    def add_usage(namespace: str, task: str, **counts) -> None:
        # Released by the test once the SDK has the whole answer; had the client waited for this write,
        # it would be released by no one and time out (False).
        released.append(release.wait(20))
        write(namespace, task, **counts)

    monkeypatch.setattr(usage_module, "add_usage", add_usage)
    start_task(shoal)
    minted = mint(shoal)
    if vendor == "openai":
        answer = openai_client(shoal, minted).chat.completions.create(model="m", messages=USER, stream=stream)
    else:
        model = "claude/m" if vendor == "anthropic" else "m"
        answer = anthropic_client(shoal, minted).messages.create(model=model, max_tokens=64, messages=USER,
                                                                 stream=stream)
    if stream:
        list(answer)  # to the end of the HTTP answer
    release.set()
    assert usage(shoal)["llmCalls"] == 1
    assert released == [True]


def test_a_deleted_task_takes_its_usage_along(shoal, openai_upstream):
    start_task(shoal)
    openai_client(shoal, mint(shoal)).chat.completions.create(model="m", messages=USER)
    assert usage(shoal)["llmCalls"] == 1
    assert shoal.tasks.delete("/api/v1/tasks/rt", headers=AUTH).status_code == 204
    start_task(shoal)  # the same name again
    mint(shoal)
    assert usage(shoal) == {"inputTokens": 0, "outputTokens": 0, "llmCalls": 0}


def test_other_callers_are_not_counted(shoal, openai_upstream):
    start_task(shoal)
    mint(shoal)
    response = shoal.compat.post("/openai/v1/chat/completions", headers={**AUTH, "X-Orka-Tools": "disabled"},
                                 json={"model": "gpt-upstream", "messages": USER})
    assert response.status_code == 200
    response.close()  # what the server does once the answer is sent (a task token's call is counted then)
    assert usage(shoal) == {"inputTokens": 0, "outputTokens": 0, "llmCalls": 0}


# -- limits -------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("method,path", [("GET", "/api/v1/tasks"), ("GET", "/api/v1/tasks/rt"),
                                         ("POST", "/api/v1/tasks"), ("GET", "/api/v1/auth/validate")])
def test_a_task_token_is_403_outside_the_model_endpoints(shoal, method, path):
    start_task(shoal)
    minted = mint(shoal)
    app = shoal.catalog if path.startswith("/api/v1/auth") else shoal.tasks
    response = app.open(path, method=method, headers=bearer(minted), json={"name": "x", "prompt": "p"})
    assert response.status_code == 403
    assert response.get_json() == orka_err(403, TASK_TOKEN_FORBIDDEN)


def test_a_task_token_stays_in_its_namespace(shoal, openai_upstream):
    start_task(shoal)
    response = shoal.compat.post("/openai/v1/chat/completions?namespace=other", headers=bearer(mint(shoal)),
                                 json={"model": "m", "messages": USER})
    assert response.status_code == 403
    assert response.get_json() == openai_err('namespace "other" not allowed, restricted to "default"',
                                             "permission_error")


def test_the_token_is_401_once_the_task_ended(shoal, anthropic_upstream, no_token_cache):
    from shared.auth.task_tokens import KIND
    from shared.store import ObjectStore

    start_task(shoal)
    minted = mint(shoal)
    client = anthropic_client(shoal, minted)
    client.messages.create(model="claude-upstream", max_tokens=64, messages=USER)
    end_task(shoal)
    with pytest.raises(anthropic.AuthenticationError) as raised:
        client.messages.create(model="claude-upstream", max_tokens=64, messages=USER)
    assert raised.value.status_code == 401
    assert raised.value.body == {"type": "error", "error": {"type": "authentication_error", "message": "invalid token"},
                                 "request_id": raised.value.response.headers["X-Request-Id"]}
    assert len(anthropic_upstream.requests) == 1
    records, _ = ObjectStore(KIND).list_page(minted_partition(minted), limit=None)
    assert records == []  # a fenced token's record is deleted on use


def minted_partition(minted: dict) -> str:
    from shared.auth.key_hash import hash_key

    return hash_key(minted["token"])[:2]


def test_the_token_is_401_once_a_newer_attempt_started(shoal, openai_upstream, no_token_cache):
    from shared.tasks.lifecycle import transition

    start_task(shoal)
    old = mint(shoal)
    assert transition("default", "rt", "Pending") is not None  # the next attempt (e.g. a retry)
    assert running(shoal).status_code == 204
    response = shoal.compat.post("/openai/v1/chat/completions", headers=bearer(old),
                                 json={"model": "m", "messages": USER})
    assert response.status_code == 401
    assert response.get_json() == openai_err("invalid token", "authentication_error")
    new = mint(shoal)
    assert openai_client(shoal, new).chat.completions.create(model="m", messages=USER).choices
    assert openai_upstream.requests[0]["headers"]["Authorization"] == "Bearer sk-upstream"


def test_an_unknown_task_token_is_401_in_each_dialect(shoal):
    fake = {"Authorization": "Bearer shoal_tt_" + "A" * 43}
    response = shoal.compat.post("/openai/v1/chat/completions", headers=fake, json={"model": "m", "messages": USER})
    assert response.status_code == 401
    assert response.get_json() == openai_err("invalid token", "authentication_error")
    response = shoal.tasks.get("/api/v1/tasks", headers=fake)
    assert response.status_code == 401
    assert response.get_json() == orka_err(401, "invalid token")


def test_an_expired_token_is_401(shoal, openai_upstream, no_token_cache):
    from shared.auth.key_hash import hash_key
    from shared.auth.task_tokens import KIND
    from shared.store import ObjectStore

    start_task(shoal)
    minted = mint(shoal)
    digest = hash_key(minted["token"])
    record = ObjectStore(KIND).get(digest[:2], digest)
    ObjectStore(KIND).replace(digest[:2], digest, record.doc, expected_version=record.version,
                              expiry=int(time.time()) - 1)  # as TTL would have it (deletion is lazy)
    response = shoal.compat.post("/openai/v1/chat/completions", headers=bearer(minted),
                                 json={"model": "m", "messages": USER})
    assert response.status_code == 401
    assert response.get_json() == openai_err("invalid token", "authentication_error")
    assert openai_upstream.requests == []


def test_a_replica_reuses_a_verified_token_for_a_few_seconds(shoal, openai_upstream, monkeypatch):
    """The documented window (SHOAL_TASK_TOKEN_CACHE_SECONDS): within it a call costs no store read."""
    from shared.config import reset_settings

    monkeypatch.setenv("SHOAL_TASK_TOKEN_CACHE_SECONDS", "60")
    reset_settings()
    start_task(shoal)
    client = openai_client(shoal, mint(shoal))
    client.chat.completions.create(model="m", messages=USER)
    end_task(shoal)
    assert client.chat.completions.create(model="m", messages=USER).choices  # still inside the window


# -- the Agent's own credential ---------------------------------------------------------------------------
def add_secret(fake_kube, name: str, data: dict[str, str]) -> None:
    fake_kube.add("/api/v1", "secrets", "default", {
        "metadata": {"name": name}, "type": "Opaque",
        "data": {k: base64.b64encode(v.encode()).decode() for k, v in data.items()}})


def add_agent(shoal, runtime: dict) -> None:
    assert shoal.catalog.post("/api/v1/agents", json={"name": "coder", "spec": {"runtime": runtime}},
                              headers=AUTH).status_code == 201


def test_the_agents_secret_key_replaces_the_platform_key(shoal, anthropic_upstream, fake_kube, leak_scan):  # noqa: F811
    add_secret(fake_kube, "claude-creds", {"ANTHROPIC_API_KEY": leak_scan.plant("sk-ant-agent-own")})
    add_agent(shoal, {"type": "claude", "secretRef": {"name": "claude-creds"}})
    start_task(shoal, agentRef="coder")
    minted = mint(shoal)
    leak_scan.plant(minted["token"])  # the token is not logged either
    leak_scan.watch(shoal.compat)
    client = anthropic_client(shoal, minted)
    message = client.messages.create(model="claude-upstream", max_tokens=64, messages=USER)
    with client.messages.stream(model="claude-upstream", max_tokens=64, messages=USER) as stream:
        streamed = "".join(stream.text_stream)
    assert [r["headers"]["X-Api-Key"] for r in anthropic_upstream.requests] == ["sk-ant-agent-own"] * 2
    leak_scan.record(message.model_dump_json() + streamed)
    response = shoal.compat.post("/anthropic/v1/messages", headers=bearer(minted),  # a raw answer, headers too
                                 json={"model": "claude-upstream", "max_tokens": 64, "messages": USER})
    assert response.status_code == 200
    response.close()  # what the server does once the answer is sent
    assert usage(shoal)["llmCalls"] == 3
    # (leak_scan checks every recorded body and every log line when the test ends)


def test_claude_codes_token_count_follows_its_messages_model_and_key(shoal, anthropic_upstream, fake_kube):
    """count_tokens resolves a task token's model and key as /messages does; it is no model call."""
    add_secret(fake_kube, "claude-creds", {"ANTHROPIC_API_KEY": "sk-ant-agent-own"})
    add_agent(shoal, {"type": "claude", "secretRef": {"name": "claude-creds"}})
    start_task(shoal, agentRef="coder")
    anthropic_upstream.script = [{"input_tokens": 5}]
    client = anthropic_client(shoal, mint(shoal))
    assert client.beta.messages.count_tokens(model="claude-sonnet-4-5", messages=USER).input_tokens == 5
    [sent] = anthropic_upstream.requests
    assert (sent["path"], sent["json"]["model"]) == ("/v1/messages/count_tokens", "claude-upstream")
    assert sent["headers"]["X-Api-Key"] == "sk-ant-agent-own"
    assert usage(shoal) == {"inputTokens": 0, "outputTokens": 0, "llmCalls": 0}


def test_a_secret_ref_key_names_the_key_and_vendor(shoal, openai_upstream, fake_kube):
    add_secret(fake_kube, "creds", {"MY_KEY": "unused", "OPENAI_API_KEY": "sk-openai-agent"})
    add_agent(shoal, {"type": "opencode", "secretRef": {"name": "creds", "key": "OPENAI_API_KEY"}})
    start_task(shoal, agentRef="coder")
    openai_client(shoal, mint(shoal)).chat.completions.create(model="gpt-upstream", messages=USER)
    assert openai_upstream.requests[0]["headers"]["Authorization"] == "Bearer sk-openai-agent"


def test_a_missing_agent_secret_is_503_never_the_platform_key(shoal, anthropic_upstream, fake_kube):
    add_agent(shoal, {"type": "claude", "secretRef": {"name": "absent"}})
    start_task(shoal, agentRef="coder")
    with pytest.raises(anthropic.APIStatusError) as raised:
        anthropic_client(shoal, mint(shoal)).messages.create(model="claude-upstream", max_tokens=64,
                                                             messages=USER)
    assert raised.value.status_code == 503
    assert raised.value.body["error"]["message"] == ('the agent\'s runtime credential is unavailable: '
                                                     'secret "absent" not found')
    assert anthropic_upstream.requests == []


def test_an_agent_credential_needs_a_provider_of_its_vendor(shoal, openai_upstream, fake_kube):
    add_secret(fake_kube, "claude-creds", {"ANTHROPIC_API_KEY": "sk-ant-agent-own"})
    add_agent(shoal, {"type": "claude", "secretRef": {"name": "claude-creds"}})
    start_task(shoal, agentRef="coder")
    response = shoal.compat.post("/anthropic/v1/messages", headers=bearer(mint(shoal)),
                                 json={"model": "claude-sonnet-4-5", "max_tokens": 64, "messages": USER})
    assert response.status_code == 400
    assert response.get_json()["error"] == {
        "type": "invalid_request_error",
        "message": 'no anthropic provider is configured for the runtime credential of agent "coder"'}
    assert openai_upstream.requests == []


def test_a_named_provider_of_the_vendor_serves_the_agent_credential(shoal, openai_upstream, fake_kube, monkeypatch):
    from shared.config import reset_settings

    # The platform's default is OpenAI; an Anthropic provider without a key of its own serves agents
    # that bring theirs.
    monkeypatch.setenv("SHOAL_LLM_PROVIDERS", json.dumps({"claude": {
        "type": "anthropic", "model": "claude-named", "baseURL": openai_upstream.url}}))
    reset_settings()
    add_secret(fake_kube, "claude-creds", {"ANTHROPIC_API_KEY": "sk-ant-agent-own"})
    add_agent(shoal, {"type": "claude", "secretRef": {"name": "claude-creds"}})
    start_task(shoal, agentRef="coder")
    anthropic_client(shoal, mint(shoal)).messages.create(model="claude-sonnet-4-5", max_tokens=64, messages=USER)
    [sent] = openai_upstream.requests
    assert sent["path"] == "/v1/messages" and sent["json"]["model"] == "claude-named"
    assert sent["headers"]["X-Api-Key"] == "sk-ant-agent-own"


def test_the_dev_token_still_reaches_the_model_with_server_tools(shoal, openai_upstream):
    """Unchanged for other callers: the compat loop (its system prompt) runs for the dev token."""
    client = openai.OpenAI(base_url=shoal.url + "/openai/v1", api_key=DEV_TOKEN, max_retries=0)
    openai_upstream.script = [{"text": "<ORKA_GOAL_STATE_REACHED> done"}]
    client.chat.completions.create(model="gpt-upstream", messages=USER)
    assert openai_upstream.requests[0]["json"]["messages"][0]["role"] == "system"
