"""What a monitor run does (the `github` event function executes `dev.shoal.monitor.run.queued`).

1. claim the run (queued → running, conditional on the stored version; a redelivery finds it running
   or finished and stops);
2. read the pull requests: the one PR of a narrowed run (`targetNumber`; an exact-head run whose PR
   moved on is recorded and skipped), else the open PRs, most recently updated first, up to
   `maxPerRun`, drafts only with `includeDrafts`, PRs with a pause label skipped, PRs with a
   protected label skipped with their item marked `blocked` (`skipReason: blocked_label`);
3. per PR head not reviewed yet: one read-only review task (`agent`, the reviewer Agent, named after
   monitor, PR, head SHA and review round, so a round is never queued twice) and the item updated;
   a new head is reviewed at once, the same head again only once its review is older than
   `review.staleReviewTTL` (a new round); the task's workspace is the PR head, never pushed, with
   the monitor's `validation.commands` to run first (`shared.worker.validation`);
4. a full inventory also retires items whose PR is no longer open;
5. finish the run (succeeded with counts, or failed with the reason) and free the monitor's
   active-run slot. Every step leaves an audit event.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

from shared.auth.principal import Principal
from shared.catalog.git_credentials import git_token
from shared.clock import now_rfc3339, parse_rfc3339
from shared.duration import parse_go_duration
from shared.events.envelope import Event
from shared.github.client import GitHubClient
from shared.logs import get_logger
from shared.monitors.store import items, monitors, record_event, runs, scope
from shared.schedules import release_active
from shared.store import AlreadyExists
from shared.tasks.service import create_task

log = get_logger("monitors")


def item_key(number: int) -> str:
    return f"pull_request-{number:08d}"


def review_task_name(monitor: str, number: int, sha: str, round_: int = 0) -> str:
    """One name per monitor, PR, head and review round (round 0 = the first review of that head)."""
    key = f"{monitor}#{number}#{sha}" + (f"#{round_}" if round_ else "")
    digest = hashlib.sha256(key.encode()).hexdigest()[:8]
    return f"review-{monitor[:24].rstrip('-')}-pr{number}-{sha[:12]}-{digest}"


def _set_phase(namespace: str, monitor: str, run_id: str, phase: str, *, only_from: tuple[str, ...],
               **fields: Any) -> bool:
    moved = {"ok": False}

    def mutate(doc: dict[str, Any]) -> bool:
        if doc.get("phase") not in only_from:
            return False
        doc["phase"] = phase
        doc.update({k: v for k, v in fields.items() if v is not None})
        moved["ok"] = True
        return True

    runs.update(scope(namespace, monitor), run_id, mutate, not_found_message="monitor run not found")
    return moved["ok"]


def finish_run(namespace: str, monitor: str, run_id: str, phase: str, message: str, **fields: Any) -> None:
    _set_phase(namespace, monitor, run_id, phase, only_from=("queued", "running"), message=message,
               completedAt=now_rfc3339(), **fields)

    if monitors.get(namespace, monitor) is not None:
        release_active(monitors, namespace, monitor, run_id, active="activeRun", last_time="lastRunTime",
                       last_phase="lastRunPhase", phase=phase)
    record_event(namespace, monitor, "RunSucceeded" if phase == "succeeded" else "RunFailed", message,
                 run_id=run_id)


def forge_client(namespace: str, spec: dict[str, Any]) -> GitHubClient:
    """GitHub as the monitor itself (commands, merges): `forgeCredentialRef`, else `gitSecretRef`; a
    named Secret that cannot be read raises GitSecretUnreadable (never an unauthenticated call)."""
    source = {"gitSecretRef": spec["forgeCredentialRef"]} if spec.get("forgeCredentialRef") else spec
    return GitHubClient(git_token(namespace, source, default_names=False))


VERDICTS = ("passed", "needs_changes", "needs_human", "security_sensitive", "skipped")


def _review_prompt(spec: dict[str, Any], pr: dict[str, Any]) -> str:
    review = spec.get("review") or {}
    validation = spec.get("validation") or {}
    lines = [f"Review pull request #{pr['number']} of {spec['owner']}/{spec['repository']} at head "
             f"{pr['head']['sha']} (read-only: do not push).", f"Title: {pr.get('title') or ''}",
             f"URL: {pr.get('html_url') or ''}", f"Base: {(pr.get('base') or {}).get('ref', '')}",
             f"Post one review with event {review.get('event', 'COMMENT')}."]
    if validation.get("commands"):
        lines.append(f"Validation ({validation.get('mode', 'changed')}): " + "; ".join(validation["commands"]))
    # Orka's review result (orka.prReview.v1): the monitor reads the verdict from it (review_results.py)
    lines.append('End your answer with one JSON object: {"schemaVersion": "orka.prReview.v1", "headSHA": "'
                 + pr["head"]["sha"] + '", "verdict": "' + "|".join(VERDICTS) + '", "summary": "…"}.')
    return "\n".join(lines)


def _labels(pr: dict[str, Any]) -> set[str]:
    return {label.get("name") for label in pr.get("labels") or [] if isinstance(label, dict)}


def review_round(spec: dict[str, Any], item: dict[str, Any] | None, sha: str) -> int:
    """Which review round a PR head needs now (the current round's task exists: nothing new is created).

    A new head (or a PR never seen) → round 0 at once. The same head already reviewed → a new round
    only when `review.staleReviewTTL` is set and the last review was queued longer ago than that.
    """
    if not item or item.get("headSHA") != sha or not item.get("reviewTask") or item.get("state") == "closed":
        return 0
    current = int(item.get("reviewRound") or 0)
    ttl = (spec.get("review") or {}).get("staleReviewTTL")
    reviewed_at = item.get("reviewedAt")
    if not ttl or not reviewed_at:
        return current  # same head: the existing task name, so nothing new is created
    age = (datetime.now(UTC) - parse_rfc3339(reviewed_at)).total_seconds()
    return current + 1 if age > parse_go_duration(str(ttl)) else current


def _review_workspace(spec: dict[str, Any], pr: dict[str, Any]) -> dict[str, Any]:
    """The PR head, read-only (never pushed); the monitor's validation commands run there first."""
    workspace: dict[str, Any] = {"gitRepo": f"https://github.com/{spec['owner']}/{spec['repository']}.git",
                                 "ref": (pr.get("head") or {}).get("ref"), "push": False}
    commands = (spec.get("validation") or {}).get("commands")
    if commands:
        workspace["validationCommands"] = list(commands)
    return workspace


def _blocked_label(spec: dict[str, Any], pr: dict[str, Any]) -> tuple[str, str] | None:
    """("protected" | "paused", the PR's label) when a policy label blocks automated review (Orka's
    rule: labels compared case-insensitively, protected labels checked first)."""
    policy = spec.get("policy") or {}
    labels = {label.strip().lower(): label for label in _labels(pr) if isinstance(label, str)}
    for kind, key in (("protected", "protectedLabels"), ("paused", "pauseLabels")):
        for wanted in policy.get(key) or []:
            if isinstance(wanted, str) and wanted.strip().lower() in labels:
                return kind, labels[wanted.strip().lower()]
    return None


def _record_blocked(namespace: str, monitor: str, run_id: str, pr: dict[str, Any], label: str) -> None:
    """A protected PR is not reviewed; its item says why (Orka: skipReason blocked_label, verdict skipped)."""
    number = pr["number"]
    doc = {"kind": "pull_request", "number": number, "title": pr.get("title"), "url": pr.get("html_url"),
           "headSHA": (pr.get("head") or {}).get("sha", "").lower(), "state": "blocked", "verdict": "skipped",
           "skipReason": "blocked_label", "blockedLabel": label, "automergeState": "", "lastRunID": run_id,
           "updatedAt": now_rfc3339()}

    def upsert(existing: dict[str, Any]) -> bool:
        existing.update(doc)
        return True

    try:
        items.create(scope(namespace, monitor), item_key(number), doc)
    except AlreadyExists:
        items.update(scope(namespace, monitor), item_key(number), upsert)
    record_event(namespace, monitor, "ItemProtected", f"PR #{number} skipped: protected label {label}",
                 run_id=run_id, item_kind="pull_request", item_number=number)


def _review(namespace: str, monitor: str, run_id: str | None, spec: dict[str, Any], pr: dict[str, Any], *,
            new_round: bool = False) -> bool:
    """Queue a review of this PR head unless one exists; True when a task was created. `new_round`: a
    maintainer asked for a review (`orka:review`), so a head reviewed already is reviewed again."""
    number, sha = pr["number"], pr["head"]["sha"].lower()
    existing = items.get(scope(namespace, monitor), item_key(number))
    round_ = review_round(spec, existing.doc if existing else None, sha)
    if new_round and existing and existing.doc.get("headSHA") == sha and existing.doc.get("reviewTask"):
        round_ = int(existing.doc.get("reviewRound") or 0) + 1
    task_name = review_task_name(monitor, number, sha, round_)
    principal = Principal(kind="system", subject="system:shoal:monitors", username="monitors", namespace=namespace)
    body = {"name": task_name, "namespace": namespace, "spec": {
        "type": "agent", "agentRef": {"name": spec["agents"]["reviewer"]["name"]}, "prompt": _review_prompt(spec, pr),
        "workspace": _review_workspace(spec, pr)}}
    created = True
    try:
        create_task(body, principal, server_labels={"orka.ai/monitor": monitor, "orka.ai/monitor-pr": str(number)},
                    server_annotations={"orka.ai/monitor-run": run_id, "orka.ai/monitor-head-sha": sha})
    except AlreadyExists:
        created = False
    doc = {"kind": "pull_request", "number": number, "title": pr.get("title"), "url": pr.get("html_url"),
           "headSHA": sha, "state": "reviewing" if created else "reviewed", "reviewTask": task_name,
           "lastRunID": run_id, "updatedAt": now_rfc3339(), "reviewRound": round_, "skipReason": "",
           "blockedLabel": ""}
    if run_id is None:  # a maintainer's command, not a run
        del doc["lastRunID"]
    if created:  # a new review's result is not in yet (review_results.py sets them when it is)
        doc.update(verdict="", automergeState="")
    if created or not (existing and existing.doc.get("reviewedAt")):
        doc["reviewedAt"] = now_rfc3339()

    def upsert(existing: dict[str, Any]) -> bool:
        existing.update(doc)
        return True

    if existing is None:
        try:
            items.create(scope(namespace, monitor), item_key(number), doc)
        except AlreadyExists:
            items.update(scope(namespace, monitor), item_key(number), upsert)
    else:
        items.update(scope(namespace, monitor), item_key(number), upsert)
    if created and round_:
        record_event(namespace, monitor, "StaleReviewRequeued", f"review of PR #{number} at {sha[:12]} is older "
                     f"than staleReviewTTL; review task {task_name} queued", run_id=run_id,
                     item_kind="pull_request", item_number=number)
    if created:
        record_event(namespace, monitor, "ReviewQueued", f"review task {task_name} queued", run_id=run_id,
                     item_kind="pull_request", item_number=number)
    return created


def execute_run(namespace: str, monitor: str, run_id: str) -> None:
    run = runs.get(scope(namespace, monitor), run_id)
    if run is None or not _set_phase(namespace, monitor, run_id, "running", only_from=("queued",),
                                     startedAt=now_rfc3339()):
        return  # gone, or another delivery already took it
    record = monitors.get(namespace, monitor)
    if record is None:
        finish_run(namespace, monitor, run_id, "failed", "repository monitor was deleted")
        return
    spec = record.doc["spec"]
    prs_cfg = (spec.get("targets") or {}).get("pullRequests") or {}
    try:
        client = GitHubClient(git_token(namespace, spec, default_names=False))
        number, target_sha = run.doc.get("targetNumber"), run.doc.get("targetSHA")
        if number:
            pulls = [client.pull(spec["owner"], spec["repository"], number)]
            if target_sha and pulls[0].get("head", {}).get("sha", "").lower() != target_sha:
                record_event(namespace, monitor, "HeadMoved", f"PR #{number} head moved past {target_sha}",
                             run_id=run_id, item_kind="pull_request", item_number=number)
                pulls = []
        else:
            pulls = client.open_pulls(spec["owner"], spec["repository"], limit=int(prs_cfg.get("maxPerRun", 10)))
        seen, queued = 0, 0
        for pr in pulls:
            if pr.get("state", "open") != "open" or (pr.get("draft") and not prs_cfg.get("includeDrafts")):
                continue
            blocked = _blocked_label(spec, pr)
            if blocked and blocked[0] == "protected":
                _record_blocked(namespace, monitor, run_id, pr, blocked[1])
                continue
            if blocked:
                record_event(namespace, monitor, "ItemPaused", f"PR #{pr['number']} carries a pause label",
                             run_id=run_id, item_kind="pull_request", item_number=pr["number"])
                continue
            seen += 1
            queued += _review(namespace, monitor, run_id, spec, pr)
        if not number:
            _retire(namespace, monitor, run_id, {pr["number"] for pr in pulls})
    except Exception as exc:
        reason = getattr(exc, "message", None) or str(exc) or type(exc).__name__
        log.warning("monitor run failed", extra={"fields": {"monitor": f"{namespace}/{monitor}", "run": run_id,
                                                            "reason": reason}})
        finish_run(namespace, monitor, run_id, "failed", reason)
        return
    finish_run(namespace, monitor, run_id, "succeeded", f"{seen} pull requests, {queued} reviews queued",
               pullRequests=seen, reviewsQueued=queued)


def _retire(namespace: str, monitor: str, run_id: str, open_numbers: set[int]) -> None:
    records, _ = items.list_page(scope(namespace, monitor), limit=None)
    for item in records:
        if item.doc.get("number") not in open_numbers and item.doc.get("state") not in ("closed", "merged"):
            def close(doc: dict[str, Any]) -> bool:
                doc["state"] = "closed"
                doc["updatedAt"] = now_rfc3339()
                return True

            items.update(scope(namespace, monitor), item.name, close)
            record_event(namespace, monitor, "ItemRetired", f"PR #{item.doc.get('number')} is no longer open",
                         run_id=run_id, item_kind="pull_request", item_number=item.doc.get("number"))


def on_run_queued(event: Event) -> None:
    data = event.data if isinstance(event.data, dict) else {}
    execute_run(data["namespace"], data["name"], data["runID"])
