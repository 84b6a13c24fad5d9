"""The real coding-agent CLIs (pinned in runtimes/package.json, `make runtimes`) as Shoal runs them: the
worker drives each over ACP in a clone of a repository on a loopback git server; its model calls go
through Shoal's compat endpoints with the task token to the scripted upstream, which answers with the
runtime's own shell tool; the change is committed and pushed. Each CLI gets the tool name and argument
shape it offers its model (docs/agents.md)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.runtime_harness import require_runtimes, runtime_harness

ROOT = Path(__file__).resolve().parents[2]
RUNTIMES = ROOT / "runtimes"
pytestmark = pytest.mark.integration
# An OpenAI-wire provider beside the default Anthropic one: a runtime asking for `gpt-5.5` (Codex) or
# `gpt-4.1` (Copilot, OpenCode) gets it by name, relayed on its own wire.
OPENAI_PROVIDER = {"oai": {"type": "openai", "model": "gpt-5.5", "baseURL": "{llm}/v1", "apiKeyEnv": "OPENAI_API_KEY"},
                   "oai41": {"type": "openai", "model": "gpt-4.1", "baseURL": "{llm}/v1",
                             "apiKeyEnv": "OPENAI_API_KEY"}}


@pytest.fixture
def harness(function_client, scripted_llm, monkeypatch, tmp_path):
    require_runtimes(RUNTIMES)
    providers = json.dumps(OPENAI_PROVIDER).replace("{llm}", scripted_llm.url)
    # The CLIs keep caches in $HOME (Copilot unpacks itself there): a home of the test's own.
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    with runtime_harness(function_client, scripted_llm, monkeypatch, tmp_path, RUNTIMES, env={
            "SHOAL_LLM_PROVIDERS": providers, "OPENAI_API_KEY": "sk-oai-upstream"}) as shoal:
        yield shoal


CASES = {
    # runtime: (the shell tool call its model is offered, the wire its model call arrives on)
    "claude": ({"name": "Bash", "arguments": {"command": "echo made by claude > out.txt",
                                              "description": "Write out.txt"}}, "/v1/messages"),
    "codex": ({"name": "exec_command", "arguments": {"cmd": "echo made by codex > out.txt"}}, "/v1/responses"),
    "copilot": ({"name": "bash", "arguments": {"command": "echo made by copilot > out.txt",
                                               "description": "Write out.txt"}}, "/v1/chat/completions"),
    "opencode": ({"name": "bash", "arguments": {"command": "echo made by opencode > out.txt",
                                                "description": "Write out.txt"}}, "/v1/chat/completions"),
}


@pytest.mark.parametrize("runtime", list(CASES))
def test_a_real_runtime_edits_the_repository_and_its_work_is_pushed(harness, runtime):
    call, wire = CASES[runtime]
    harness.agent(runtime)
    url = harness.git.create_repo(f"app-{runtime}")
    harness.llm.script = [{"tool_calls": [call]}, {"text": f"Wrote out.txt with {runtime}"}]
    task = harness.run(f"real-{runtime}", {"prompt": "Write out.txt", "timeout": "5m", "workspace": {"gitRepo": url}})
    assert task["status"]["phase"] == "Succeeded", (task["status"], harness.llm.requests[-1:] if harness.llm.requests
                                                   else None)
    changes = harness.changes(f"real-{runtime}")
    assert changes["runtime"] == runtime and changes["files"] == ["out.txt"]
    assert harness.git.read(f"app-{runtime}", changes["commit"], "out.txt") == f"made by {runtime}\n"
    assert harness.git.ref(f"app-{runtime}", f"refs/heads/shoal/real-{runtime}") == changes["commit"]
    assert harness.result(f"real-{runtime}").startswith(f"Wrote out.txt with {runtime}")
    # Every model call reached the upstream on the runtime's own wire with the platform's key: the
    # runtime only ever held its task token.
    calls = [r for r in harness.llm.requests if r["path"].endswith(("/messages", "/responses", "/chat/completions"))]
    assert calls and {r["path"] for r in calls} == {wire}
    keys = {r["headers"].get("X-Api-Key") or r["headers"].get("Authorization") for r in calls}
    assert keys == ({"sk-ant-upstream"} if wire == "/v1/messages" else {"Bearer sk-oai-upstream"})
    assert harness.task(f"real-{runtime}")["status"]["usage"]["llmCalls"] == len(calls)
