"""The `investigator` event function: runs incident investigations (Knative Trigger → HTTP)."""

import functions_framework

from shared.events.consumer import consume
from shared.incidents.runner import on_investigation_requested

HANDLERS = {"dev.shoal.investigation.requested": on_investigation_requested}


@functions_framework.http
def investigator(request):
    return consume(request, HANDLERS, function="investigator")
