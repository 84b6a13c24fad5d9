"""Optional, head-bound automerge (`orka:automerge`; Orka's `repositorymonitor_automerge.go`).

The gate, in Orka's order (the first failing check is the item's `skipReason`):
`automerge.enabled` (`automerge_disabled`); the process-wide gate `ORKA_REPOSITORY_MONITOR_AUTOMERGE_GATE`
unless `automerge.requireGlobalMergeGate` is false (`global_merge_gate_disabled`); the command
sender's permission (`actor_permission_insufficient`); the command bound to the PR's current head
(`stale_head_sha`); no protected or pause label (`blocked_label`); a passed monitor review of that
head (`orka_review_not_passed`); no queued or failed repair (`active_or_failed_repair_state`); GitHub's
`mergeable_state` known (`mergeability_pending`) and `clean` or `unstable`
(`pull_request_not_mergeable`); CI green (`ci_not_green`, `ci_checks_missing`, `ci_pending`).

`mergeability_pending` and `ci_pending` leave the item `automergeState: "pending"`: the command
is tried again after each run of the monitor (`retry_after_run`, the next handler of
`dev.shoal.monitor.run.queued`), so CI finishing and the next scheduled or webhook run merge it.
Any other failing check is `blocked`. Passing all, the PR is merged through GitHub with the head
SHA (GitHub refuses a moved head) and the first of `automerge.allowedMergeMethods` (default
squash): `merged` (the item's `state` too), or `failed` (`automerge_failed`) when GitHub refuses.
"""

from __future__ import annotations

from typing import Any

from shared.clock import now_rfc3339
from shared.config import get_settings
from shared.events.envelope import Event
from shared.github.ci import ci_state
from shared.github.client import GitHubClient
from shared.monitors.command_spec import permitted
from shared.monitors.execute import _blocked_label, forge_client, item_key
from shared.monitors.store import commands, items, monitors, record_event, scope

PENDING = ("mergeability_pending", "ci_pending")


def gate(spec: dict[str, Any], command: dict[str, Any], pr: dict[str, Any], item: dict[str, Any],
         client: GitHubClient) -> str:
    """The first reason not to merge now ("" to merge)."""
    automerge = spec.get("automerge") or {}
    head = str((pr.get("head") or {}).get("sha") or "").lower()
    state = str(pr.get("mergeable_state") or "").lower()
    if not automerge.get("enabled"):
        return "automerge_disabled"
    if automerge.get("requireGlobalMergeGate", True) and not get_settings().repository_monitor_automerge_gate:
        return "global_merge_gate_disabled"
    if not permitted(spec, command.get("permission") or "", "automerge"):
        return "actor_permission_insufficient"
    if not command.get("headSHA") or command["headSHA"] != head:
        return "stale_head_sha"
    if _blocked_label(spec, pr):
        return "blocked_label"
    if item.get("verdict") != "passed" or item.get("headSHA") != head:
        return "orka_review_not_passed"
    if item.get("repairState") not in (None, "", "succeeded"):
        return "active_or_failed_repair_state"
    if state in ("", "unknown"):
        return "mergeability_pending"
    if state not in ("clean", "unstable"):
        return "pull_request_not_mergeable"
    ci = ci_state(client.check_runs(spec["owner"], spec["repository"], head),
                  client.commit_statuses(spec["owner"], spec["repository"], head))
    return {"success": "", "pending": "ci_pending", "none": "ci_checks_missing"}.get(ci.state, "ci_not_green")


def _method(spec: dict[str, Any]) -> str:
    allowed = (spec.get("automerge") or {}).get("allowedMergeMethods") or []
    return next((m for m in allowed if m in ("squash", "merge", "rebase")), "squash")


def _set(namespace: str, monitor: str, number: int, **fields: Any) -> dict[str, Any]:
    def put(item: dict[str, Any]) -> bool:
        item.update(fields, updatedAt=now_rfc3339())
        return True

    items.update(scope(namespace, monitor), item_key(number), put)
    return fields


def attempt(namespace: str, monitor: str, spec: dict[str, Any], command: dict[str, Any], pr: dict[str, Any],
            client: GitHubClient) -> dict[str, Any]:
    """Try the merge of an accepted command; the outcome (also the item's automergeState)."""
    from shared.monitors.repair import upsert_item  # the item may not exist yet (a PR never inventoried)

    number = pr["number"]
    upsert_item(namespace, monitor, pr, lambda item: False)
    item = items.require(scope(namespace, monitor), item_key(number), "item not found").doc
    reason = gate(spec, command, pr, item, client)
    if reason in PENDING:
        record_event(namespace, monitor, "AutomergePending", f"PR #{number} automerge waits: {reason}",
                     item_kind="pull_request", item_number=number)
        return _set(namespace, monitor, number, automergeState="pending", skipReason=reason,
                    automergeCommand=command["id"])
    if reason:
        record_event(namespace, monitor, "AutomergeBlocked", f"PR #{number} automerge blocked: {reason}",
                     item_kind="pull_request", item_number=number)
        return _set(namespace, monitor, number, automergeState="blocked", skipReason=reason, automergeCommand="")
    method = _method(spec)
    merged = client.merge_pull(spec["owner"], spec["repository"], number,
                               {"merge_method": method, "sha": pr["head"]["sha"]})
    if merged is None:  # 405/409: GitHub will not merge it (or the head moved)
        record_event(namespace, monitor, "AutomergeFailed", f"PR #{number} automerge failed: GitHub refused the "
                     "merge", item_kind="pull_request", item_number=number)
        return _set(namespace, monitor, number, automergeState="failed", skipReason="automerge_failed",
                    automergeCommand="")
    sha = str(merged.get("sha") or "")
    record_event(namespace, monitor, "AutomergeSucceeded", f"PR #{number} automerged ({method}, {sha[:12]})",
                 item_kind="pull_request", item_number=number)
    return _set(namespace, monitor, number, automergeState="merged", state="merged", skipReason="",
                automergeCommand="", mergeSHA=sha, mergeMethod=method)


def retry_after_run(event: Event) -> None:
    """After a monitor run: try the pending automerge commands of its items again."""
    data = event.data if isinstance(event.data, dict) else {}
    namespace, monitor = data.get("namespace"), data.get("name")
    record = monitors.get(namespace, monitor) if namespace and monitor else None
    if record is None:
        return
    spec = record.doc["spec"]
    records, _ = items.list_page(scope(namespace, monitor), limit=None)
    pending = [r.doc for r in records if r.doc.get("automergeState") == "pending" and r.doc.get("automergeCommand")]
    if not pending:
        return
    client = forge_client(namespace, spec)
    for item in pending:
        command = commands.get(scope(namespace, monitor), item["automergeCommand"])
        if command is None:
            continue
        pr = client.pull(spec["owner"], spec["repository"], item["number"])
        if pr.get("state", "open") != "open":
            _set(namespace, monitor, item["number"], automergeState="blocked", skipReason="pull_request_not_open",
                 automergeCommand="")
            continue
        attempt(namespace, monitor, spec, command.doc, pr, client)
