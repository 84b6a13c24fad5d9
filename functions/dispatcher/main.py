"""The `dispatcher` event function: starts tasks on the executor (Knative Trigger → HTTP);
its handlers are in shared.events.handler_table."""

import functions_framework

from shared.events.consumer import consume
from shared.events.handler_table import build_handlers

HANDLERS = build_handlers("dispatcher")


@functions_framework.http
def dispatcher(request):
    return consume(request, HANDLERS, function="dispatcher")
