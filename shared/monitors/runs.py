"""Starting a monitor run: at most one active (queued or running) run per monitor, decided atomically.

The claim is a conditional update of the monitor's `status.activeRun` (optimistic version check) whose
transaction also stores the queued run, so two concurrent requests (or a request and a scheduler tick)
can never both start a run, and a claim never exists without the run it names.
"""

from __future__ import annotations

import time
from typing import Any

from shared.clock import now_rfc3339
from shared.errors import Conflict
from shared.events import build, emit
from shared.monitors.store import ACTIVE_PHASES, MONITOR_NOT_FOUND, monitors, record_event, runs, scope
from shared.store import Companion, Record

ACTIVE_RUN = "repository monitor already has an active run"


def is_active(namespace: str, monitor: str, run_id: str | None) -> bool:
    if not run_id:
        return False
    run = runs.get(scope(namespace, monitor), run_id)
    return run is not None and run.doc.get("phase") in ACTIVE_PHASES


def start_run(namespace: str, monitor: str, *, trigger: str, target_kind: str = "", target_number: int | None = None,
              target_sha: str | None = None, actor: str | None = None) -> Record:
    """Claim the monitor's active-run slot and store the queued run in one write; Conflict (409) while one is active."""
    run_id = f"monrun-{time.time_ns()}"
    run = queued_run(namespace, monitor, run_id, trigger=trigger, target_kind=target_kind,
                     target_number=target_number, target_sha=target_sha)

    def claim(doc: dict[str, Any]) -> bool:
        status = doc.setdefault("status", {})
        if is_active(namespace, monitor, status.get("activeRun")):
            raise Conflict(ACTIVE_RUN)
        status["activeRun"] = run_id
        status["lastRunID"] = run_id
        return True

    monitors.update(namespace, monitor, claim, not_found_message=MONITOR_NOT_FOUND, companions=lambda doc: (run,))
    return announce_run(run, actor=actor)


def queued_run(namespace: str, monitor: str, run_id: str, *, trigger: str, target_kind: str = "",
               target_number: int | None = None, target_sha: str | None = None) -> Companion:
    """The queued run, as a companion of the write that claims its slot.

    Claim and run are one transaction: before, the run was stored after the claim, and a second request
    reading the claim in between found no run by its id, took it for finished and started a second run.
    """
    doc = {"id": run_id, "namespace": namespace, "monitor": monitor, "phase": "queued", "trigger": trigger,
           "targetKind": target_kind or None, "targetNumber": target_number, "targetSHA": target_sha,
           "createdAt": now_rfc3339()}
    return Companion(runs, scope(namespace, monitor), run_id, {k: v for k, v in doc.items() if v is not None})


def announce_run(run: Companion, *, actor: str | None = None) -> Record:
    """After the claim committed: audit the queued run and announce it to the executor; the stored run."""
    from shared.events.registry import data_for  # the event catalogue's models: with the first event
    namespace, monitor, run_id = run.doc["namespace"], run.doc["monitor"], run.name
    trigger, target_number = run.doc["trigger"], run.doc.get("targetNumber")
    record_event(namespace, monitor, "RunQueued", f"{trigger} run queued", actor=actor, run_id=run_id,
                 item_kind="pull_request" if target_number else None, item_number=target_number)

    type_ = "dev.shoal.monitor.run.queued"
    try:
        emit(build(type_, data_for(type_, namespace=namespace, name=monitor, runID=run_id, trigger=trigger),
                   subject=f"{namespace}/{monitor}"))
    except Exception:
        from shared.monitors.execute import finish_run  # the run executor (GitHub, git): loaded for this only

        finish_run(namespace, monitor, run_id, "failed", "the run could not be queued for execution")
        raise
    return Record(runs.kind, run.namespace, run.name, 1, run.doc)
