"""The `reactor` event function: job chains, callbacks and job statistics (Knative Trigger → HTTP)."""

import functions_framework

from shared.events.consumer import consume
from shared.jobs.reactor import on_task_finished, on_task_started

HANDLERS = {
    "dev.shoal.task.started": on_task_started,
    "dev.shoal.task.finished": on_task_finished,
}


@functions_framework.http
def reactor(request):
    return consume(request, HANDLERS, function="reactor")
