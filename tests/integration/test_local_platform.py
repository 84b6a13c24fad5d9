"""The local platform over real HTTP: `make run`'s processes, the end-to-end task flow, a restart."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import httpx
import pytest

from shared.events.envelope import parse
from shared.local.manifests import functions
from shared.local.platform import wait_http
from shared.local.serve import spawn_moto
from tests.support.events import validate_against_registry
from tests.support.local_platform import AUTH, ROOT, TOKEN, Platform, wait_phase

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def moto_server():
    """A state backend that outlives the platform, so a restart can be observed."""
    proc, url = spawn_moto(stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_http(url + "/moto-api/", process=proc)
    yield url
    proc.terminate()
    proc.wait(timeout=10)


def test_task_runs_end_to_end_and_survives_a_restart(moto_server, tmp_path):
    event_log = tmp_path / "events.jsonl"
    platform = Platform(moto_server, event_log)
    try:
        assert f"dev token:  {TOKEN}" in platform.banner
        assert sorted(platform.function_ports) and len(platform.function_ports) == len(functions())
        with httpx.Client(base_url=platform.url, headers=AUTH, timeout=10) as client:
            assert httpx.get(platform.url + "/api/v1/tasks").json() == {
                "error": {"code": 401, "message": "missing authorization header"}}
            ready = client.get("/readyz").json()
            assert ready["status"] == "ok" and ready["llm"] == {"provider": "mock", "model": "shoal-mock"}
            response = client.post("/api/v1/tasks", json={"name": "hello", "type": "ai", "prompt": "say hi"})
            assert response.status_code == 201
            task = wait_phase(client, "hello")
            assert task["status"]["phase"] == "Succeeded", task["status"]
            assert client.get("/api/v1/tasks/hello/result").json() == {
                "result": "Hello from shoal-mock. You said: say hi"}
            # Built once per meta process (2–7 s of CPU, docs/api-reference.md): more than the client's 10 s
            # on a loaded 2-core machine.
            assert client.get("/openapi.json", timeout=60).json()["openapi"] == "3.1.0"
            chat = client.post("/api/v1/chat", json={"message": "hi", "sessionId": "it-chat"},
                               headers={"Accept": "application/json"}).json()
            assert chat["sessionId"] == "it-chat" and chat["message"] == "Hello from shoal-mock. You said: hi"
            assert chat["toolCalls"] == [] and chat["usage"]["llmCalls"] == 1
        _compat_through_the_gateway(platform.url)
    finally:
        assert platform.stop() == 0
    # Every event that crossed the broker matches its schema in events/.
    events = [parse({"content-type": "application/cloudevents+json"}, line)
              for line in event_log.read_bytes().splitlines()]
    for event in events:
        validate_against_registry(event)
    assert [e.type for e in events if e.subject == "default/hello"] == [
        "dev.shoal.task.created", "dev.shoal.task.started", "dev.shoal.task.result.saved",
        "dev.shoal.task.finished"]
    for port in platform.function_ports:  # every function process is gone
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)

    again = Platform(moto_server)
    try:
        with httpx.Client(base_url=again.url, headers=AUTH, timeout=10) as client:
            task = client.get("/api/v1/tasks/hello").json()
            assert task["status"]["phase"] == "Succeeded"
            assert client.get("/api/v1/tasks/hello/result").json()["result"].startswith("Hello from shoal-mock")
            assert client.post("/api/v1/tasks", json={"name": "hello", "type": "ai", "prompt": "x"}).status_code == 409
            # the chat turn's events outlived the processes that produced them
            replay = client.get("/api/v1/chat/it-chat/stream", headers={"Last-Event-ID": "0"}).text
            assert replay.startswith("id: 1\nevent: status\n") and "event: done" in replay
    finally:
        assert again.stop() == 0


def _compat_through_the_gateway(url: str) -> None:
    """The vendors' SDKs against `make run`'s gateway: plain and streamed (unbuffered) on both endpoints."""
    import anthropic
    import openai

    said = "Hello from shoal-mock. You said: hi"
    oai = openai.OpenAI(base_url=url + "/openai/v1", api_key=TOKEN, max_retries=0)
    answer = oai.chat.completions.create(model="shoal-mock", messages=[{"role": "user", "content": "hi"}])
    assert answer.id.startswith("chatcmpl-") and answer.choices[0].message.content == said
    streamed = oai.chat.completions.create(model="shoal-mock", messages=[{"role": "user", "content": "hi"}],
                                           stream=True)
    assert "".join(chunk.choices[0].delta.content or "" for chunk in streamed if chunk.choices) == said
    claude = anthropic.Anthropic(base_url=url + "/anthropic", api_key=TOKEN, max_retries=0)
    message = claude.messages.create(model="shoal-mock", max_tokens=64, messages=[{"role": "user", "content": "hi"}])
    assert message.id.startswith("msg_") and message.content[0].text == said
    with claude.messages.stream(model="shoal-mock", max_tokens=64,
                                messages=[{"role": "user", "content": "hi"}]) as stream:
        assert stream.get_final_text() == said
    with pytest.raises(openai.AuthenticationError):
        openai.OpenAI(base_url=url + "/openai/v1", api_key="wrong", max_retries=0).models.list()


def test_a_configured_provider_without_its_key_stops_the_platform(moto_server):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SHOAL_", "OPENAI", "ANTHROPIC"))}
    env.update({"SHOAL_LLM_PROVIDER": "openai", "SHOAL_PORT": "0", "AWS_ENDPOINT_URL": moto_server})
    result = subprocess.run([sys.executable, "-m", "shared.local"], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode != 0
    assert "provider openai is configured but OPENAI_API_KEY is not set" in result.stderr


def test_a_busy_port_stops_the_platform_with_one_line(moto_server):
    from shared.local.serve import listen

    with listen() as taken:
        port = taken.getsockname()[1]
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SHOAL_", "OPENAI", "ANTHROPIC"))}
        env.update({"SHOAL_PORT": str(port), "AWS_ENDPOINT_URL": moto_server})
        result = subprocess.run([sys.executable, "-m", "shared.local"], cwd=ROOT, env=env, capture_output=True,
                                text=True, timeout=60)
    assert result.returncode == 2
    assert result.stderr == (f"shoal: cannot listen on 127.0.0.1:{port} (Address already in use); "
                             "set SHOAL_PORT to a free port, or 0 for any\n")


def test_a_parent_task_delegates_two_children_that_exchange_a_message(moto_server, tmp_path):
    """Issue 4's integration: coordination over the local platform, every hop real (broker, dispatcher,
    worker subprocesses, internal API); the mock model plays each task's part from one script."""
    import json

    script = {
        "coordinate the twins": [
            {"tool_calls": [
                {"name": "delegate_task", "arguments": {"agent": "helper", "name": "twin-a",
                                                        "prompt": "twin-a: tell twin-b the password"}},
                {"name": "delegate_task", "arguments": {"agent": "helper", "name": "twin-b",
                                                        "prompt": "twin-b: learn the password from twin-a"}}]},
            {"tool_calls": [{"name": "wait_for_tasks", "arguments": {"tasks": ["twin-a", "twin-b"], "timeout": "50s"}}]},
            {"text": "Both twins reported:\n{tool_results}"}],
        "twin-a:": [
            {"tool_calls": [{"name": "send_message", "arguments": {"to_task": "twin-b",
                                                                   "content": "the password is swordfish"}}]},
            {"text": "twin-a told twin-b"}],
        "twin-b:": [
            {"tool_calls": [{"name": "check_messages", "arguments": {"wait_seconds": 40}}]},
            {"text": "twin-b heard: {tool_results}"}],
    }
    path = tmp_path / "script.json"
    path.write_text(json.dumps(script))
    platform = Platform(moto_server, extra_env={"SHOAL_MOCK_SCRIPT": str(path)})
    try:
        with httpx.Client(base_url=platform.url, headers=AUTH, timeout=10) as client:
            # Children name an Agent; the dispatcher resolves it (a missing one would fail them).
            assert client.post("/api/v1/agents", json={"name": "helper", "spec": {
                "systemPrompt": "You are one of two twins."}}).status_code == 201
            body = {"name": "twins", "type": "ai", "prompt": "coordinate the twins",
                    "ai": {"coordination": {"enabled": True, "allowedAgents": ["helper"]}}}
            assert client.post("/api/v1/tasks", json=body).status_code == 201
            task = wait_phase(client, "twins", timeout=90)
            assert task["status"]["phase"] == "Succeeded", task["status"]
            result = client.get("/api/v1/tasks/twins/result").json()["result"]
            assert result.startswith("Both twins reported:")
            assert "twin-a told twin-b" in result and "twin-b heard:" in result and "swordfish" in result
            children = client.get("/api/v1/tasks/twins/children").json()["items"]
            assert sorted(c["metadata"]["name"] for c in children) == ["twin-a", "twin-b"]
            assert all(c["status"]["phase"] == "Succeeded" for c in children)
            deadline = time.monotonic() + 45  # the scheduler records finished children (generous: loaded CI)
            while len(client.get("/api/v1/tasks/twins").json()["status"].get("childTasks", [])) < 2:
                assert time.monotonic() < deadline, "childTasks were not recorded"
                time.sleep(0.2)
            recorded = sorted(client.get("/api/v1/tasks/twins").json()["status"]["childTasks"],
                              key=lambda c: c["name"])  # recorded in the order they finished
            assert [(c["name"], c["agent"], c["phase"]) for c in recorded] == [
                ("twin-a", "helper", "Succeeded"), ("twin-b", "helper", "Succeeded")]
            assert "swordfish" in recorded[1]["result"]
            with client.stream("GET", "/api/v1/tasks/twins/stream") as stream:
                text = "".join(stream.iter_text())
            assert "event: tool_call" in text and "event: task.finished" in text
    finally:
        assert platform.stop() == 0


def test_stopping_during_a_chat_turn_prints_no_traceback(tmp_path):
    """Ctrl-C while a chat turn runs: the functions stop before the store they write to, so the turn
    ends (or is killed) against a live store; stopping them together printed a traceback per store call
    the turn still made."""
    import contextlib
    import json
    import threading

    script = tmp_path / "script.json"
    script.write_text(json.dumps([{"delay": 3, "text": "slow reply"}]))
    errors = tmp_path / "stderr"
    platform = Platform(None, extra_env={"SHOAL_STATE_DIR": str(tmp_path / "state"), "SHOAL_MOCK_SCRIPT": str(script)},
                        stderr=errors)
    answers = []

    def chat() -> None:
        with contextlib.suppress(httpx.HTTPError):
            answers.append(httpx.post(platform.url + "/api/v1/chat", json={"message": "hi"}, timeout=30,
                                      headers={**AUTH, "Accept": "application/json"}).status_code)

    turn = threading.Thread(target=chat)
    try:
        turn.start()
        time.sleep(1.5)  # the turn is in the model's 3 s by now
    finally:
        code = platform.stop()
        turn.join(timeout=30)
    assert code == 0
    assert "Traceback" not in errors.read_text()
