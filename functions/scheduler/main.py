"""The `scheduler` event function: a PingSource tick (timeouts, retries, lost dispatches, cron runs,
scheduled repository-monitor runs and security scans, the sweep of deleted repository scans) and
finished tasks (webhookURL notifications).
Its handlers are in shared.events.handler_table."""

import functions_framework

from shared.events.consumer import consume
from shared.events.handler_table import build_handlers

HANDLERS = build_handlers("scheduler")


@functions_framework.http
def scheduler(request):
    return consume(request, HANDLERS, function="scheduler")
