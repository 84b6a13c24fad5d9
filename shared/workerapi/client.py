"""How a worker talks to the platform: the internal API only, with retries.

Every request carries the worker's attempt (`X-Shoal-Task-Attempt`, from SHOAL_TASK_ATTEMPT): the
platform refuses a report of an attempt it has reclaimed (409 `stale attempt`) instead of merging it.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from pathlib import Path
from typing import Any

import httpx

from shared.models.worker_contract import ATTEMPT_HEADER, TASK_ATTEMPT_ENV, WORKER_TOKEN_ENV
from shared.observability import tracing

SA_TOKEN = Path("/var/run/secrets/kubernetes.io/serviceaccount/token")


def worker_token() -> str:
    """The worker's credential: its ServiceAccount token in a cluster, the dev token locally."""
    token = os.environ.get(WORKER_TOKEN_ENV)
    if token:
        return token
    if SA_TOKEN.exists():
        return SA_TOKEN.read_text().strip()
    raise RuntimeError("no worker credential: set SHOAL_WORKER_TOKEN or mount a ServiceAccount token")




def attempt_from_env() -> int | None:
    """The attempt this worker runs (SHOAL_TASK_ATTEMPT, set by both executors), or None."""
    raw = os.environ.get(TASK_ATTEMPT_ENV, "")
    return int(raw) if raw.isdigit() and int(raw) > 0 else None


def _propagate_trace(request: httpx.Request) -> None:
    """Each call to the worker API carries the worker's current trace context (when tracing is on)."""
    current = tracing.traceparent()
    if current:
        request.headers["traceparent"] = current


class InternalClient:
    def __init__(self, base_url: str, token: str, *, attempts: int = 5, task_attempt: int | None = None) -> None:
        self.task_attempt = task_attempt if task_attempt is not None else attempt_from_env()
        headers = {"Authorization": f"Bearer {token}"}
        if self.task_attempt is not None:
            headers[ATTEMPT_HEADER] = str(self.task_attempt)
        self._http = httpx.Client(base_url=base_url.rstrip("/"), timeout=30.0, headers=headers,
                                  event_hooks={"request": [_propagate_trace]})
        self._attempts = attempts
        # Set once the worker reports its own end: a heartbeat refused after that is not a lost lease.
        self.final_reported = threading.Event()

    def _post(self, path: str, **kwargs: Any) -> httpx.Response:
        """POST with exponential backoff on transport errors and 5xx/409/429 (Orka's worker retries 5×)."""
        delay = 0.2
        for attempt in range(self._attempts):
            try:
                response = self._http.post(path, **kwargs)
                if response.status_code < 500 and response.status_code not in (429,):
                    response.raise_for_status()
                    return response
            except httpx.TransportError:
                if attempt == self._attempts - 1:
                    raise
            if attempt < self._attempts - 1:
                time.sleep(delay)
                delay *= 2
        response.raise_for_status()
        return response

    def post_result(self, namespace: str, task: str, data: bytes) -> None:
        self._post(f"/internal/v1/results/{namespace}/{task}", content=data,
                   headers={"Content-Type": "application/octet-stream"})

    def post_artifact(self, namespace: str, task: str, filename: str, data: bytes,
                      content_type: str = "application/json") -> None:
        self._post(f"/internal/v1/artifacts/{namespace}/{task}/{filename}", content=data,
                   headers={"Content-Type": content_type})

    def post_status(self, namespace: str, task: str, phase: str, message: str | None = None) -> None:
        if phase in ("Succeeded", "Failed"):
            self.final_reported.set()
        self._post(f"/internal/v1/status/{namespace}/{task}", json={"phase": phase, "message": message})

    def mint_model_token(self, namespace: str, task: str) -> dict[str, str]:
        """A model token for the task's runtime: {"token", "expiresAt", "anthropicBaseURL", "openaiBaseURL"}.
        Each call mints a new one (a retried call too; the extra one expires unused)."""
        return self._post(f"/internal/v1/tasks/{namespace}/{task}/model-token").json()

    def heartbeat(self, namespace: str, task: str, attempt: int, *, timeout: float) -> int:
        """One lease renewal, never repeated here (the next beat is the retry); its HTTP status."""
        response = self._http.post(f"/internal/v1/heartbeat/{namespace}/{task}", json={"attempt": attempt},
                                   timeout=timeout)
        return response.status_code

    def call(self, method: str, path: str, *, json: Any = None, params: dict[str, Any] | None = None,
             at_most_once: bool = False, timeout: float | None = None) -> tuple[int, Any]:
        """(status, decoded JSON body or None) without raising on 4xx: coordination tools report them.

        `at_most_once` is for calls with outside effects (a tool that posts a comment or merges a pull
        request): they are repeated only when the request cannot have been handled (no connection,
        429, 503); a lost answer raises instead of running the call a second time.
        """
        delay = 0.2
        for attempt in range(self._attempts):
            last = attempt == self._attempts - 1
            try:
                response = self._http.request(method, path, json=json, params=params,
                                              **({"timeout": timeout} if timeout else {}))
            except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout):
                if last:
                    raise
            except httpx.TransportError:
                if at_most_once or last:
                    raise
            else:
                retry = (429, 503) if at_most_once else (429,)
                if (response.status_code < 500 or at_most_once) and response.status_code not in retry:
                    break
                if last:
                    break
            time.sleep(delay)
            delay *= 2
        try:
            body = response.json() if response.content else None
        except ValueError:
            body = response.text
        return response.status_code, body

    def post_event(self, namespace: str, task: str, event: str, data: dict[str, Any]) -> None:
        """Worker progress for the task's stream; best effort (progress is not state)."""
        with contextlib.suppress(httpx.HTTPError):
            self._http.post(f"/internal/v1/events/{namespace}/{task}", json={"event": event, "data": data})
