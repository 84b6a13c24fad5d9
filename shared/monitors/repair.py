"""Bounded repair of a pull request (`orka:fix`, `orka:fix-ci`, `orka:update-branch`; Orka's
`repositorymonitor_repair.go`).

Start (`start`, from an accepted command): the monitor's repair policy decides first, in Orka's
order — `repair.enabled` (else `repair_disabled`), a repairer Agent (`missing_repairer_agent`), a PR
whose head branch lives in the monitored repository (`fork_pr_repair_not_writable`), a write
credential (`gitSecretRef`, else `missing_write_credential`), then the budgets `maxRepairsPerPR`
(`repair_pr_budget_exhausted`) and `maxRepairsPerHead` (`repair_head_budget_exhausted`). The budget
is counted on the PR's item in the same conditional write that claims the repair, so two commands
can never both take the last one. A blocked repair sets the item's `repairState: "failed"` and
`skipReason` to the reason. Otherwise one `agent` task of the repairer (named after monitor, PR and
command, so a redelivery creates nothing new) works on the PR head branch and pushes to it with the
monitor's `gitSecretRef`; the item becomes `repairState: "queued"` (`automergeState` cleared).

Result (`on_task_finished`, the `reactor` function): a succeeded task that pushed to the PR head
branch (its `workspace-changes.json` artifact says so) is `succeeded`; `orka:update-branch` with
nothing to push succeeds when GitHub says the head already contains the base it was asked for;
anything else is `failed` with the reason. A success clears the item's verdict, skip reason and
automerge state: the new head is reviewed again before anything can merge.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Callable
from typing import Any

from shared.auth.principal import Principal
from shared.clock import now_rfc3339
from shared.errors import NotFound
from shared.events import Event
from shared.monitors.execute import forge_client, item_key
from shared.monitors.store import items, monitors, record_event, scope
from shared.store import AlreadyExists
from shared.tasks.repository import artifact_key, event_task
from shared.tasks.service import create_task

REPAIR_INTENTS = ("fix", "fix_ci", "update_branch")
REPAIR_LABEL = "orka.ai/monitor-repair"
CHANGES_ARTIFACT = "workspace-changes.json"  # shared.worker.runtime_task.CHANGES_ARTIFACT


def upsert_item(namespace: str, monitor: str, pr: dict[str, Any], mutate: Callable[[dict[str, Any]], bool]) -> None:
    """Apply `mutate` to the PR's item (conditional update), creating the item first when it is new."""
    number = pr["number"]
    base = {"kind": "pull_request", "number": number, "title": pr.get("title"), "url": pr.get("html_url"),
            "headSHA": str((pr.get("head") or {}).get("sha") or "").lower(), "state": "open", "verdict": "",
            "automergeState": "", "repairState": "", "skipReason": "", "updatedAt": now_rfc3339()}
    with contextlib.suppress(AlreadyExists):  # it exists: update it
        items.create(scope(namespace, monitor), item_key(number), base)
    items.update(scope(namespace, monitor), item_key(number), mutate)


def task_name(monitor: str, number: int, command_id: str) -> str:
    digest = hashlib.sha256(f"{monitor}#{number}#{command_id}".encode()).hexdigest()[:12]
    return f"monrepair-{monitor[:30].rstrip('-')}-pr{number}-{digest}"


def _policy(spec: dict[str, Any], pr: dict[str, Any]) -> str:
    repair = spec.get("repair") or {}
    head_repo = str(((pr.get("head") or {}).get("repo") or {}).get("full_name") or "")
    if not repair.get("enabled"):
        return "repair_disabled"
    if not ((spec.get("agents") or {}).get("repairer") or {}).get("name"):
        return "missing_repairer_agent"
    if head_repo.lower() != f"{spec['owner']}/{spec['repository']}".lower():
        return "fork_pr_repair_not_writable"
    if not (spec.get("gitSecretRef") or {}).get("name"):
        return "missing_write_credential"
    return ""


def _prompt(intent: str, spec: dict[str, Any], pr: dict[str, Any], item: dict[str, Any]) -> str:
    """Orka's repair prompt with its `orka.prRepair.input.v1` input."""
    payload = {"schemaVersion": "orka.prRepair.input.v1", "repo": f"{spec['owner']}/{spec['repository']}",
               "prNumber": pr["number"], "headSHA": pr["head"]["sha"].lower(), "intent": intent,
               "lastVerdict": item.get("verdict") or "", "skipReason": item.get("skipReason") or ""}
    return (f'Repair this exact pull request head for intent "{intent}". Keep scope limited, run relevant '
            "validation, and leave final changes for Orka to commit and push to the configured push branch. "
            "Do not merge or close the PR.\n\nInput:\n" + json.dumps(payload, indent=2) + "\n")


def start(namespace: str, monitor: str, spec: dict[str, Any], command: dict[str, Any],
          pr: dict[str, Any]) -> dict[str, Any]:
    """Queue the repair task of an accepted command, or record why it is blocked; the outcome."""
    number, sha, intent = pr["number"], pr["head"]["sha"].lower(), command["intent"]
    name = task_name(monitor, number, command["id"])
    repair_cfg = spec.get("repair") or {}
    decided: dict[str, Any] = {"reason": _policy(spec, pr)}

    def claim(item: dict[str, Any]) -> bool:
        if item.get("repairTask") == name:
            decided["prompt"] = item.get("repairPrompt")
            return False  # claimed by an earlier delivery of this command: only the task may be missing
        per_pr = int(item.get("repairCount") or 0)
        per_head = int(item.get("repairCountHead") or 0) if item.get("repairHeadSHA") == sha else 0
        reason = decided["reason"]
        if not reason and repair_cfg.get("maxRepairsPerPR") is not None and per_pr >= repair_cfg["maxRepairsPerPR"]:
            reason = "repair_pr_budget_exhausted"
        if not reason and repair_cfg.get("maxRepairsPerHead") is not None and \
                per_head >= repair_cfg["maxRepairsPerHead"]:
            reason = "repair_head_budget_exhausted"
        decided["reason"] = reason
        if reason:
            item.update(repairState="failed", skipReason=reason, updatedAt=now_rfc3339())
            return True
        decided["prompt"] = _prompt(intent, spec, pr, item)
        item.update(repairState="queued", automergeState="", skipReason="", repairTask=name, repairIntent=intent,
                    repairCount=per_pr + 1, repairHeadSHA=sha, repairCountHead=per_head + 1,
                    repairBaseSHA=str((pr.get("base") or {}).get("sha") or ""), repairBranch=pr["head"]["ref"],
                    repairPrompt=decided["prompt"], updatedAt=now_rfc3339())
        return True

    upsert_item(namespace, monitor, pr, claim)
    if decided["reason"]:
        record_event(namespace, monitor, "RepairBlocked", f"PR #{number} repair blocked: {decided['reason']}",
                     item_kind="pull_request", item_number=number)
        return {"repairState": "failed", "reason": decided["reason"]}
    body = {"name": name, "namespace": namespace, "spec": {
        "type": "agent", "agentRef": {"name": spec["agents"]["repairer"]["name"]}, "prompt": decided["prompt"],
        "timeout": "30m", "workspace": {
            "gitRepo": f"https://github.com/{spec['owner']}/{spec['repository']}.git", "ref": pr["head"]["ref"],
            "pushBranch": pr["head"]["ref"], "gitSecretRef": {"name": spec["gitSecretRef"]["name"]}}}}
    principal = Principal(kind="system", subject="system:shoal:monitors", username="monitors", namespace=namespace)
    try:
        create_task(body, principal,
                    server_labels={"orka.ai/monitor": monitor, "orka.ai/monitor-pr": str(number), REPAIR_LABEL: intent},
                    server_annotations={"orka.ai/monitor-head-sha": sha, "orka.ai/monitor-command": command["id"]})
    except AlreadyExists:
        return {"repairState": "queued", "repairTask": name}
    record_event(namespace, monitor, "RepairQueued", f"PR #{number} {intent} repair task {name} queued",
                 item_kind="pull_request", item_number=number)
    return {"repairState": "queued", "repairTask": name}


def _changes(record: Any) -> dict[str, Any]:
    from shared.store.blobs import get_blob

    data = get_blob(artifact_key(record.namespace, record.name, CHANGES_ARTIFACT))
    try:
        changes = json.loads(data) if data else {}
    except ValueError:
        return {}
    return changes if isinstance(changes, dict) else {}


def _outcome(record: Any, item: dict[str, Any], spec: dict[str, Any] | None) -> tuple[str, str, str]:
    """(repairState, reason, pushed commit) of a finished repair task."""
    phase = (record.doc.get("status") or {}).get("phase")
    if phase != "Succeeded":
        return "failed", f"task ended in phase {phase}", ""
    changes = _changes(record)
    if changes.get("commit"):
        if changes.get("branch") != item.get("repairBranch"):
            return "failed", "repair delivery branch did not match the requested PR head branch", ""
        return "succeeded", "", str(changes["commit"])
    if item.get("repairIntent") == "update_branch" and spec and item.get("repairBaseSHA"):
        status = forge_client(record.namespace, spec).compare_status(
            spec["owner"], spec["repository"], item["repairBaseSHA"], item["repairHeadSHA"])
        if status in ("ahead", "identical"):
            return "succeeded", "", ""
        return "failed", "PR head does not contain the requested base revision", ""
    return "failed", "repair pushed no change", ""


def on_task_finished(event: Event) -> None:
    record = event_task(event.data)
    labels = (record.doc.get("metadata", {}).get("labels") or {}) if record else {}
    monitor, number = labels.get("orka.ai/monitor"), labels.get("orka.ai/monitor-pr")
    if record is None or not labels.get(REPAIR_LABEL) or not monitor or not (number or "").isdigit():
        return
    namespace, number = record.namespace, int(number)
    current = items.get(scope(namespace, monitor), item_key(number))
    if current is None or current.doc.get("repairTask") != record.name or current.doc.get("repairState") != "queued":
        return  # stopped meanwhile, a newer repair, or this result is in already
    owner = monitors.get(namespace, monitor)
    state, reason, pushed = _outcome(record, current.doc, owner.doc["spec"] if owner else None)

    def settle(item: dict[str, Any]) -> bool:
        if item.get("repairTask") != record.name or item.get("repairState") != "queued":
            return False
        item.update(repairState=state, updatedAt=now_rfc3339(), repairPushedSHA=pushed)
        if state == "succeeded":  # the repaired head is reviewed again before anything can merge
            item.update(verdict="", automergeState="", skipReason="")
        else:
            item.update(skipReason=reason)
        return True

    try:
        items.update(scope(namespace, monitor), item_key(number), settle)
    except NotFound:
        return
    record_event(namespace, monitor, "RepairSucceeded" if state == "succeeded" else "RepairFailed",
                 f"PR #{number} repair {record.name}: {state}" + (f" ({reason})" if reason else ""),
                 item_kind="pull_request", item_number=number)
