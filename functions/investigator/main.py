"""The `investigator` event function: runs incident investigations (Knative Trigger → HTTP).

Also answers GET /metrics (scraped per pod) with the investigation metrics of this process.
"""

import functions_framework
from flask import Response

from shared.events.consumer import consume
from shared.incidents.runner import on_investigation_requested

HANDLERS = {"dev.shoal.investigation.requested": on_investigation_requested}


@functions_framework.http
def investigator(request):
    if request.method == "GET" and request.path == "/metrics":
        from shared.investigation.metrics import exposition

        body, content_type = exposition()
        return Response(body, status=200, content_type=content_type)
    return consume(request, HANDLERS, function="investigator")
