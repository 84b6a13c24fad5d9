"""The `dispatcher` event function: starts tasks on the executor (Knative Trigger → HTTP)."""

import functions_framework

from shared.events.consumer import consume
from shared.tasks.dispatch import on_task_created, on_task_finished

HANDLERS = {
    "dev.shoal.task.created": on_task_created,
    "dev.shoal.task.retried": on_task_created,
    "dev.shoal.task.deleted": on_task_finished,
    "dev.shoal.task.finished": on_task_finished,
}


@functions_framework.http
def dispatcher(request):
    return consume(request, HANDLERS, function="dispatcher")
