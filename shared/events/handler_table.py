"""Which handlers each event function runs, by event type: the one handler table, the event twin of
the route table (`shared.http.route_table`). Handlers are named as `"module:attribute"` strings and
loaded when a function builds its table, so this module imports no handler package.

A type may list several handlers: they run in order on the same event (a failure stops the rest and
the broker retries the event; every handler is idempotent). `"*"` catches every other type.
`knative/triggers.yaml` subscribes each function to exactly these types
(tests/unit/test_wiring_agreement.py).
"""

from __future__ import annotations

from collections.abc import Callable

from shared.coldstart import loading
from shared.events.consumer import EventHandler
from shared.events.envelope import Event
from shared.wiring import load

_PR_ACTIVITY = ("opened", "synchronize", "reopened", "ready_for_review")

FUNCTION_HANDLERS: dict[str, dict[str, tuple[str, ...]]] = {
    "dispatcher": {
        "dev.shoal.task.created": ("shared.tasks.dispatch:on_task_created",),
        "dev.shoal.task.retried": ("shared.tasks.dispatch:on_task_created",),
        "dev.shoal.task.deleted": ("shared.tasks.dispatch:on_task_finished",),
        "dev.shoal.task.finished": ("shared.tasks.dispatch:on_task_finished",),
    },
    "github": {
        # a run, then the pending automerge commands of its monitor (CI may be green by now)
        "dev.shoal.monitor.run.queued": ("shared.monitors.execute:on_run_queued",
                                         "shared.monitors.automerge:retry_after_run"),
        "dev.shoal.security.scan.queued": ("shared.security.scans:on_scan_queued",),
        "com.github.issues.labeled": ("shared.github.triggers:on_labeled",),
        # `agent:<action>` label triggers, and maintainer commands (`orka:fix`, …) of repository monitors
        "com.github.pull_request.labeled": ("shared.github.triggers:on_labeled", "shared.monitors.commands:on_labeled"),
        **{f"com.github.pull_request.{action}": ("shared.monitors.exact_head:on_pull_request",)
           for action in _PR_ACTIVITY},
    },
    "reactor": {
        "dev.shoal.task.started": ("shared.jobs.reactor:on_task_started",),
        # labrats jobs (callbacks, statistics, chains), security tasks (findings, patches, …), monitor
        # reviews and repairs
        "dev.shoal.task.finished": ("shared.jobs.reactor:on_task_finished", "shared.security.handlers:on_task_finished",
                                    "shared.monitors.review_results:on_task_finished",
                                    "shared.monitors.repair:on_task_finished"),
    },
    "scheduler": {
        # timeouts, lost workers, retries, lost dispatches, cron; scheduled monitor runs and security
        # scans; the sweep of deleted repository scans; parked events
        "dev.knative.sources.ping": ("shared.tasks.scheduler:on_tick", "shared.monitors.schedule:on_tick",
                                     "shared.security.schedule:on_tick", "shared.security.retention:on_tick",
                                     "shared.events.outbox:on_tick"),
        "dev.shoal.task.finished": ("shared.tasks.webhook:on_task_finished",),
    },
    "investigator": {
        "dev.shoal.investigation.requested": ("shared.incidents.runner:on_investigation_requested",),
    },
    "deadletter": {"*": ("shared.events.deadletter:keep",)},
}


def _in_order(handlers: list[EventHandler]) -> EventHandler:
    if len(handlers) == 1:
        return handlers[0]

    def run_all(event: Event) -> None:
        for handler in handlers:
            handler(event)

    return run_all


def build_handlers(function: str) -> dict[str, Callable[[Event], None]]:
    """The handlers of an event function by type, ready for `shared.events.consumer.consume`."""
    with loading():
        return {type_: _in_order([load(path) for path in paths])
                for type_, paths in FUNCTION_HANDLERS[function].items()}
