"""Worker tools over memory (recall_memory, remember, propose_memory, search_transcript) and the
agent/skill/tool resolution of a task, against moto; one run through the real agent loop."""

from __future__ import annotations

import json

import pytest

from shared.agent.loop import run_agent
from shared.agent.tools import ToolRegistry
from shared.llm.base import Message
from shared.llm.mock import MockProvider

pytestmark = pytest.mark.usefixtures("aws", "event_sink")


def tools(**ctx):
    from shared.memory.worker_tools import memory_tools

    return {t.spec.name: t for t in memory_tools("default", task_name="t1", agent_name="ops", **ctx)}


def test_remember_creates_a_pending_memory_proposal_with_tags(event_sink):
    from shared.memory.proposals import get_proposal

    result = tools()["remember"].run({"content": "Staging is eu-west-1\nmore", "tags": ["Infra", "infra"]})
    assert result["status"] == "pending" and result["proposalId"].startswith("mprop-")
    doc = get_proposal("default", result["proposalId"])
    assert (doc["type"], doc["title"], doc["taskName"], doc["agentName"]) == ("memory", "Staging is eu-west-1", "t1", "ops")
    assert doc["description"] == "Tags: infra"
    assert len(event_sink.of_type("dev.shoal.memory.proposed")) == 1


def test_propose_memory_defaults_to_skill_and_validates():
    t = tools()["propose_memory"]
    assert t.run({}) == {"success": False, "error": "title is required", "errorType": "invalid_arguments"}
    result = t.run({"title": "Add a lint skill", "skill_name": "lint", "patch": "+ruff"})
    assert result["type"] == "skill" and result["status"] == "pending"


def test_recall_memory_filters_and_counts_recalls():
    from shared.memory.memories import create_memory, get_memory

    a = create_memory("default", {"content": "Deploys use ArgoCD", "tags": ["deploy"], "agentName": "ops"})
    create_memory("default", {"content": "Lint with ruff", "tags": ["python"]})
    t = tools()["recall_memory"]
    result = t.run({"query": "argocd"})
    assert result["count"] == 1 and result["memories"][0]["id"] == a["id"]
    assert t.run({"tags": ["PYTHON"]})["memories"][0]["content"] == "Lint with ruff"
    assert t.run({"agent_name": "ops", "limit": 5})["count"] == 1
    assert t.run({"limit": 0}) == {"success": False, "error": "limit must be a positive integer",
                                   "errorType": "invalid_arguments"}
    assert get_memory("default", a["id"])["recalledCount"] == 2  # the python recall did not return it


def test_search_transcript_finds_snippets_by_role_and_session():
    from shared.memory.sessions import append_message
    from shared.store import ObjectStore

    for name in ("s1", "s2"):
        ObjectStore("session").create("default", name, {"name": name, "sessionType": "chat"})
    append_message("default", "s1", {"role": "user", "content": "why does the canary fail on arm64?"})
    append_message("default", "s1", {"role": "assistant", "content": "The canary image lacks arm64 layers."})
    append_message("default", "s2", {"role": "user", "content": "canary again"})
    t = tools()["search_transcript"]
    assert t.run({"query": "CANARY"})["count"] == 3
    hit = t.run({"query": "canary", "roles": ["assistant"], "max_snippet_length": 20})["matches"]
    assert hit == [{"session": "s1", "order": 2, "role": "assistant", "snippet": "The canary image lac", "ts": None}]
    assert [m["session"] for m in t.run({"query": "canary", "exclude_session_name": "s1"})["matches"]] == ["s2"]
    assert t.run({"query": "canary", "session_name": "s2"})["count"] == 1
    assert t.run({"query": ""})["errorType"] == "invalid_arguments"


def test_the_agent_loop_calls_remember_and_recall():
    script = [{"tool_calls": [{"name": "remember", "arguments": {"content": "Prod freeze on Fridays"}}]},
              {"tool_calls": [{"name": "recall_memory", "arguments": {"query": "freeze"}}]},
              {"text": "noted"}]
    result = run_agent(MockProvider(script=script), [Message(role="user", content="remember the freeze")],
                       tools=ToolRegistry(list(tools().values())))
    assert result.text == "noted"
    assert json.loads(result.tool_calls[0]["result"])["status"] == "pending"
    # a proposal is not memory until reviewed and applied
    assert json.loads(result.tool_calls[1]["result"]) == {"memories": [], "count": 0}


def test_resolve_for_task_merges_agent_and_task_references():
    from shared.catalog.resolution import resolve_for_task
    from shared.errors import NotFound
    from shared.store import ObjectStore
    from shared.store.blobs import put_blob

    ObjectStore("agent").create("default", "dev", {"spec": {"model": "m1", "systemPrompt": "Be careful.",
                                                           "tools": ["web_search", "lookup"], "skills": ["review"]}})
    ObjectStore("tool").create("default", "lookup", {"spec": {"description": "Lookup", "http": {
        "url": "https://api.example.com/lookup"}}, "status": {"endpoint": "https://api.example.com/lookup"}})
    put_blob("skills/default/review/abc.md", b"# Review\nCheck tests.")
    ObjectStore("skill").create("default", "review", {"spec": {"content": {"sha256": "abc"}}})
    resolved = resolve_for_task("default", {"agentRef": {"name": "dev"}, "ai": {"model": "m2"},
                                            "tools": [{"name": "lookup"}]})
    assert resolved.settings == {"model": "m2", "systemPrompt": "Be careful."}
    assert resolved.tool_names == ["web_search", "lookup"] and [t.spec.name for t in resolved.tools] == ["lookup"]
    assert resolved.system_prompt() == "Be careful.\n\n## Skill: review\n\n# Review\nCheck tests."
    with pytest.raises(NotFound, match='agent "nope" not found'):
        resolve_for_task("default", {"agentRef": "nope"})
    with pytest.raises(NotFound, match='skill "gone" not found'):
        resolve_for_task("default", {"skills": ["gone"]})
