"""Maintainer label commands on pull requests (Orka's `orka:*` labels; `com.github.pull_request.labeled`).

A monitor with `spec.triggers.github.labels.enabled` takes these labels (names configurable,
`shared.monitors.command_spec`): `orka:review` (review the head again), `orka:fix`, `orka:fix-ci`,
`orka:update-branch` (a repair task, `shared.monitors.repair`), `orka:automerge` (a gated merge,
`shared.monitors.automerge`), `orka:stop` (cancel the PR's repair, hold it) and `orka:resume`.

The webhook (`shared.github.webhook_routes`) asks `matches` which monitors take a label, so it can
answer with the command ids; the `github` function then runs `on_labeled`. Per monitor:
1. the sender's GitHub permission is read with the monitor's forge credential (an outage raises, so
   the broker redelivers; nothing is recorded before);
2. the command is recorded once (`monitorcommands`, id from delivery, label, PR and head: a
   redelivery finds it) as `accepted`, `rejected` (the permission is too low: review needs triage,
   everything else `requireActorPermission` (write) and `policy.allowedRepositoryPermissions`) or
   `blocked` (a protected or pause label; `orka:stop` is never blocked), with an audit event;
3. an accepted command is carried out (each action is idempotent), the command label is removed
   when `consumeCommandLabels` is set, and the command ends `completed` with its outcome.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from shared.clock import now_rfc3339
from shared.events.envelope import Event
from shared.github.client import GitHubClient
from shared.logs import get_logger
from shared.monitors import automerge, repair
from shared.monitors.command_spec import command_labels, permitted
from shared.monitors.execute import _blocked_label, _review, forge_client, item_key
from shared.monitors.store import commands, items, monitors, monitors_for_repo, record_event, scope
from shared.store import AlreadyExists
from shared.tasks.service import cancel_task

log = get_logger("monitors")
STOPPED = "stopped_by_command"


@dataclass(frozen=True)
class Match:
    namespace: str
    monitor: str
    intent: str
    command_id: str


def command_id(namespace: str, monitor: str, delivery: str, label: str, number: int, sha: str) -> str:
    """Orka's dedupe key (monitor, delivery, label, target, head) → `cmd-<16 hex>`."""
    key = "|".join([namespace, monitor, delivery, label.strip().lower(), "pull_request", str(number), sha])
    return "cmd-" + hashlib.sha256(key.encode()).hexdigest()[:16]


def _target(payload: dict[str, Any]) -> tuple[dict[str, Any], str, str] | None:
    """(pull request, label, repository full name) of a `labeled` pull request payload."""
    pr, label = payload.get("pull_request"), payload.get("label")
    repo = payload.get("repository") if isinstance(payload.get("repository"), dict) else {}
    if payload.get("action") != "labeled" or not isinstance(pr, dict) or not isinstance(label, dict):
        return None
    if not isinstance(pr.get("number"), int) or not isinstance((pr.get("head") or {}).get("sha"), str):
        return None
    if not isinstance(label.get("name"), str) or not isinstance(repo.get("full_name"), str):
        return None
    return pr, label["name"], repo["full_name"]


def _accepts(spec: dict[str, Any], pr: dict[str, Any], intent: str) -> bool:
    """Orka's target rule: an open PR into the monitor's branch, drafts only when included (stop: any)."""
    if intent == "stop":
        return True
    prs = (spec.get("targets") or {}).get("pullRequests") or {}
    if (pr.get("state") or "open") != "open" or (pr.get("draft") and not prs.get("includeDrafts")):
        return False
    base = (pr.get("base") or {}).get("ref")
    return not base or base == spec.get("branch", "main")


def matches(payload: dict[str, Any], delivery: str) -> list[Match]:
    """The monitors that take this label as a command (index Query and Gets; no GitHub call)."""
    target = _target(payload)
    if target is None:
        return []
    pr, label, full_name = target
    found = []
    for namespace, name in monitors_for_repo(full_name):
        record = monitors.get(namespace, name)
        spec = record.doc.get("spec") or {} if record else {}
        intent = (command_labels(spec) or {}).get(label.strip().lower())
        if intent and _accepts(spec, pr, intent):
            found.append(Match(namespace, name, intent, command_id(namespace, name, delivery, label, pr["number"],
                                                                   pr["head"]["sha"].lower())))
    return found


def _decide(spec: dict[str, Any], intent: str, permission: str, sender: str,
            pr: dict[str, Any]) -> tuple[str, str]:
    if not permitted(spec, permission, intent):
        return "rejected", (f'sender "{sender}" has GitHub permission "{permission}", which is not allowed for '
                            "RepositoryMonitor commands")
    blocked = _blocked_label(spec, pr)
    if blocked and intent != "stop":
        return "blocked", f'target has guard label "{blocked[1]}"'
    return "accepted", ""


def _record(match: Match, payload: dict[str, Any], spec: dict[str, Any], client: GitHubClient) -> dict[str, Any]:
    """The stored command (recorded now, or by an earlier delivery of the same event)."""
    existing = commands.get(scope(match.namespace, match.monitor), match.command_id)
    if existing is not None:
        return existing.doc
    pr, label, full_name = _target(payload) or ({}, "", "")
    sender = str((payload.get("sender") or {}).get("login") or "")
    permission = client.collaborator_permission(spec["owner"], spec["repository"], sender) if sender else "none"
    status, error = _decide(spec, match.intent, permission, sender, pr)
    doc = {"id": match.command_id, "namespace": match.namespace, "monitor": match.monitor, "repo": full_name,
           "kind": "pull_request", "number": pr["number"], "headSHA": pr["head"]["sha"].lower(),
           "label": label, "intent": match.intent, "source": "github_label", "author": sender,
           "permission": permission, "status": status, "error": error, "createdAt": now_rfc3339()}
    try:
        commands.create(scope(match.namespace, match.monitor), match.command_id, doc)
    except AlreadyExists:  # a concurrent delivery recorded it first
        return commands.require(scope(match.namespace, match.monitor), match.command_id, "command not found").doc
    event = {"accepted": "CommandAccepted", "rejected": "CommandRejected", "blocked": "CommandBlocked"}[status]
    record_event(match.namespace, match.monitor, event,
                 f"{label} on PR #{pr['number']} by {sender}: {status}" + (f" ({error})" if error else ""),
                 actor=f"github:{sender}", item_kind="pull_request", item_number=pr["number"])
    return doc


def _finish(match: Match, outcome: dict[str, Any]) -> None:
    def complete(doc: dict[str, Any]) -> bool:
        doc.update(phase="completed", outcome=outcome, completedAt=now_rfc3339())
        return True

    commands.update(scope(match.namespace, match.monitor), match.command_id, complete)


def _stop(namespace: str, monitor: str, number: int) -> dict[str, Any]:
    """`orka:stop`: cancel the PR's queued repair and hold it (repairState failed, stopped_by_command)."""
    cancelled: list[str] = []

    def hold(item: dict[str, Any]) -> bool:
        if item.get("repairState") == "queued" and item.get("repairTask"):
            cancelled.append(item["repairTask"])
        item.update(repairState="failed", skipReason=STOPPED, updatedAt=now_rfc3339())
        if item.get("automergeState") == "pending":
            item.update(automergeState="", automergeCommand="")
        return True

    repair.upsert_item(namespace, monitor, {"number": number}, hold)
    for task in cancelled:
        cancel_task(namespace, task, "stopped by a maintainer command")
    return {"repairState": "failed", "reason": STOPPED, "cancelled": cancelled}


def _resume(namespace: str, monitor: str, spec: dict[str, Any], pr: dict[str, Any]) -> dict[str, Any]:
    if _blocked_label(spec, pr):
        return {"result": "resume_blocked", "reason": "blocked_label"}

    def clear(item: dict[str, Any]) -> bool:
        item.update(repairState="", skipReason="", updatedAt=now_rfc3339())
        return True

    repair.upsert_item(namespace, monitor, pr, clear)
    return {"result": "resumed"}


def _carry_out(match: Match, spec: dict[str, Any], command: dict[str, Any], client: GitHubClient) -> dict[str, Any]:
    namespace, monitor, number = match.namespace, match.monitor, command["number"]
    if match.intent == "stop":
        return _stop(namespace, monitor, number)
    pr = client.pull(spec["owner"], spec["repository"], number)  # the PR as it is now
    if pr.get("state", "open") != "open":
        return {"result": "skipped", "reason": "pull_request_not_open"}
    if match.intent == "resume":
        return _resume(namespace, monitor, spec, pr)
    if match.intent == "review":
        current = items.get(scope(namespace, monitor), item_key(number))
        if current is not None and current.doc.get("reviewCommand") == command["id"]:
            return {"result": "review_exists", "reviewTask": current.doc.get("reviewTask")}  # a redelivery
        created = _review(namespace, monitor, None, spec, pr, new_round=True)
        task: list[str] = []

        def mark(item: dict[str, Any]) -> bool:
            item["reviewCommand"] = command["id"]
            task.append(item.get("reviewTask") or "")
            return True

        items.update(scope(namespace, monitor), item_key(number), mark)
        return {"result": "review_queued" if created else "review_exists", "reviewTask": task[0]}
    if match.intent == "automerge":
        return automerge.attempt(namespace, monitor, spec, command, pr, client)
    return repair.start(namespace, monitor, spec, command, pr)


def _consume_label(spec: dict[str, Any], command: dict[str, Any], client: GitHubClient) -> None:
    labels = ((spec.get("triggers") or {}).get("github") or {}).get("labels") or {}
    if labels.get("consumeCommandLabels"):
        client.remove_label(spec["owner"], spec["repository"], command["number"], command["label"])


def on_labeled(event: Event) -> None:
    payload = event.data if isinstance(event.data, dict) else {}
    for match in matches(payload, event.id):
        record = monitors.get(match.namespace, match.monitor)
        if record is None:
            continue
        spec = record.doc["spec"]
        client = forge_client(match.namespace, spec)
        command = _record(match, payload, spec, client)
        if command.get("phase") == "completed":
            continue  # a redelivery of a command carried out already
        outcome: dict[str, Any] = {"result": command["status"]}
        if command["status"] == "accepted":
            outcome = _carry_out(match, spec, command, client)
            _consume_label(spec, command, client)
        _finish(match, outcome)
        log.info("monitor command", extra={"fields": {"monitor": f"{match.namespace}/{match.monitor}",
                                                      "command": match.command_id, "intent": match.intent,
                                                      "status": command["status"], **outcome}})
