"""What the `reactor` function does with task events for jobs: callbacks, stats, chains."""

from __future__ import annotations

from shared.events import Event
from shared.jobs import stores
from shared.jobs.callbacks import body_for, deliver
from shared.jobs.model import STATUS, job_fields
from shared.jobs.results import read_result
from shared.jobs.triggers import continue_chain
from shared.store import counters
from shared.tasks.repository import tasks

_CALLBACK_PHASE = {"Succeeded": "completed", "Failed": "failed"}


def on_task_started(event: Event) -> None:
    data = event.data or {}
    record = tasks.get(data["namespace"], data["name"])
    job = job_fields(record) if record else None
    if job and job.get("callbackUrl"):
        deliver(job["callbackUrl"], body_for(record.name, "in_progress", job.get("metadata") or {}))


def on_task_finished(event: Event) -> None:
    data = event.data or {}
    record = tasks.get(data["namespace"], data["name"])
    job = job_fields(record) if record else None
    if not job:
        return  # not a job: nothing of the labrats dialect to do
    phase = record.doc.get("status", {}).get("phase") or data.get("phase")
    # The chain first: it is the step that may fail and be redelivered (it claims its own key).
    continue_chain(record, read_result(record))
    counters.add(stores.STATS_SET, record.namespace, {f"status:{STATUS.get(phase, 'unknown')}": 1})
    callback_phase = _CALLBACK_PHASE.get(phase)
    if job.get("callbackUrl") and callback_phase:
        deliver(job["callbackUrl"], body_for(record.name, callback_phase, job.get("metadata") or {},
                                             record.doc.get("status", {}).get("message")))
