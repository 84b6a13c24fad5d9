"""The worker's main() in-process against the real worker API: tools, progress events, session transcript."""

from __future__ import annotations

import json
import threading

import pytest
from werkzeug.serving import make_server

from tests.conftest import AUTH, DEV_TOKEN


def use_script(monkeypatch, path, script: dict) -> None:
    """The mock model answers from `script` (written to `path`) from now on."""
    from shared.config import reset_settings

    path.write_text(json.dumps(script))
    monkeypatch.setenv("SHOAL_MOCK_SCRIPT", str(path))
    reset_settings()


@pytest.fixture
def worker_env(function_client, monkeypatch, tmp_path):
    from shared.config import reset_settings

    tasks = function_client("tasks")
    server = make_server("127.0.0.1", 0, function_client("internal").application, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("SHOAL_INTERNAL_URL", f"http://127.0.0.1:{server.server_port}")
    monkeypatch.setenv("SHOAL_WORKER_TOKEN", DEV_TOKEN)
    monkeypatch.setenv("SHOAL_WORKSPACE", str(tmp_path))
    reset_settings()

    def run(name: str, body: dict) -> dict:
        from shared.tasks.lifecycle import transition
        from shared.worker.run import main

        response = tasks.post("/api/v1/tasks", json={"name": name, **body}, headers=AUTH)
        assert response.status_code == 201
        transition("default", name, "Running")
        monkeypatch.setenv("SHOAL_TASK_NAMESPACE", "default")
        monkeypatch.setenv("SHOAL_TASK_NAME", name)
        monkeypatch.setenv("SHOAL_TASK_ATTEMPT", "1")  # its spec comes from the worker API, fenced by this
        assert main() == 0
        return tasks.get(f"/api/v1/tasks/{name}", headers=AUTH).get_json()

    yield tasks, function_client, run, tmp_path
    server.shutdown()


def test_worker_runs_builtin_tools_reports_progress_and_keeps_the_session(worker_env, monkeypatch, tmp_path):
    from shared.config import reset_settings
    from shared.tasks.feed import read_feed
    from shared.tasks.repository import tasks as store

    tasks, function_client, run, workspace = worker_env
    use_script(monkeypatch, tmp_path.parent / "script.json", {"write it": [
        {"tool_calls": [{"name": "file_write", "arguments": {"path": "out/a.txt", "content": "hi", "create_dirs": True}}]},
        {"text": "wrote: {tool_results}"}]})
    first = run("w1", {"type": "ai", "prompt": "write it", "sessionRef": {"name": "s"}})
    assert first["status"]["phase"] == "Succeeded"
    assert (workspace / "out" / "a.txt").read_text() == "hi"
    result = tasks.get("/api/v1/tasks/w1/result", headers=AUTH).get_json()["result"]
    assert result.startswith("wrote: ") and '"bytesWritten": 2' in result
    kinds = [item["event"] for _, item in read_feed(store.get("default", "w1"))]
    assert kinds[:2] == ["task.created", "task.started"]
    assert {"tool_call", "tool_result", "message"} <= set(kinds)

    monkeypatch.delenv("SHOAL_MOCK_SCRIPT")
    reset_settings()
    second = run("w2", {"type": "ai", "prompt": "and now?", "sessionRef": {"name": "s"}})
    assert second["status"]["phase"] == "Succeeded"
    internal = function_client("internal")
    lines = [json.loads(x) for x in internal.get("/internal/v1/sessions/default/s/transcript",
                                                  headers=AUTH).get_data(as_text=True).splitlines()]
    assert [(x["role"], x["content"][:12]) for x in lines] == [
        ("user", "write it"), ("assistant", ""), ("tool", '{"success": '), ("assistant", 'wrote: {"suc'),
        ("user", "and now?"), ("assistant", "Hello from s")]
    assert lines[1]["toolCalls"][0]["name"] == "file_write" and lines[2]["toolCallID"] == lines[1]["toolCalls"][0]["id"]


def test_an_agent_task_calls_a_catalog_tool_and_a_memory_tool_through_the_worker_api(
        worker_env, monkeypatch, tmp_path, httpserver, fake_kube):
    """The dispatcher's stored resolution (read with the spec) drives model, prompt and tools; the catalog HTTP
    tool and `remember` run server-side behind /internal/v1 (the worker holds no secret, no store)."""
    import base64

    from shared.tasks.agent_setup import resolve_for_dispatch
    from shared.tasks.repository import resolved_agents
    from shared.worker.run import messages_for

    tasks, function_client, run, _ = worker_env
    secret = "plant-worker-tool-key-51c2"
    fake_kube.add("/api/v1", "secrets", "default", {
        "metadata": {"name": "search-secret"}, "type": "Opaque",
        "data": {"api-key": base64.b64encode(secret.encode()).decode()}})
    httpserver.expect_request("/search", method="POST", json={"query": "shoal"},
                              headers={"Authorization": f"Bearer {secret}"}).respond_with_json({"hits": ["knative"]})
    catalog = function_client("catalog")
    assert catalog.post("/api/v1/skills", json={"name": "brief", "spec": {"content": {"inline": "Cite sources."}}},
                        headers=AUTH).status_code == 201
    from shared.catalog.tools import provision_tool

    provision_tool("default", "search", {  # a Secret-injecting tool: an operator's to store, not REST's
        "description": "Search the docs", "parameters": {"type": "object", "properties": {"query": {"type": "string"}}},
        "http": {"url": httpserver.url_for("/search"), "authSecretRef": {"name": "search-secret", "key": "api-key"}}})
    assert catalog.post("/api/v1/agents", json={"name": "ops", "spec": {
        "provider": "mock", "model": "ops-model", "systemPrompt": "You are ops.", "skills": ["brief"],
        "tools": ["search", "file_read"], "coordination": {"enabled": True}}}, headers=AUTH).status_code == 201
    monkeypatch.setenv("SHOAL_OUTBOUND_ALLOW", "127.0.0.1,localhost")
    use_script(monkeypatch, tmp_path.parent / "agent-script.json", {"look it up": [
        {"tool_calls": [{"name": "search", "arguments": {"query": "shoal"}},
                        {"name": "remember", "arguments": {"content": "Shoal runs on Knative", "tags": ["Infra"]}}]},
        {"text": "found: {tool_results}"}]})
    spec = {"type": "ai", "prompt": "look it up", "agentRef": {"name": "ops"}}
    resolved = resolve_for_dispatch("default", spec)  # what the dispatcher stores for the worker's attempt
    resolved_agents.create("default", "ag", {"attempt": 1, "agent": resolved})
    assert messages_for(spec, resolved)[0].content == "You are ops.\n\n## Skill: brief\n\nCite sources."

    done = run("ag", {"type": "ai", "prompt": "look it up", "agentRef": {"name": "ops"}})
    assert done["status"]["phase"] == "Succeeded", done["status"]
    assert done["status"]["message"] == "completed in 2 LLM call(s) with mock/ops-model"
    result = tasks.get("/api/v1/tasks/ag/result", headers=AUTH).get_json()["result"]
    assert '"knative"' in result and secret not in result
    assert '"status": "pending"' in result
    proposals = function_client("memory").get("/api/v1/memory-proposals", headers=AUTH).get_json()
    items = proposals.get("items", proposals) if isinstance(proposals, dict) else proposals
    [proposal] = items
    assert (proposal["taskName"], proposal["agentName"], proposal["content"]) == ("ag", "ops", "Shoal runs on Knative")


def test_the_worker_registers_tools_from_the_agent_and_coordination(monkeypatch, tmp_path):
    """Which tools a worker offers: built-ins named, catalog tools, coordination + memory + PR-loop tools;
    the GitHub issue tools only when listed."""
    from shared.worker.run import build_tools
    from shared.workerapi.client import InternalClient

    class Offline(InternalClient):
        def call(self, method, path, *, json=None, params=None):
            return 404, None

    client = Offline("http://127.0.0.1:9", "t")
    plain = build_tools({}, client, "default", "t", tmp_path, {"tools": ["file_read", "get_issue"],
                                                              "catalogTools": [{"name": "search"}]})
    assert sorted(s.name for s in plain.specs()) == ["file_read", "get_issue", "search"]
    coordinated = build_tools({}, client, "default", "t", tmp_path, {"tools": [], "coordination": {"enabled": True}})
    names = {s.name for s in coordinated.specs()}
    assert {"delegate_task", "recall_memory", "remember", "propose_memory", "search_transcript",
            "list_pull_requests", "check_pr_review_marker", "review_pull_request", "post_review_comment",
            "web_fetch"} <= names
    assert not names & {"list_issues", "get_issue", "comment_on_issue"}


def test_the_tool_loop_prints_what_a_person_reads_and_keeps_json_records_off_stdout(worker_env, monkeypatch,
                                                                                    tmp_path, capsys):
    """stdout is the job's log (`/api/jobs/:id/logs`): the model's text, each tool call and result in a line;
    the worker's structured records go to stderr (issue 20)."""

    _, _, run, _ = worker_env
    use_script(monkeypatch, tmp_path.parent / "script-print.json", {"print it": [
        {"tool_calls": [{"name": "file_write", "arguments": {"path": "p.txt", "content": "hi"}}]},
        {"text": "Done: wrote p.txt"}]})
    capsys.readouterr()
    assert run("w-print", {"type": "ai", "prompt": "print it"})["status"]["phase"] == "Succeeded"
    out = capsys.readouterr().out.splitlines()
    assert out[0] == '[tool_call] file_write {"path": "p.txt", "content": "hi"}'
    assert out[1].startswith('[tool_result] file_write: {"success": true') and len(out[1]) <= 200 + 26
    assert out[2:] == ["Done: wrote p.txt", "[done] completed in 2 LLM call(s) with mock/shoal-mock"]


def test_a_workspace_the_worker_makes_for_itself_is_removed_when_the_task_ends(worker_env, monkeypatch, tmp_path):
    # Without SHOAL_WORKSPACE (make run's local executor for a plain AI task) each worker made a
    # directory in /tmp and left it there: one per task, with whatever file_write had put in it.
    import tempfile


    _, _, run, _ = worker_env
    scratch_root = tmp_path / "tmp"
    scratch_root.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch_root))
    monkeypatch.delenv("SHOAL_WORKSPACE")
    use_script(monkeypatch, tmp_path.parent / "scratch-script.json", {"scratch": [
        {"tool_calls": [{"name": "file_write", "arguments": {"path": "notes.txt", "content": "kept until the end"}}]},
        {"text": "{tool_results}"}]})
    task = run("scratch-1", {"type": "ai", "prompt": "scratch"})
    assert task["status"]["phase"] == "Succeeded"
    tasks = worker_env[0]
    assert '"bytesWritten": 18' in tasks.get("/api/v1/tasks/scratch-1/result", headers=AUTH).get_json()["result"]
    assert list(scratch_root.iterdir()) == []  # the workspace it wrote into is gone
