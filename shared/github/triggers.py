"""GitHub label triggers (consumed by the `github` function) create agent tasks.

`agent:<action>` on an issue or pull request → an `agent` task named
`github-<action>-<number>-<12 hex of the payload digest>` (maxTurns and timeout from settings,
defaults 100 and 30m) with the issue or PR as context, through the one `create_task` service.
The same payload delivered twice maps to the same name, so the second is a logged duplicate.
"""

from __future__ import annotations

from typing import Any

from shared.auth.principal import Principal
from shared.config import get_settings
from shared.events.envelope import Event
from shared.github.deliveries import LabelTrigger, label_trigger
from shared.logs import get_logger
from shared.store import AlreadyExists
from shared.tasks.service import create_task

log = get_logger("github")
MAX_BODY_CHARS = 8000


def _prompt(trigger: LabelTrigger, payload: dict[str, Any]) -> str:
    item = payload[trigger.kind]
    repo = payload.get("repository") or {}
    what = "pull request" if trigger.kind == "pull_request" else "issue"
    lines = [f"The GitHub label `{trigger.label}` was added to {what} #{trigger.number} "
             f"in {repo.get('full_name', '?')}. Carry out the `{trigger.action}` action for it.", "",
             f"Title: {item.get('title') or ''}", f"URL: {item.get('html_url') or ''}"]
    if trigger.kind == "pull_request":
        head, base = item.get("head") or {}, item.get("base") or {}
        lines += [f"Head: {head.get('ref', '')} @ {head.get('sha', '')}", f"Base: {base.get('ref', '')}"]
    body = item.get("body") or ""
    if len(body) > MAX_BODY_CHARS:
        body = body[:MAX_BODY_CHARS] + "\n[… truncated]"
    lines += ["", "Description:", body or "(empty)"]
    return "\n".join(lines)


def task_request(trigger: LabelTrigger, payload: dict[str, Any]) -> dict[str, Any]:
    settings = get_settings()
    repo = payload.get("repository") or {}
    workspace: dict[str, Any] = {"gitRepo": repo.get("clone_url") or repo.get("html_url")}
    item = payload[trigger.kind]
    if trigger.kind == "pull_request":
        # Work on a pull request lands on its own branch (a fork's branch cannot be pushed to).
        head = item.get("head") or {}
        workspace["ref"] = head.get("ref")
        if (head.get("repo") or {}).get("full_name") == repo.get("full_name"):
            workspace["pushBranch"] = head.get("ref")
    else:
        # Work on an issue becomes a pull request into the default branch.
        workspace["pullRequest"] = {"base": repo.get("default_branch") or "main"}
    if trigger.action == "review":
        # A review only reads: it never receives push credentials and never pushes.
        workspace = {"gitRepo": workspace["gitRepo"], "ref": workspace.get("ref"), "push": False}
    elif settings.github_label_trigger_git_secret:
        workspace["gitSecretRef"] = {"name": settings.github_label_trigger_git_secret}
    return {"name": trigger.task_name, "namespace": trigger.namespace, "spec": {
        "type": "agent", "agentRef": {"name": trigger.agent}, "prompt": _prompt(trigger, payload),
        "timeout": settings.github_label_trigger_timeout, "maxTurns": settings.github_label_trigger_max_turns,
        "workspace": {k: v for k, v in workspace.items() if v}}}


def on_labeled(event: Event) -> None:
    payload = event.data if isinstance(event.data, dict) else {}
    trigger = label_trigger(payload)
    fields = {"delivery": event.id, "type": event.type}
    if trigger is None or not trigger.agent:
        log.info("label is not a trigger", extra={"fields": fields})
        return
    item = payload[trigger.kind]
    repo = payload.get("repository") or {}
    labels = {"orka.ai/github-trigger": trigger.action, "orka.ai/github-number": str(trigger.number),
              "orka.ai/github-kind": trigger.kind.replace("_", "-")}
    annotations = {"orka.ai/github-repository": str(repo.get("full_name", "")),
                   "orka.ai/github-url": str(item.get("html_url", "")), "orka.ai/github-label": trigger.label,
                   "orka.ai/github-delivery": event.id}
    if trigger.kind == "pull_request":
        annotations["orka.ai/github-head-sha"] = str((item.get("head") or {}).get("sha", ""))
    principal = Principal(kind="system", subject="system:shoal:github", username="github",
                          namespace=trigger.namespace)
    try:
        record = create_task(task_request(trigger, payload), principal, server_labels=labels,
                             server_annotations=annotations)
    except AlreadyExists:
        log.info("duplicate label trigger", extra={"fields": {**fields, "task": trigger.task_name}})
        return
    log.info("label trigger created task", extra={"fields": {**fields, "task": record.name,
                                                             "namespace": record.namespace}})
