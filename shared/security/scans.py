"""Scan runs: at most one active run per repository, one task per review slice, finished by the tasks.

The one-active-run rule is a conditional update of the RepositoryScan's `status.activeScan`
(optimistic version check) that stores the queued run and its event in the same transaction: two
concurrent requests (or a request and a scheduler tick) cannot both claim it, and a claim never
exists without its run. The run is then announced; the `github` event function executes it
(`execute_run`: plan the slices, one agent task per slice); each slice task's
`task.finished` event (shared.security.handlers) records its outcome, and the last one finishes the
run and frees the slot.
"""

from __future__ import annotations

import time
from typing import Any

from shared.clock import now_rfc3339
from shared.errors import Conflict
from shared.events import build
from shared.events.outbox import deliver_staged
from shared.logs import get_logger
from shared.schedules import release_active
from shared.security import prompts, slices, tasks
from shared.security.github import repository_tree, token_for
from shared.security.retention import finished_run_expiry
from shared.security.store import ACTIVE_PHASES, SCAN_NOT_FOUND, repo_scope, repositories, runs
from shared.security.store import scope as scope_of  # "scope" names a local in the functions below
from shared.security.store import slices as slice_store
from shared.store import AlreadyExists, Companion, Record

log = get_logger("security")
ACTIVE_SCAN = "a security scan is already running for this repository"


def new_run_id() -> str:
    return f"scan_{time.time_ns()}"


def is_active(record: Record, run_id: str | None) -> bool:
    if not run_id:
        return False
    run = runs.get(repo_scope(record), run_id)
    return run is not None and run.doc.get("phase") in ACTIVE_PHASES


def claim(doc: dict[str, Any], record: Record, run_id: str) -> None:
    """Take the active-scan slot in `doc` (the RepositoryScan being updated); Conflict while one is active."""
    status = doc.setdefault("status", {})
    if is_active(record, status.get("activeScan")):
        raise Conflict(ACTIVE_SCAN)
    status["activeScan"] = run_id
    status["lastScanRunID"] = run_id


def start_scan(namespace: str, name: str, *, trigger: str, actor: str | None = None) -> Record:
    """Claim the slot and store the queued run in one write; the stored run (409 while one is active)."""
    run_id = new_run_id()
    current = repositories.require(namespace, name, SCAN_NOT_FOUND)

    def take(doc: dict[str, Any]) -> bool:
        claim(doc, current, run_id)
        return True

    record = repositories.update(namespace, name, take, not_found_message=SCAN_NOT_FOUND,
                                 companions=lambda doc: queued_run(namespace, name, doc, run_id, trigger=trigger,
                                                                   actor=actor))
    return announce_queued(record)


def queued_run(namespace: str, name: str, doc: dict[str, Any], run_id: str, *, trigger: str,
               actor: str | None = None) -> tuple[Companion, Companion]:
    """The queued run and its `scan.queued` event, as companions of the write that claims the slot.

    Claim and run are one transaction: a second request (or a scheduler tick) reading the claim
    always finds the run it names, active, and answers 409; before, it could read the claim before
    the run existed, take the slot again and start a second scan.
    """
    from shared.events.registry import data_for  # the event catalogue's models: with the first event
    spec = doc["spec"]
    run: dict[str, Any] = {"id": run_id, "namespace": namespace, "repository": name, "phase": "queued",
                           "trigger": trigger, "createdAt": now_rfc3339(), "slices": {}, "tasks": {}, "findings": 0,
                           "dropped": 0}
    if actor:
        run["requestedBy"] = actor
    for key in ("branch", "ref"):
        if spec.get(key):
            run[key] = spec[key]
    from shared.events.outbox import staged  # bound per call: tests replace outbox.staged

    type_ = "dev.shoal.security.scan.queued"
    # The event that runs the scan is stored with the run and delivered after the commit: neither a
    # broker outage nor a process dying in between strands a queued run (the tick delivers it).
    event = staged(build(type_, data_for(type_, namespace=namespace, name=name, scanRunID=run_id,
                                         trigger=trigger), subject=f"{namespace}/{name}"))
    return Companion(runs, scope_of(namespace, name, doc["metadata"]["uid"]), run_id, run), event


def announce_queued(repo: Record) -> Record:
    """After the claim committed: deliver its staged `scan.queued` event; the queued run it stored."""
    deliver_staged(repo)
    [run] = [c for c in repo.companions if c.store is runs]
    return Record(runs.kind, run.namespace, run.name, 1, run.doc)


def execute_run(namespace: str, name: str, run_id: str) -> None:
    """Plan the slices (the repository tree when `spec.paths` is empty) and create one task per slice.

    The queued → running move is conditional, so a redelivered event (or a second replica) finds the
    run taken and stops; the task names are deterministic, so a crash between tasks is repaired by
    the redelivery of the event that failed.
    """
    repo = repositories.get(namespace, name)
    if repo is None:
        return
    scope = repo_scope(repo)
    run = runs.get(scope, run_id)
    if run is None or run.doc.get("phase") != "queued":
        return
    spec = repo.doc["spec"]
    try:
        tree = repository_tree(spec, token_for(namespace, spec)) if slices.needs_tree(spec) else None
    except Exception as exc:
        reason = getattr(exc, "message", None) or str(exc) or type(exc).__name__
        finish_run(namespace, name, run_id, "failed", f"the repository tree could not be read: {reason}")
        return
    plan = slices.plan(spec, tree)
    names = {s["sliceID"]: tasks.task_name("secscan", repo.name, repo.doc["metadata"]["uid"], run_id, s["sliceID"])
             for s in plan}
    taken = {"ok": False}

    def start(doc: dict[str, Any]) -> bool:
        if doc.get("phase") != "queued":
            return False
        doc.update({"phase": "running", "startedAt": now_rfc3339(), "tasks": names,
                    "slices": {s["sliceID"]: "running" for s in plan}})
        taken["ok"] = True
        return True

    runs.update(scope, run_id, start, not_found_message="scan run not found")
    if not taken["ok"]:
        return
    try:
        for s in plan:
            _mark_slice(scope, s, run_id, names[s["sliceID"]], "running")
            tasks.create(namespace, names[s["sliceID"]], spec, prompts.scan_prompt(spec, s, run_id), repo.name,
                         {tasks.KIND: "scan", tasks.RUN: run_id, tasks.SLICE: s["sliceID"],
                          tasks.UID: repo.doc["metadata"]["uid"]})
    except Exception as exc:
        log.exception("security scan could not start", extra={"fields": {"repository": name, "run": run_id}})
        finish_run(namespace, name, run_id, "failed", f"scan tasks could not be created: {exc}")


def on_scan_queued(event: Any) -> None:
    data = event.data if isinstance(event.data, dict) else {}
    execute_run(data["namespace"], data["name"], data["scanRunID"])


def _mark_slice(scope: str, s: dict[str, Any], run_id: str, task: str, status: str) -> None:
    fields = {**s, "status": status, "lastScanRunID": run_id, "taskName": task, "updatedAt": now_rfc3339()}
    fields.setdefault("excludes", [])
    try:
        slice_store.create(scope, s["sliceID"], fields)
    except AlreadyExists:
        slice_store.update(scope, s["sliceID"], lambda d: d.update(fields))


def slice_finished(repo: Record, run_id: str, slice_id: str, outcome: str, *, findings: int = 0,
                   dropped: int = 0, message: str | None = None) -> None:
    """Record one slice task's outcome ("completed"/"failed"); the last slice finishes the run."""
    scope = repo_scope(repo)
    changed = {"ok": False}

    def record_slice(doc: dict[str, Any]) -> bool:
        if doc.get("phase") not in ACTIVE_PHASES or doc["slices"].get(slice_id) != "running":
            return False  # a redelivered event: already counted
        doc["slices"][slice_id] = outcome
        doc["findings"] = int(doc.get("findings", 0)) + findings
        doc["dropped"] = int(doc.get("dropped", 0)) + dropped
        changed["ok"] = True
        return True

    run = runs.update(scope, run_id, record_slice, not_found_message="scan run not found")
    if not changed["ok"]:
        return

    def slice_doc(doc: dict[str, Any]) -> bool:
        if doc.get("lastScanRunID") != run_id:
            return False
        doc.update({"status": outcome, "findings": findings, "dropped": dropped, "updatedAt": now_rfc3339()})
        if message:
            doc["message"] = message
        else:
            doc.pop("message", None)
        return True

    if slice_store.get(scope, slice_id) is not None:
        slice_store.update(scope, slice_id, slice_doc)
    states = list(run.doc["slices"].values())
    if "running" in states:
        return
    failed = states.count("failed")
    if failed == len(states):
        finish_run(repo.namespace, repo.name, run_id, "failed", "every review slice failed")
    else:
        text = f"{len(states) - failed} of {len(states)} slices completed"
        finish_run(repo.namespace, repo.name, run_id, "succeeded", text)


def finish_run(namespace: str, name: str, run_id: str, phase: str, message: str) -> None:
    """Finish the run (once) and free the repository's active-scan slot; announce it."""
    repo = repositories.get(namespace, name)
    if repo is None:
        return
    scope = repo_scope(repo)

    def finish(doc: dict[str, Any]) -> bool:
        if doc.get("phase") not in ACTIVE_PHASES:
            return False
        doc.update({"phase": phase, "message": message, "completedAt": now_rfc3339()})
        return True


    run = runs.update(scope, run_id, finish, not_found_message="scan run not found", expiry=finished_run_expiry,
                      companions=lambda doc: (_finished_event(doc),))
    release_active(repositories, namespace, name, run_id, active="activeScan", last_time="lastScanTime",
                   last_phase="lastScanPhase", phase=phase)
    deliver_staged(run)  # only the finish that moved the run staged (and announces) it


def _finished_event(doc: dict[str, Any]) -> Any:
    """The run's `finished` event, staged to be written with the finish itself."""
    from shared.events.outbox import staged  # bound per call: tests replace outbox.staged
    from shared.events.registry import data_for  # the event catalogue's models: with the first event

    type_ = "dev.shoal.security.scan.finished"
    return staged(build(type_, data_for(type_, namespace=doc["namespace"], name=doc["repository"],
                                        scanRunID=doc["id"], phase=doc["phase"], findings=int(doc.get("findings", 0)),
                                        dropped=int(doc.get("dropped", 0))),
                        subject=f"{doc['namespace']}/{doc['repository']}"))
