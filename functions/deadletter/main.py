"""The `deadletter` event function: the dead-letter sink of the Broker and every Trigger.
Its handlers are in shared.events.handler_table."""

import functions_framework

from shared.events.consumer import consume
from shared.events.handler_table import build_handlers

HANDLERS = build_handlers("deadletter")


@functions_framework.http
def deadletter(request):
    return consume(request, HANDLERS, function="deadletter")
