"""The `reactor` event function: job chains, callbacks and job statistics, and the results of security
tasks (scan slices, validations, patches) and of repository monitor reviews (Knative Trigger → HTTP)."""

import functions_framework

from shared.events.consumer import consume
from shared.jobs.reactor import on_task_finished as job_task_finished
from shared.jobs.reactor import on_task_started
from shared.monitors.review_results import on_task_finished as monitor_review_finished
from shared.security.handlers import on_task_finished as security_task_finished


def on_task_finished(event):
    job_task_finished(event)
    security_task_finished(event)
    monitor_review_finished(event)


HANDLERS = {
    "dev.shoal.task.started": on_task_started,
    "dev.shoal.task.finished": on_task_finished,
}


@functions_framework.http
def reactor(request):
    return consume(request, HANDLERS, function="reactor")
