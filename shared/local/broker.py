"""The in-process broker: Knative's Broker and Triggers, read from `knative/`, over real HTTP.

Ingress answers 202 at once; each matching trigger gets its own delivery in binary mode, retried
with the trigger's backoff on 404, 409, 429 and 5xx (Knative's data-plane rules), then sent to the
dead-letter sink with `knativeerrorcode`/`knativeerrordest` extensions.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import httpx
from werkzeug import Request, Response

from shared.events.envelope import Event, parse, to_http
from shared.local.manifests import TriggerDef
from shared.logs import get_logger

log = get_logger("broker")
RETRIED = {404, 409, 429}


class Broker:
    def __init__(self, triggers: list[TriggerDef], service_url: Callable[[str], str | None], *,
                 event_log: str | None = None) -> None:
        self.triggers = triggers
        self.event_log = event_log  # a JSON-lines file of every accepted event, for developers and tests
        self.service_url = service_url
        self.client = httpx.Client(timeout=30.0)
        self.pool = ThreadPoolExecutor(max_workers=16, thread_name_prefix="delivery")
        self._inflight = 0
        self._lock = threading.Lock()

    def __call__(self, environ, start_response):
        request = Request(environ)
        if request.method != "POST":
            return Response(status=405)(environ, start_response)
        try:
            event = parse(request.headers, request.get_data())
        except Exception as exc:  # ShoalError from parse: the emitter sent something that is not an event
            return Response(str(getattr(exc, "message", exc)), status=400)(environ, start_response)
        self.publish(event)
        return Response(status=202)(environ, start_response)

    def publish(self, event: Event) -> None:
        if self.event_log:
            headers, body = to_http(event, structured=True)
            with self._lock, open(self.event_log, "ab") as log_file:
                log_file.write(body.replace(b"\n", b" ") + b"\n")
        attributes = {"type": event.type, "source": event.source, "subject": event.subject, "id": event.id,
                      **event.extensions}
        for trigger in self.triggers:
            if trigger.accepts(attributes):
                with self._lock:
                    self._inflight += 1
                self.pool.submit(self._deliver, trigger, event)

    def idle(self) -> bool:
        with self._lock:
            return self._inflight == 0

    def _deliver(self, trigger: TriggerDef, event: Event) -> None:
        try:
            status = self._attempts(trigger, event)
            if status is not None and trigger.delivery.dead_letter:
                url = self.service_url(trigger.delivery.dead_letter)
                dead = replace(event, extensions={**event.extensions, "knativeerrorcode": str(status),
                                                   "knativeerrordest": trigger.subscriber})
                if url:
                    self._post(url, dead)
                log.warning("dead-lettered", extra={"fields": {"trigger": trigger.name, "id": event.id,
                                                                "type": event.type, "status": status}})
        except Exception:
            log.exception("delivery crashed", extra={"fields": {"trigger": trigger.name, "id": event.id}})
        finally:
            with self._lock:
                self._inflight -= 1

    def _attempts(self, trigger: TriggerDef, event: Event) -> int | None:
        """None when delivered; else the last status (0 for a transport error)."""
        status = 0
        for attempt in range(trigger.delivery.retry + 1):
            if attempt:
                time.sleep(trigger.delivery.delay(attempt))
            url = self.service_url(trigger.subscriber)
            if url is None:
                status = 503
                continue
            status = self._post(url, event)
            if 200 <= status < 300:
                return None
            if 400 <= status < 500 and status not in RETRIED:
                return status  # not retried: the subscriber said the event is bad
        return status

    def _post(self, url: str, event: Event) -> int:
        headers, body = to_http(event)
        try:
            return self.client.post(url, headers=headers, content=body).status_code
        except httpx.HTTPError:
            return 0
