"""The worker's main() in-process against the real worker API: tools, progress events, session transcript."""

from __future__ import annotations

import json
import threading

import pytest
from werkzeug.serving import make_server

from tests.conftest import AUTH, DEV_TOKEN


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
        monkeypatch.setenv("SHOAL_TASK_SPEC", json.dumps(response.get_json()["spec"]))
        assert main() == 0
        return tasks.get(f"/api/v1/tasks/{name}", headers=AUTH).get_json()

    yield tasks, function_client, run, tmp_path
    server.shutdown()


def test_worker_runs_builtin_tools_reports_progress_and_keeps_the_session(worker_env, monkeypatch, tmp_path):
    from shared.config import reset_settings
    from shared.tasks.feed import read_feed

    tasks, function_client, run, workspace = worker_env
    script = tmp_path.parent / "script.json"
    script.write_text(json.dumps({"write it": [
        {"tool_calls": [{"name": "file_write", "arguments": {"path": "out/a.txt", "content": "hi", "create_dirs": True}}]},
        {"text": "wrote: {tool_results}"}]}))
    monkeypatch.setenv("SHOAL_MOCK_SCRIPT", str(script))
    reset_settings()
    first = run("w1", {"type": "ai", "prompt": "write it", "sessionRef": {"name": "s"}})
    assert first["status"]["phase"] == "Succeeded"
    assert (workspace / "out" / "a.txt").read_text() == "hi"
    result = tasks.get("/api/v1/tasks/w1/result", headers=AUTH).get_json()["result"]
    assert result.startswith("wrote: ") and '"bytesWritten": 2' in result
    kinds = [item["event"] for _, item in read_feed("default", "w1")]
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
