"""The demo model's rules on conversations as the loops build them (the tour runs them end to end)."""

from __future__ import annotations

import json

from shared.llm.base import Message, ToolSpec
from shared.llm.mock import MockProvider
from shared.security.prompts import scan_prompt
from shared.security.result_models import ModelFinding, ThreatModelBody
from shared.security.results import extract_json

CHAT_TOOLS = [ToolSpec(n, "", {}) for n in ("create_ai_task", "wait_for_task", "fetch_task_output", "cancel_task",
                                            "check_task_progress", "list_agents", "list_tasks", "create_agent")]


def turn(messages: list[Message], tools: list[ToolSpec]):
    return MockProvider().complete(messages, tools=tools)


def answered(messages: list[Message], completion, results: list) -> list[Message]:
    """The conversation after the model's calls, each answered with one of `results`."""
    out = messages + [Message("assistant", completion.text, completion.tool_calls)]
    return out + [Message("tool", json.dumps(r), tool_call_id=c.id, name=c.name)
                  for c, r in zip(completion.tool_calls, results, strict=True)]


def test_create_a_task_waits_fetches_and_summarises():
    messages = [Message("system", "orchestrator"), Message("user", "Please create an AI task that lists primes.")]
    first = turn(messages, CHAT_TOOLS)
    assert [(c.name, c.arguments) for c in first.tool_calls] == [
        ("create_ai_task", {"name": "lists-primes", "prompt": "Lists primes"})]
    messages = answered(messages, first, [{"success": True, "data": {"name": "chat-s-1", "phase": "Pending"}}])
    wait = turn(messages, CHAT_TOOLS)
    assert [(c.name, c.arguments) for c in wait.tool_calls] == [("wait_for_task", {"name": "chat-s-1", "timeout": 60})]
    messages = answered(messages, wait, [{"success": True, "data": {"phase": "Succeeded", "done": True}}])
    fetch = turn(messages, CHAT_TOOLS)
    assert [c.name for c in fetch.tool_calls] == ["fetch_task_output"]
    messages = answered(messages, fetch, [{"success": True, "data": {"output": "2, 3, 5"}}])
    final = turn(messages, CHAT_TOOLS)
    assert final.tool_calls == [] and final.text == "I created the AI task chat-s-1 and it Succeeded. Its result:\n\n2, 3, 5"


def test_a_failed_tool_is_reported_and_cancel_and_create_agent_work():
    messages = [Message("user", "cancel task nightly-report")]
    call = turn(messages, CHAT_TOOLS)
    assert [(c.name, c.arguments) for c in call.tool_calls] == [("cancel_task", {"name": "nightly-report"})]
    failed = answered(messages, call, [{"success": False, "error": "task not found", "errorType": "not_found"}])
    assert turn(failed, CHAT_TOOLS).text == "I could not cancel task nightly-report: task not found."
    agent = turn([Message("user", "create an agent called triager that sorts new issues")], CHAT_TOOLS)
    assert [(c.name, c.arguments) for c in agent.tool_calls] == [("create_agent", {
        "name": "triager", "description": "Sorts new issues",
        "systemPrompt": "You are triager, an agent that sorts new issues."})]


def test_what_is_running_lists_the_tasks_and_their_phases():
    # The README's `shoal chat -m "what is running?"`: it echoed the question back.
    messages = [Message("user", "what is running?")]
    call = turn(messages, CHAT_TOOLS)
    assert [(c.name, c.arguments) for c in call.tool_calls] == [("list_tasks", {})]
    listed = answered(messages, call, [{"success": True, "data": {"namespace": "default", "count": 2, "tasks": [
        {"name": "hello", "type": "ai", "phase": "Succeeded", "labels": {}},
        {"name": "build", "type": "container", "phase": "Running", "labels": {}}]}}])
    assert turn(listed, CHAT_TOOLS).text == ("1 of 2 task(s) in namespace default are pending or running:\n"
                                             "- hello (ai): Succeeded\n- build (container): Running")
    empty = answered(messages, call, [{"success": True, "data": {"namespace": "team-a", "count": 0, "tasks": []}}])
    assert turn(empty, CHAT_TOOLS).text == ('There are no tasks in namespace team-a yet. Say "create an AI task '
                                            'that …" to start one.')
    assert [c.name for c in turn([Message("user", "List my tasks")], CHAT_TOOLS).tool_calls] == ["list_tasks"]
    failed = answered(messages, call, [{"success": False, "error": "namespace not allowed"}])
    assert turn(failed, CHAT_TOOLS).text == "I could not list the tasks: namespace not allowed."


def test_without_the_tools_of_an_intent_it_echoes():
    assert turn([Message("user", "create an AI task that sings")], []).text == (
        "Hello from shoal-mock. You said: create an AI task that sings")


def test_an_image_that_cannot_be_pulled_gets_the_previous_revisions_image():
    tools = [ToolSpec(n, "", {}) for n in ("get_resource", "list_events", "pod_logs", "recent_rollouts")]
    messages = [Message("user", "Investigate the failing Pod 'web-1' in namespace 'shop'.\nReported reason: x")]
    calls = turn(messages, tools)
    pod = {"object": {"spec": {"containers": [{"name": "web", "image": "shop/web:1.2.3x"}]},
                      "status": {"containerStatuses": [{"name": "web", "state": {"waiting": {
                          "reason": "ImagePullBackOff", "message": "manifest unknown"}}}]}},
           "root_owner": {"kind": "Deployment", "name": "web", "namespace": "shop"}}
    messages = answered(messages, calls, [{"success": True, "result": pod}, {"success": True, "result": []}])
    logs = turn(messages, tools)
    assert [c.name for c in logs.tool_calls] == ["pod_logs"]
    messages = answered(messages, logs, [{"success": True, "result": ""}])
    # no rollout evidence for a bare Pod and a tag far from "latest": no patch, but the cause is named
    finding = json.loads(turn(messages, tools).text)
    assert finding["root_cause"] == ("Deployment web cannot start: image shop/web:1.2.3x cannot be pulled "
                                     "(manifest unknown).") and finding["patch"] is None
    pod["object"]["spec"]["containers"][0]["image"] = "shop/web:latets"
    again = answered(messages[:1], calls, [{"success": True, "result": pod}, {"success": True, "result": []}])
    again = answered(again, logs, [{"success": True, "result": ""}])
    assert json.loads(turn(again, tools).text)["patch"] == {
        "target": {"kind": "Pod", "name": "web-1"},
        "patch": {"spec": {"containers": [{"name": "web", "image": "shop/web:latest"}]}}}


def test_a_security_review_describes_the_repository_it_read_and_reports_a_committed_key():
    tools = [ToolSpec("file_read", "", {})]
    prompt = scan_prompt({"owner": "acme", "repository": "shop", "branch": "main"},
                         {"path": "", "sliceID": "s1"}, "run-1")
    messages = [Message("user", prompt)]
    reads = turn(messages, tools)
    assert [c.arguments["path"] for c in reads.tool_calls][:3] == ["README.md", "Dockerfile", "package.json"]
    files = {"README.md": "# Shop\nAn online shop.", "Dockerfile": "FROM node:20\nENV KEY=AKIAABCDEFGHIJKLMNOP\n"}
    results = [{"success": True, "data": {"path": c.arguments["path"], "content": files[c.arguments["path"]]}}
               if c.arguments["path"] in files else {"success": False, "error": "not found"} for c in reads.tool_calls]
    answer = turn(answered(messages, reads, results), tools).text
    body = extract_json(answer)  # what the scan pipeline reads, validated by its own models
    assert [ModelFinding.model_validate(f).file for f in body["findings"]] == ["Dockerfile"]
    ThreatModelBody.model_validate(body["threatModel"])
    assert body["threatModel"]["summary"].startswith("acme/shop at main: Shop. Build and dependency files read: "
                                                     "Dockerfile.")
    assert [(f["file"], f["line"], f["category"]) for f in body["findings"]] == [("Dockerfile", 2, "secrets")]


def test_a_script_still_wins_over_the_rules():
    provider = MockProvider(script=[{"text": "scripted"}])
    assert provider.complete([Message("user", "list agents")], tools=CHAT_TOOLS).text == "scripted"


def test_a_cluster_scoped_node_is_investigated_from_its_events():
    # A Node incident arrives with namespace '' (the engine's first line says so); the demo model used to
    # fall back to its echo there, which is not a Finding, so every such investigation failed.
    tools = [ToolSpec(n, "", {}) for n in ("get_resource", "list_events", "pod_logs", "recent_rollouts")]
    messages = [Message("user", "Investigate the failing Node 'worker-4' in namespace ''.\nReported reason: x")]
    calls = turn(messages, tools)
    assert [(c.name, c.arguments) for c in calls.tool_calls] == [
        ("get_resource", {"kind": "Node", "name": "worker-4"}), ("list_events", {})]
    node = {"object": {"kind": "Node", "status": {"conditions": [{"type": "Ready", "status": "Unknown"}]}},
            "root_owner": {"kind": "Node", "name": "worker-4", "namespace": ""}}
    event = {"type": "Warning", "reason": "NodeNotReady", "message": "Node worker-4 status is now: NodeNotReady",
             "involvedObject": {"kind": "Node", "name": "worker-4"}}
    messages = answered(messages, calls, [{"success": True, "result": node}, {"success": True, "result": [event]}])
    finding = json.loads(turn(messages, tools).text)
    assert finding["root_cause"] == ("Node worker-4 has warning events: "
                                     "NodeNotReady: Node worker-4 status is now: NodeNotReady.")
    assert finding["remediation_target"] == {"kind": "Node", "name": "worker-4", "namespace": ""}
    assert finding["patch"] is None


INVESTIGATION_TOOLS = [ToolSpec(n, "", {}) for n in ("get_resource", "list_events", "pod_logs", "recent_rollouts")]


def test_a_resource_that_cannot_be_read_is_not_reported_healthy():
    # Kubernaut's own request bodies name resources the demo cluster does not have; the Finding said
    # "its status and events look healthy" of a Deployment nobody had looked at.
    messages = [Message("user", "Investigate the failing Deployment 'api-server' in namespace 'production'.")]
    calls = turn(messages, INVESTIGATION_TOOLS)
    missing = {"success": False, "error": '404: deployments.apps "api-server" not found', "errorType": "kubernetes_error"}
    messages = answered(messages, calls, [missing, {"success": True, "result": []}])
    rollouts = turn(messages, INVESTIGATION_TOOLS)
    assert [(c.name, c.arguments) for c in rollouts.tool_calls] == [("recent_rollouts", {"deployment": "api-server"})]
    messages = answered(messages, rollouts, [{"success": False, "error": "404: not found"}])
    finding = json.loads(turn(messages, INVESTIGATION_TOOLS).text)
    assert finding["summary"] == ('No evidence to investigate: Deployment api-server could not be read '
                                  '(404: deployments.apps "api-server" not found).')
    assert (finding["root_cause"], finding["confidence"], finding["patch"]) == ("", 0.3, None)
    assert finding["recommendation"] == "Check the kind, name and namespace the report names."


def test_an_analyze_request_without_a_resource_name_gets_a_finding_not_an_echo():
    # LogJedi's /analyze requires only resource_kind (name and namespace default to ""); the echo was
    # no Finding, so /analyze answered 502.
    messages = [Message("user", "Investigate the failing Pod '' in namespace ''.\nReported reason: OOMKilled")]
    answer = turn(messages, INVESTIGATION_TOOLS)
    assert answer.tool_calls == []
    finding = json.loads(answer.text)
    assert finding["summary"] == "No evidence to investigate: the report names no Pod."
    assert finding["remediation_target"] == {"kind": "Pod", "name": "", "namespace": ""}
    assert (finding["root_cause"], finding["patch"]) == ("", None)


def test_the_echo_leaves_out_the_context_a_coding_agent_cli_wraps_around_the_prompt():
    # What Claude Code sends as the user turn of an agent task (docs/runtimes-facts.md): its reminders
    # and a /model command record, then the agent's instructions and the task's prompt.
    user = ("<system-reminder>\nThe following skills are available …\n</system-reminder>\n\n"
            "<local-command-caveat>Caveat: generated by local commands.</local-command-caveat>\n\n"
            "<command-name>/model</command-name>\n            <command-message>model</command-message>\n\n"
            "You are terse.\n\nCreate hello.txt containing <b>hi</b>")
    assert turn([Message("user", user)], []).text == (
        "Hello from shoal-mock. You said: You are terse.\n\nCreate hello.txt containing <b>hi</b>")
