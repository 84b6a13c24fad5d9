"""The `scheduler` event function: a PingSource tick (timeouts, retries, lost dispatches, cron runs,
scheduled repository-monitor runs and security scans, the sweep of deleted repository scans) and
finished tasks (webhookURL notifications)."""

import functions_framework

from shared.events.consumer import consume
from shared.events.outbox import drain as drain_parked_events
from shared.monitors.schedule import on_tick as monitor_tick
from shared.security.retention import on_tick as security_sweep
from shared.security.schedule import on_tick as security_tick
from shared.tasks.scheduler import on_tick as task_tick
from shared.tasks.webhook import on_task_finished


def on_tick(event):
    task_tick(event)
    monitor_tick(event)
    security_tick(event)
    security_sweep(event)
    drain_parked_events()


HANDLERS = {
    "dev.knative.sources.ping": on_tick,
    "dev.shoal.task.finished": on_task_finished,
}


@functions_framework.http
def scheduler(request):
    return consume(request, HANDLERS, function="scheduler")
