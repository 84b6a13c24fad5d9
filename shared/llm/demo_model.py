"""The demo model: `shoal-mock` without a script. Deterministic plain rules, not an LLM.

It reads the tools it is offered and the conversation, and acts on a few documented intents
(docs/local-platform.md lists them), so `make run` shows every flow without a key:

- chat (offered `create_ai_task` …): "create an AI task that …", "list agents", "check task X",
  "cancel task X", "create an agent …" call the matching tools, then summarise what they returned;
- an investigation (offered `get_resource`, `pod_logs` …): reads the resource, its events, the
  failing pod and its previous log, then answers the Finding JSON built from that evidence only;
- a security review (a "Security review of" prompt, offered `file_read`): reads the usual top-level
  files and answers the scan JSON (a threat model of what it read, findings for committed secrets);
- anything else: the echo "Hello from shoal-mock. You said: …" (what the compat endpoints show), without
  the tagged context blocks a coding-agent CLI adds to the user's words.

`reply` sees the whole conversation each turn and decides from the calls and results since the last
user message, so it needs no memory of its own (any replica can answer any turn).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from shared.llm.base import Message, ToolCall, ToolSpec

ECHO = "Hello from shoal-mock. You said: {}"
# A block a coding-agent CLI wraps around the user's words (Claude Code's <system-reminder>,
# <command-name> …): left out of the echo, which would otherwise be the CLI's context, not the prompt.
_CONTEXT_BLOCK = re.compile(r"^[ \t]*<([a-z][a-z0-9_-]*)>.*?</\1>", re.S | re.M)  # at a line's start
WAIT_ATTEMPTS = 3  # wait_for_task calls before reporting a task as still running


@dataclass
class Reply:
    text: str = ""
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)


@dataclass
class Step:
    """One tool call since the user's message, with its (parsed) result."""

    name: str
    args: dict[str, Any]
    result: Any


def reply(messages: list[Message], tools: list[ToolSpec] | None) -> Reply:
    offered = {t.name for t in tools or []}
    first = next((m.content for m in messages if m.role == "user"), "")
    user = next((m.content for m in reversed(messages) if m.role == "user"), "")
    steps = _steps(messages)
    if {"get_resource", "pod_logs"} <= offered and (subject := _SUBJECT.search(first)):
        return _investigate(subject.group("kind"), subject.group("name"), steps)
    if "file_read" in offered and first.startswith("Security review of"):
        return _security_review(first, steps)
    for pattern, needs, act in _INTENTS:
        match = pattern.search(user)
        if match and needs <= offered:
            return act(match, steps)
    return Reply(ECHO.format(_CONTEXT_BLOCK.sub("", user).strip() or user.strip()))


def _steps(messages: list[Message]) -> list[Step]:
    start = max((i for i, m in enumerate(messages) if m.role == "user"), default=-1)
    results = {m.tool_call_id: _parse(m.content) for m in messages[start + 1:] if m.role == "tool"}
    return [Step(c.name, c.arguments, results.get(c.id)) for m in messages[start + 1:] if m.role == "assistant"
            for c in m.tool_calls]


def _parse(content: str) -> Any:
    """A tool result as data; the investigation tools' `{"success": true, "result": …}` unwrapped."""
    try:
        value = json.loads(content)
    except ValueError:
        return content
    if isinstance(value, dict) and value.get("success") is True and "result" in value:
        return value["result"]
    return value


def tool_calls(reply_: Reply, turn: int) -> list[ToolCall]:
    return [ToolCall(id=f"demo_{turn}_{i}", name=name, arguments=args) for i, (name, args) in enumerate(reply_.calls)]


# -- chat ---------------------------------------------------------------------------------------------

def _data(step: Step) -> dict[str, Any]:
    result = step.result if isinstance(step.result, dict) else {}
    return result.get("data") if isinstance(result.get("data"), dict) else {}


def _failed(step: Step) -> str | None:
    result = step.result if isinstance(step.result, dict) else {}
    return None if result.get("success", True) else str(result.get("error") or "failed")


def _slug(text: str, words: int = 4) -> str:
    slug = "-".join(re.findall(r"[a-z0-9]+", text.lower())[:words])
    return slug[:40].strip("-") or "task"


def _create_task(match: re.Match, steps: list[Step]) -> Reply:
    what = match.group("what").strip().rstrip(".")
    if not steps:
        return Reply(calls=[("create_ai_task", {"name": _slug(what), "prompt": what[:1].upper() + what[1:]})])
    created = steps[0]
    if error := _failed(created):
        return Reply(f"I could not create the task: {error}.")
    name = _data(created).get("name", created.args.get("name"))
    last = steps[-1]
    if last.name == "wait_for_task":
        data = _data(last)
        if data.get("done") and data.get("phase") == "Succeeded":
            return Reply(calls=[("fetch_task_output", {"name": name})])
        waits = sum(1 for s in steps if s.name == "wait_for_task")
        if data.get("done") or waits >= WAIT_ATTEMPTS or _failed(last):
            return Reply(f"I created the AI task {name}; it is {data.get('phase', 'in an unknown phase')}"
                         + (f" ({data['message']})" if data.get("message") else "")
                         + f". Ask me to check task {name} later.")
    if last.name == "fetch_task_output":
        output = _data(last).get("output", "")
        return Reply(f"I created the AI task {name} and it Succeeded. Its result:\n\n{output}")
    return Reply(calls=[("wait_for_task", {"name": name, "timeout": 60})])


def _list_agents(match: re.Match, steps: list[Step]) -> Reply:
    if not steps:
        return Reply(calls=[("list_agents", {})])
    if error := _failed(steps[-1]):
        return Reply(f"I could not list the agents: {error}.")
    agents = _data(steps[-1]).get("agents") or []
    if not agents:
        return Reply("There are no agents yet. Say \"create an agent called NAME that …\" to make one.")
    lines = [f"- {a.get('name')}" + (f": {a['description']}" if a.get("description") else "")
             for a in agents if isinstance(a, dict)]
    return Reply(f"There are {len(lines)} agent(s):\n" + "\n".join(lines))


def _list_tasks(match: re.Match, steps: list[Step]) -> Reply:
    if not steps:
        return Reply(calls=[("list_tasks", {})])
    if error := _failed(steps[-1]):
        return Reply(f"I could not list the tasks: {error}.")
    data = _data(steps[-1])
    found = [t for t in data.get("tasks") or [] if isinstance(t, dict)]
    where = f" in namespace {data['namespace']}" if data.get("namespace") else ""
    if not found:
        return Reply(f"There are no tasks{where} yet. Say \"create an AI task that …\" to start one.")
    active = sum(1 for t in found if t.get("phase") in ("Pending", "Running"))
    lines = [f"- {t.get('name')} ({t.get('type')}): {t.get('phase')}" for t in found]
    return Reply(f"{active} of {len(found)} task(s){where} are pending or running:\n" + "\n".join(lines))


def _check_task(match: re.Match, steps: list[Step]) -> Reply:
    name = match.group("name")
    if not steps:
        return Reply(calls=[("check_task_progress", {"name": name})])
    if error := _failed(steps[0]):
        return Reply(f"I could not check task {name}: {error}.")
    phase = _data(steps[0]).get("phase", "Unknown")
    if phase == "Succeeded" and len(steps) == 1:
        return Reply(calls=[("fetch_task_output", {"name": name})])
    if len(steps) > 1 and not _failed(steps[-1]):
        return Reply(f"Task {name} Succeeded. Its result:\n\n{_data(steps[-1]).get('output', '')}")
    message = _data(steps[0]).get("message")
    return Reply(f"Task {name} is {phase}" + (f": {message}" if message else "") + ".")


def _cancel_task(match: re.Match, steps: list[Step]) -> Reply:
    name = match.group("name")
    if not steps:
        return Reply(calls=[("cancel_task", {"name": name})])
    if error := _failed(steps[-1]):
        return Reply(f"I could not cancel task {name}: {error}.")
    data = _data(steps[-1])
    if data.get("cancelled"):
        return Reply(f"Task {name} is cancelled.")
    return Reply(f"Task {name} was not cancelled: it is already {data.get('phase', 'finished')}.")


def _create_agent(match: re.Match, steps: list[Step]) -> Reply:
    name = _slug(match.group("name"), words=6)
    purpose = (match.group("what") or "").strip().rstrip(".")
    if not steps:
        args: dict[str, Any] = {"name": name}
        if purpose:
            args.update(description=purpose[:1].upper() + purpose[1:],
                        systemPrompt=f"You are {name}, an agent that {purpose}.")
        return Reply(calls=[("create_agent", args)])
    if error := _failed(steps[-1]):
        return Reply(f"I could not create the agent {name}: {error}.")
    return Reply(f"I created the agent {name}" + (f" ({purpose})" if purpose else "")
                 + f". Use it with \"create an AI task that …\" and agentRef {name}.")


_TASK_NAME = r"[\"'`]?(?P<name>[a-z0-9][a-z0-9.-]*)[\"'`]?"
_INTENTS: list[tuple[re.Pattern, set[str], Callable[[re.Match, list[Step]], Reply]]] = [
    (re.compile(r"\bcreate an? (?:ai |llm )?task (?:that|to|which) (?P<what>.+)", re.I | re.S),
     {"create_ai_task", "wait_for_task", "fetch_task_output"}, _create_task),
    (re.compile(r"\blist (?:all |the |my )?agents\b", re.I), {"list_agents"}, _list_agents),
    (re.compile(r"\blist (?:all |the |my )?tasks\b|\bwhat(?:'s| is) running\b", re.I), {"list_tasks"}, _list_tasks),
    (re.compile(r"\bcheck (?:on )?task " + _TASK_NAME, re.I), {"check_task_progress", "fetch_task_output"},
     _check_task),
    (re.compile(r"\bcancel (?:the )?task " + _TASK_NAME, re.I), {"cancel_task"}, _cancel_task),
    (re.compile(r"\bcreate an? agent (?:named |called )?[\"'`]?(?P<name>[A-Za-z0-9][\w.-]*)[\"'`]?"
                r"(?:\s+(?:that|to|which|for)\s+(?P<what>.+))?", re.I | re.S), {"create_agent"}, _create_agent),
]


# -- investigation ------------------------------------------------------------------------------------

# The namespace is '' for a cluster-scoped subject (Kubernaut's Node incident).
# The name is '' when LogJedi's /analyze leaves resource_name out (its contract defaults it to "").
_SUBJECT = re.compile(r"Investigate the failing (?P<kind>\w+) '(?P<name>[^']*)' in namespace '(?P<ns>[^']*)'")
_ERROR_LINE = re.compile(r"error|fatal|panic|exception|fail|cannot|missing|not set|refused|denied", re.I)
_PULL = ("ErrImagePull", "ImagePullBackOff", "InvalidImageName")


def _investigate(kind: str, name: str, steps: list[Step]) -> Reply:
    if not name:  # nothing to read: the Finding says so (an echo would be no Finding at all)
        return Reply(json.dumps(_finding(kind, name, None, steps), indent=1))
    if not steps:
        return Reply(calls=[("get_resource", {"kind": kind, "name": name}), ("list_events", {})])
    pod = name if kind == "Pod" else _failing_pod(name, steps)
    done = {(s.name, json.dumps(s.args, sort_keys=True)) for s in steps}
    wanted: list[tuple[str, dict[str, Any]]] = []
    if pod:
        wanted += [("get_resource", {"kind": "Pod", "name": pod}), ("pod_logs", {"pod": pod, "previous": True})]
    if kind == "Deployment":
        wanted.append(("recent_rollouts", {"deployment": name}))
    todo = [(n, a) for n, a in wanted if (n, json.dumps(a, sort_keys=True)) not in done]
    if todo and len(steps) < 6:
        return Reply(calls=todo)
    return Reply(json.dumps(_finding(kind, name, pod, steps), indent=1))


def _failing_pod(owner: str, steps: list[Step]) -> str | None:
    """The pod of `owner` with the most warning events (pods are named <owner>-<hash>…)."""
    counts: dict[str, int] = {}
    for event in _events(steps):
        obj = event.get("involvedObject") or {}
        if obj.get("kind") == "Pod" and str(obj.get("name", "")).startswith(owner + "-") and event.get("type") == "Warning":
            counts[obj["name"]] = counts.get(obj["name"], 0) + int(event.get("count") or 1)
    return max(sorted(counts), key=lambda n: counts[n]) if counts else None


def _events(steps: list[Step]) -> list[dict[str, Any]]:
    return [e for s in steps if s.name == "list_events" and isinstance(s.result, list) for e in s.result
            if isinstance(e, dict)]


def _described(steps: list[Step], kind: str, name: str) -> dict[str, Any]:
    for s in steps:
        if s.name == "get_resource" and s.args == {"kind": kind, "name": name} and isinstance(s.result, dict):
            return s.result
    return {}


def _finding(kind: str, name: str, pod: str | None, steps: list[Step]) -> dict[str, Any]:
    subject = _described(steps, kind, name)
    pod_doc = _described(steps, "Pod", pod) if pod else {}
    root = subject.get("root_owner") or pod_doc.get("root_owner") or {"kind": kind, "name": name}
    owner = f"{root.get('kind')} {root.get('name')}"
    spec = ((pod_doc or subject).get("object") or {}).get("spec") or {}
    containers = spec.get("containers") or ((spec.get("template") or {}).get("spec") or {}).get("containers") or []
    statuses = (((pod_doc or subject).get("object") or {}).get("status") or {}).get("containerStatuses") or []
    events = [e for e in _events(steps) if e.get("type") == "Warning"
              and str((e.get("involvedObject") or {}).get("name", "")).startswith(name if kind != "Pod" else pod or name)]
    logs = next((s.result for s in steps if s.name == "pod_logs" and isinstance(s.result, str)), "")
    error_line = next((ln.strip() for ln in reversed(logs.splitlines()) if _ERROR_LINE.search(ln)), "")
    factors = [f"{e.get('reason')}: {e.get('message')}" for e in events[-5:]]
    base = {"remediation_target": {**root, "namespace": root.get("namespace", "")}, "contributing_factors": factors,
            "detected_labels": {"demoModel": True}, "resolved": False}
    for status in statuses:
        last = (status.get("lastState") or {}).get("terminated") or (status.get("state") or {}).get("terminated") or {}
        waiting = (status.get("state") or {}).get("waiting") or {}
        container = status.get("name", "")
        spec_c = next((c for c in containers if c.get("name") == container), {})
        if last.get("reason") == "OOMKilled":
            limit = ((spec_c.get("resources") or {}).get("limits") or {}).get("memory")
            cause = (f"Container {container} of {owner} is OOMKilled: it needs more memory than its limit"
                     + (f" of {limit}" if limit else "") + f" (restarted {status.get('restartCount', 0)} times).")
            patch = None
            if limit and (doubled := _double(limit)):
                patch = {"target": {"kind": kind, "name": name},
                         "patch": _container_patch(kind, {"name": container, "resources": {"limits": {"memory": doubled}}})}
            return {**base, "summary": cause, "root_cause": cause, "severity": "high", "confidence": 0.9,
                    "causal_chain": [f"memory use of {container} exceeds {limit or 'its limit'}",
                                     "the kernel kills the container (OOMKilled, exit code 137)",
                                     "the kubelet restarts it and backs off"],
                    "recommendation": f"Raise the memory limit of {container}" + (f" to {_double(limit)}" if patch else "")
                                      + ", or find why it uses more memory than expected.", "patch": patch}
        if waiting.get("reason") in _PULL:
            image = spec_c.get("image") or status.get("image", "")
            fixed = _image_fix(image, steps)
            cause = f"{owner} cannot start: image {image} cannot be pulled ({waiting.get('message') or waiting['reason']})."
            patch = {"target": {"kind": kind, "name": name},
                     "patch": _container_patch(kind, {"name": container, "image": fixed})} if fixed else None
            return {**base, "summary": cause, "root_cause": cause, "severity": "high", "confidence": 0.85,
                    "causal_chain": [f"image reference {image}", "the registry has no such image", waiting["reason"]],
                    "recommendation": f"Use image {fixed}." if fixed else "Fix the image reference.", "patch": patch}
        if status.get("restartCount", 0) or waiting.get("reason") == "CrashLoopBackOff":
            code = last.get("exitCode")
            cause = (f"{owner} is crash-looping: container {container} exits"
                     + (f" with code {code}" if code is not None else "")
                     + (f"; its previous log ends with: {error_line}" if error_line else "") + ".")
            return {**base, "summary": cause, "root_cause": cause, "severity": "high",
                    "confidence": 0.8 if error_line else 0.6,
                    "causal_chain": [error_line or f"container {container} exits", "the kubelet restarts it",
                                     "CrashLoopBackOff"],
                    "recommendation": f"Fix what the log of {container} reports, then roll out {owner} again.",
                    "patch": None}
    if events:
        cause = f"{owner} has warning events: {factors[-1]}."
        return {**base, "summary": cause, "root_cause": cause, "severity": "warning", "confidence": 0.5,
                "recommendation": "Look at the events listed as contributing factors.", "patch": None}
    if unread := _unread(kind, name, steps):  # not "looks healthy": nothing was looked at
        return {**base, "summary": f"No evidence to investigate: {unread}.", "root_cause": "", "severity": "info",
                "confidence": 0.3, "recommendation": "Check the kind, name and namespace the report names.",
                "patch": None}
    summary = f"No failure evidence found for {kind} {name}: its status and events look healthy."
    return {**base, "summary": summary, "root_cause": "", "severity": "info", "confidence": 0.3,
            "recommendation": "Nothing to change; watch it for a recurrence.", "patch": None}


def _unread(kind: str, name: str, steps: list[Step]) -> str | None:
    """Why the subject could not be looked at (no name, or its get_resource failed), else None."""
    if not name:
        return f"the report names no {kind}"
    return next((f"{kind} {name} could not be read ({error})" for s in steps
                 if s.name == "get_resource" and s.args == {"kind": kind, "name": name} and (error := _failed(s))),
                None)


def _container_patch(kind: str, container: dict[str, Any]) -> dict[str, Any]:
    containers = {"containers": [container]}
    return {"spec": containers} if kind == "Pod" else {"spec": {"template": {"spec": containers}}}


_QUANTITY = re.compile(r"^(?P<n>\d+)(?P<unit>Ki|Mi|Gi|Ti|k|M|G|T)?$")


def _double(quantity: str) -> str | None:
    match = _QUANTITY.match(str(quantity))
    return f"{int(match.group('n')) * 2}{match.group('unit') or ''}" if match else None


def _image_fix(image: str, steps: list[Step]) -> str | None:
    """An obvious fix for an image that cannot be pulled: the same repository as the last revision that
    used another tag (a typo rolled out), else a tag one or two letters from "latest"."""
    repo, _, tag = image.rpartition(":") if ":" in image.rsplit("/", 1)[-1] else (image, "", "")
    for step in steps:
        if step.name == "recent_rollouts" and isinstance(step.result, list):
            for revision in step.result:
                for other in (revision or {}).get("images") or []:
                    if other and other != image and other.startswith(repo + ":"):
                        return other
    if tag and tag != "latest" and _distance(tag, "latest") <= 2:
        return f"{repo}:latest"
    return None


def _distance(a: str, b: str) -> int:
    row = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        prev, row[0] = row[0], i
        for j, cb in enumerate(b, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (ca != cb))
    return row[-1]


# -- security review ----------------------------------------------------------------------------------

_REVIEW_FILES = ("README.md", "Dockerfile", "package.json", "pyproject.toml", "requirements.txt", "go.mod",
                 "pom.xml", "Cargo.toml", ".env")
_REPO = re.compile(r"Security review of (?P<repo>\S+) at (?P<ref>\S+)")
_SECRETS = [("AWS access key", re.compile(r"AKIA[0-9A-Z]{16}")),
            ("private key", re.compile(r"-----BEGIN (?:RSA |EC |OPENSSH )?PRIVATE KEY-----")),
            ("hard-coded password", re.compile(r"(?i)\bpassword\s*[:=]\s*[\"'][^\"'\s]{4,}[\"']"))]


def _security_review(prompt: str, steps: list[Step]) -> Reply:
    if not steps:
        return Reply(calls=[("file_read", {"path": path}) for path in _REVIEW_FILES])
    match = _REPO.search(prompt)
    repo, ref = (match.group("repo"), match.group("ref")) if match else ("the repository", "")
    seen = {s.args.get("path"): _content(s.result) for s in steps if s.name == "file_read"}
    seen = {path: text for path, text in seen.items() if text}
    findings = []
    for path, text in sorted(seen.items()):
        for number, line in enumerate(text.splitlines(), 1):
            for title, pattern in _SECRETS:
                if pattern.search(line):
                    findings.append({"title": f"{title.capitalize()} committed in {path}", "severity": "high",
                                     "category": "secrets", "file": path, "line": number,
                                     "description": f"{path} line {number} contains what looks like a {title}.",
                                     "evidence": pattern.search(line).group(0)[:12] + "…",
                                     "recommendation": "Remove it, rotate it, and load it from a secret store.",
                                     "confidence": "medium", "fingerprint": f"{path}:{title}"})
    readme = seen.get("README.md", "")
    headline = next((ln.strip("# ").strip() for ln in readme.splitlines() if ln.strip()), "")
    stack = [p for p in seen if p != "README.md"]
    summary = (f"{repo}" + (f" at {ref}" if ref else "") + (f": {headline}" if headline else "")
               + (f". Build and dependency files read: {', '.join(stack)}" if stack else "")
               + f". Files reviewed by the demo model (not an LLM): {', '.join(sorted(seen)) or 'none readable'}.")
    model = {"summary": summary, "assets": [f"the source code of {repo}"] + (["dependencies declared in " + p for p in stack]),
             "entryPoints": ["container entrypoint (Dockerfile)"] if "Dockerfile" in seen else [],
             "trustBoundaries": ["the repository's dependencies"] if stack else [],
             "threats": [{"title": f["title"], "description": f["description"]} for f in findings]}
    return Reply("```json\n" + json.dumps({"threatModel": model, "findings": findings}, indent=1) + "\n```")


def _content(result: Any) -> str:
    if isinstance(result, dict):
        data = result.get("data") if isinstance(result.get("data"), dict) else result
        value = data.get("content")
        return value if isinstance(value, str) else ""
    return ""
