"""An `agent` task whose Agent names a runtime: clone, run the coding agent over ACP, commit, push.

The worker calls `run_runtime_task` instead of the generic tool loop. In order:
1. the workspace: `spec.workspace.gitRepo` cloned at `ref` (credential from the executor's
   environment, used only by git's credential helper), else an empty directory;
2. model access: a task-scoped token minted through the worker API, so the runtime reaches its
   model through Shoal's compat endpoints and never sees a provider key;
3. the runtime's ACP session, its updates relayed to the task's log, stream and plan;
4. with changes: a commit as the bot identity, a push to `shoal/<task>` (or `workspace.pushBranch`),
   and, when asked (`workspace.pullRequest`), a pull request through the worker's GitHub tool.
The result is the agent's final answer (consumers such as security scans parse it as they parse any
agent's answer) followed by a short account of what was pushed; the same facts, machine-readable,
are the artifact `workspace-changes.json`: runtime, branch, commit, base, files, pull request.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shared.config import get_settings
from shared.duration import parse_go_duration
from shared.errors import Invalid
from shared.logs import get_logger
from shared.models.worker_contract import WORKSPACE_ENV, runtime_type
from shared.runtimes import git_workspace as git
from shared.runtimes.acp_driver import RuntimeFailed, SessionOutcome, drive
from shared.runtimes.profiles import ModelAccess, RuntimeMissing, profile_for, scratch_dir
from shared.worker.validation import run_validation, validation_prompt
from shared.workerapi.client import InternalClient

log = get_logger("worker.runtime")
# A timed-out turn gets this long to wind down before the task's own deadline.
TIMEOUT_MARGIN_SECONDS = 30
DELTA_FLUSH_SECONDS = 0.5


class TaskFailed(Exception):
    """The task ends Failed with this message (already clear for a user; no traceback needed)."""


CHANGES_ARTIFACT = "workspace-changes.json"


@dataclass
class RuntimeResult:
    changes: dict[str, Any]  # the artifact
    text: str  # the task's result
    message: str  # the task's final status message
    cancelled: bool = False

    @staticmethod
    def account(changes: dict[str, Any]) -> str:
        """What was pushed, in words, for the end of the result."""
        if "branch" not in changes:
            return "No changes were pushed." if "base" in changes and changes.get("pushed") is not False else ""
        lines = [f"Pushed branch {changes['branch']} at {changes['commit']} ({len(changes['files'])} file(s) changed):"]
        lines += [f"- {path}" for path in changes["files"]]
        if changes.get("pullRequest"):
            lines.append(f"Pull request: {changes['pullRequest']['url']}")
        return "\n".join(lines)


class _Progress:
    """The runtime's updates as task events, log lines and plan saves (chunks batched)."""

    def __init__(self, client: InternalClient, namespace: str, name: str) -> None:
        self.client, self.namespace, self.name = client, namespace, name
        self.pending: list[str] = []
        self.thinking: list[str] = []
        self.flushed = time.monotonic()
        self.tools = 0

    def __call__(self, kind: str, data: dict[str, Any]) -> None:
        if kind in ("delta", "thought"):  # chunks: batched, so a long answer is not a request per token
            (self.pending if kind == "delta" else self.thinking).append(data.get("content") or "")
            if time.monotonic() - self.flushed >= DELTA_FLUSH_SECONDS:
                self.flush()
            return
        self.flush()
        if kind in ("tool_call", "tool_result"):
            self.tools += kind == "tool_call"
            self.client.post_event(self.namespace, self.name, kind, data)
            paths = f" {', '.join(data['paths'])}" if data.get("paths") else ""
            print(f"[{kind}] {data.get('name') or data.get('id')}{paths} ({data.get('status')})", flush=True)
        elif kind == "plan":
            self._plan(data["entries"])
        else:
            line = data.get("line") or data.get("message") or data.get("content") or json.dumps(data)
            if kind == "permission":
                line = f"{'allowed' if data['allowed'] else 'denied'}: {data['tool']} ({data['reason']})"
            print(f"[{kind}] {line}", flush=True)
            self.client.post_event(self.namespace, self.name, "log", {"source": kind, "line": line})

    def flush(self) -> None:
        self.flushed = time.monotonic()
        thought, self.thinking = "".join(self.thinking).strip(), []
        if thought:
            print(f"[thought] {thought}", flush=True)
            self.client.post_event(self.namespace, self.name, "log", {"source": "thought", "line": thought})
        if not self.pending:
            return
        text, self.pending = "".join(self.pending), []
        if text:
            print(text, end="" if text.endswith("\n") else "\n", flush=True)
            self.client.post_event(self.namespace, self.name, "delta", {"content": text})

    def _plan(self, entries: list[dict[str, Any]]) -> None:
        done = sum(1 for e in entries if e["status"] == "completed")
        marks = {"completed": "[x]", "in_progress": "[~]", "pending": "[ ]"}
        document = "\n".join(f"- {marks.get(e['status'], '[ ]')} {e['content']}" for e in entries)
        current = next((e["content"] for e in entries if e["status"] == "in_progress"), None)
        summary = current or (entries[-1]["content"] if entries and done == len(entries) else "planning")
        body = {"summary": summary[:500], "plan_document": document,
                "progress_pct": int(100 * done / len(entries)) if entries else 0,
                "goal_complete": bool(entries) and done == len(entries)}
        self.client.call("POST", f"/internal/v1/plans/{self.namespace}/{self.name}", json=body)
        print(f"[plan] {done}/{len(entries)} done", flush=True)


def _model_access(client: InternalClient, namespace: str, name: str, agent: dict[str, Any],
                  spec: dict[str, Any]) -> ModelAccess:
    status, body = client.call("POST", f"/internal/v1/tasks/{namespace}/{name}/model-token")
    if status != 201 or not isinstance(body, dict):
        message = (body or {}).get("error", {}).get("message") if isinstance(body, dict) else None
        raise TaskFailed(f"could not get model access for the runtime: HTTP {status} {message or ''}".strip())
    return ModelAccess(token=body["token"], anthropic_base_url=body["anthropicBaseURL"],
                       openai_base_url=body["openaiBaseURL"], model=agent.get("model"),
                       effort=(spec.get("ai") or {}).get("effort") or None)


def _timeout(spec: dict[str, Any]) -> float | None:
    if not spec.get("timeout"):
        return None
    seconds = parse_go_duration(spec["timeout"])
    return max(seconds - TIMEOUT_MARGIN_SECONDS, seconds / 2) if seconds > 0 else None


def _prompt(spec: dict[str, Any], agent: dict[str, Any]) -> str:
    """The task's prompt, after the agent's instructions (ACP has no separate system prompt)."""
    parts = [agent.get("systemPrompt") or "", spec.get("prompt") or ""]
    return "\n\n".join(p.strip() for p in parts if p and p.strip())


def _install_cancel(cancel: asyncio.Event) -> None:
    """SIGTERM (the executor stopping a cancelled task) cancels the ACP turn before the process ends."""
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, cancel.set)


async def _session(command: list[str], env: dict[str, str], workspace: Path, prompt: str,
                   observe: _Progress, timeout: float | None) -> SessionOutcome:
    cancel = asyncio.Event()
    _install_cancel(cancel)
    return await drive(command, env=env, workspace=workspace, prompt=prompt, observe=observe,
                       cancel=cancel, timeout=timeout)


def clone_workspace(spec: dict[str, Any], workspace: Path) -> tuple[Any, Any]:
    """Clone `spec.workspace.gitRepo` at its ref into `workspace`: (the clone, the credential it used),
    or (None, None) when the task names no repository."""
    repo = spec.get("workspace") or {}
    if not repo.get("gitRepo"):
        return None, None
    ref = repo.get("ref") or repo.get("branch")
    # The executor's credential; else a labrats job's token in its URL (its spec allows one), which git
    # then gets through the helper too, never in the URL.
    url, embedded = git.split_credentials(repo["gitRepo"])
    credential = git.credential_from_env() or embedded
    print(f"[git] cloning {url} at {ref or 'the default branch'}", flush=True)
    try:
        cloned = git.clone(url, workspace, ref=ref, depth=repo.get("depth"), credential=credential)
    except (git.GitError, Invalid) as exc:
        raise TaskFailed(f"could not clone the workspace: {getattr(exc, 'message', None) or exc}") from None
    print(f"[git] checked out {cloned.head}", flush=True)
    return cloned, credential


def _validate(spec: dict[str, Any], workspace: Path) -> list[dict[str, Any]] | None:
    """A monitor review's validation commands, run in the fresh clone before the agent touches it."""
    commands = (spec.get("workspace") or {}).get("validationCommands")
    if not commands:
        return None

    return run_validation(list(commands), workspace, get_settings().validation_command_timeout_seconds)


def run_runtime_task(client: InternalClient, namespace: str, name: str, spec: dict[str, Any],
                     agent: dict[str, Any]) -> RuntimeResult:
    kind = runtime_type(agent) or ""
    try:
        profile = profile_for(kind)
        command = profile.command()
    except RuntimeMissing as exc:
        raise TaskFailed(str(exc)) from None
    scratch = scratch_dir(name)
    workspace = Path(os.environ.get(WORKSPACE_ENV) or scratch / "workspace")
    workspace.mkdir(parents=True, exist_ok=True)
    try:
        cloned, credential = clone_workspace(spec, workspace)
        validation = _validate(spec, workspace) if cloned is not None else None
        access = _model_access(client, namespace, name, agent, spec)
        env = profile.environment(access, scratch / "home")
        progress = _Progress(client, namespace, name)
        print(f"[runtime] {profile.name}: {' '.join(Path(c).name if i == 0 else c for i, c in enumerate(command))}",
              flush=True)
        try:
            prompt = _prompt(spec, agent)
            if validation:
                prompt = validation_prompt(validation) + "\n\n" + prompt
            outcome = asyncio.run(_session(command, env, workspace, prompt, progress, _timeout(spec)))
        except RuntimeFailed as exc:
            progress.flush()
            raise TaskFailed(f"{profile.name}: {exc}") from None
        progress.flush()
        if outcome.cancelled:
            return RuntimeResult({}, "", "cancelled", cancelled=True)
        if outcome.timed_out:
            raise TaskFailed(f"{profile.name} did not finish within the task's timeout")
        changes: dict[str, Any] = {"runtime": profile.name, "stopReason": outcome.stop_reason}
        if outcome.denied:
            changes["denied"] = outcome.denied
        if validation:
            changes["validation"] = [{k: r[k] for k in ("command", "exitCode", "passed")} for r in validation]
        if cloned is not None:
            changes.update(_publish(client, namespace, name, spec, workspace, cloned, credential, outcome))
        account = RuntimeResult.account(changes)
        text = "\n\n".join(part for part in (outcome.text or f"{profile.name} finished without a message.", account)
                            if part)
        message = (f"{profile.name} finished ({outcome.stop_reason})"
                   + (f"; pushed {changes['branch']} at {changes['commit'][:12]}" if changes.get("commit") else "")
                   + ("; no changes" if cloned is not None and "commit" not in changes else ""))
        return RuntimeResult(changes, text, message)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _publish(client: InternalClient, namespace: str, name: str, spec: dict[str, Any], workspace: Path,
             cloned: Any, credential: Any, outcome: SessionOutcome) -> dict[str, Any]:
    """Commit and push what the runtime changed; open the pull request the task asks for."""
    settings = get_settings()
    repo = spec.get("workspace") or {}
    if repo.get("push") is False:
        print("[git] read-only task: nothing pushed", flush=True)
        return {"base": cloned.head, "pushed": False}
    branch = repo.get("pushBranch") or git.default_branch_name(name)
    title = (outcome.text.strip().splitlines() or [f"Changes from task {name}"])[0][:72]
    try:
        pushed = git.commit_and_push(workspace, branch=branch, message=f"{title}\n\nShoal task {namespace}/{name}",
                                     author_name=settings.git_author_name, author_email=settings.git_author_email,
                                     credential=credential)
    except git.GitError as exc:
        raise TaskFailed(f"could not push the changes: {exc}") from None
    if pushed is None:
        print("[git] no changes; nothing pushed", flush=True)
        return {"base": cloned.head}
    print(f"[git] pushed {pushed.branch} at {pushed.commit} ({len(pushed.files)} file(s))", flush=True)
    out: dict[str, Any] = {"branch": pushed.branch, "commit": pushed.commit,
                           "base": pushed.base, "files": pushed.files}
    wanted = repo.get("pullRequest")
    if wanted:
        options = wanted if isinstance(wanted, dict) else {}
        base = options.get("base") or cloned.branch or repo.get("branch") or "main"
        out["pullRequest"] = _open_pull_request(client, namespace, name, {
            "task_name": name, "head_branch": pushed.branch, "base_branch": base,
            "title": options.get("title") or title,
            "body": options.get("body") or f"{outcome.text}\n\n---\nOpened by Shoal task `{namespace}/{name}`."})
    return out


def _open_pull_request(client: InternalClient, namespace: str, name: str, args: dict[str, Any]) -> dict[str, Any]:
    status, body = client.call("POST", f"/internal/v1/worker-tools/{namespace}/create_pull_request/call",
                               json={"arguments": args, "taskName": name}, at_most_once=True, timeout=60)
    outcome = (body or {}).get("result") if isinstance(body, dict) else None
    result = outcome.get("data") if isinstance(outcome, dict) and outcome.get("success") else None
    if status != 200 or not isinstance(result, dict) or not result.get("url"):
        detail = outcome if outcome is not None else body
        raise TaskFailed(f"pushed, but could not open the pull request: {json.dumps(detail, default=str)[:500]}")
    print(f"[github] pull request {result.get('url')}", flush=True)
    return {"number": result.get("number"), "url": result.get("url"), "existing": result.get("existing", False)}
