"""A small synchronous client of Shoal's own REST API, used by the `shoal` CLI and the MCP server.

It speaks to the gateway with a bearer token and turns every error dialect the routes use (Orka
`{"error":{"code","message"}}`, labrats `{"error":"…"}`, RFC 7807 `{"title","detail"}`) into one
`ApiError` carrying the status and the server's message, so callers never parse bodies themselves.
Only httpx (already a dependency) is imported; SSE is parsed here so no extra library is needed.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx

TERMINAL_PHASES = ("Succeeded", "Failed", "Cancelled")
INCIDENT_TERMINAL = ("completed", "failed", "cancelled")


class ApiError(Exception):
    """The server answered with an error (status ≥ 400), or could not be reached (status 0)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message

    def __str__(self) -> str:
        return f"{self.message} (HTTP {self.status})" if self.status else self.message


def error_message(response: httpx.Response) -> str:
    """The server's own words for an error, whatever the route's dialect."""
    try:
        body = response.json()
    except ValueError:
        return response.text.strip()[:500] or response.reason_phrase
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict) and error.get("message"):
            return str(error["message"])
        if isinstance(error, str):
            return error
        for key in ("detail", "title", "message"):
            if body.get(key):
                return str(body[key])
    return json.dumps(body)[:500]


@dataclass
class SseEvent:
    event: str
    data: str
    id: str | None = None

    def json(self) -> Any:
        try:
            return json.loads(self.data)
        except ValueError:
            return self.data


def iter_sse(lines: Iterator[str]) -> Iterator[SseEvent]:
    """Parse `text/event-stream` lines into events (comments such as heartbeats are skipped)."""
    event, data, ident = "message", [], None
    for line in lines:
        if line == "":
            if data:
                yield SseEvent(event, "\n".join(data), ident)
            event, data, ident = "message", [], None
        elif line.startswith(":"):
            continue
        else:
            field, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if field == "data":
                data.append(value)
            elif field == "event":
                event = value
            elif field == "id":
                ident = value
    if data:
        yield SseEvent(event, "\n".join(data), ident)


class ShoalClient:
    """One server, one credential, one namespace; `namespace=None` lets the server pick the caller's."""

    def __init__(self, server: str, token: str | None = None, *, namespace: str | None = None,
                 timeout: float = 30.0, verify: bool | str = True, http: httpx.Client | None = None) -> None:
        """`http`: a shared client (a pooled one, `shared.net.pool`) whose base URL is `server`; the
        credential then travels per request, so one pool serves many callers."""
        self.server = server.rstrip("/")
        self.namespace = namespace
        self.auth = {"Authorization": f"Bearer {token}"} if token else {}
        self._owns_http = http is None
        self.http = http or httpx.Client(base_url=self.server, headers={"User-Agent": "shoal-client/0.1"},
                                         timeout=timeout, verify=verify)

    def close(self) -> None:
        if self._owns_http:
            self.http.close()

    def __enter__(self) -> ShoalClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- plumbing -----------------------------------------------------------------------------

    def _params(self, params: dict[str, Any] | None, namespaced: bool) -> dict[str, Any]:
        out = {k: v for k, v in (params or {}).items() if v is not None}
        if namespaced and self.namespace and "namespace" not in out:
            out["namespace"] = self.namespace
        return out

    def request(self, method: str, path: str, *, params: dict[str, Any] | None = None, json_body: Any = None,
                namespaced: bool = True, headers: dict[str, str] | None = None,
                timeout: httpx.Timeout | None = None) -> httpx.Response:
        try:
            response = self.http.request(method, path, params=self._params(params, namespaced), json=json_body,
                                         headers={**self.auth, **(headers or {})}, timeout=timeout or self.http.timeout)
        except httpx.TransportError as exc:
            raise ApiError(0, f"cannot reach {self.server}: {exc}") from exc
        if response.status_code >= 400:
            raise ApiError(response.status_code, error_message(response))
        return response

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.request(method, path, **kwargs)
        if response.status_code == 204 or not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            return response.text

    def stream(self, method: str, path: str, *, params: dict[str, Any] | None = None, json_body: Any = None,
               headers: dict[str, str] | None = None, namespaced: bool = True) -> Iterator[SseEvent]:
        """An SSE route's events, as they arrive (no read timeout: streams are quiet between events)."""
        try:
            with self.http.stream(method, path, params=self._params(params, namespaced), json=json_body,
                                  headers={"Accept": "text/event-stream", **self.auth, **(headers or {})},
                                  timeout=httpx.Timeout(30.0, read=None)) as response:
                if response.status_code >= 400:
                    response.read()
                    raise ApiError(response.status_code, error_message(response))
                yield from iter_sse(response.iter_lines())
        except httpx.TransportError as exc:
            raise ApiError(0, f"cannot reach {self.server}: {exc}") from exc

    # -- tasks --------------------------------------------------------------------------------

    def create_task(self, body: dict[str, Any]) -> dict:
        return self.call("POST", "/api/v1/tasks", json_body=body)

    def get_task(self, name: str) -> dict:
        return self.call("GET", f"/api/v1/tasks/{quote(name, safe='')}")

    def list_tasks(self, *, limit: int | None = None, label_selector: str | None = None,
                   cont: str | None = None) -> dict:
        return self.call("GET", "/api/v1/tasks",
                         params={"limit": limit, "labelSelector": label_selector, "continue": cont})

    def cancel_task(self, name: str, reason: str | None = None) -> dict:
        return self.call("POST", f"/api/v1/tasks/{quote(name, safe='')}/cancel",
                         json_body={"reason": reason} if reason else {})

    def delete_task(self, name: str) -> None:
        self.call("DELETE", f"/api/v1/tasks/{quote(name, safe='')}")

    def task_result(self, name: str) -> Any:
        return self.call("GET", f"/api/v1/tasks/{quote(name, safe='')}/result")["result"]

    def task_logs(self, name: str) -> str:
        return self.call("GET", f"/api/v1/tasks/{quote(name, safe='')}/logs")["logs"]

    def follow_logs(self, name: str) -> Iterator[SseEvent]:
        return self.stream("GET", f"/api/v1/tasks/{quote(name, safe='')}/logs", params={"follow": "true"})

    def artifacts(self, name: str) -> list[dict]:
        return self.call("GET", f"/api/v1/tasks/{quote(name, safe='')}/artifacts")["artifacts"]

    def artifact(self, name: str, filename: str) -> bytes:
        path = f"/api/v1/tasks/{quote(name, safe='')}/artifacts/{quote(filename, safe='')}"
        return self.request("GET", path).content

    def wait_task_logs(self, name: str, *, interval: float = 0.5,
                       on_poll: Callable[[dict, float], None] | None = None) -> dict:
        """Poll until the task has logs to read (a job, a result, or a final phase): a task still Pending
        has none yet, and the logs route answers 404 for it, as Orka's does."""
        return poll(lambda: self.get_task(name), has_logs, timeout=None, interval=interval, on_poll=on_poll)

    def wait_task(self, name: str, *, timeout: float | None = None, interval: float = 0.5,
                  on_poll: Callable[[dict, float], None] | None = None) -> dict:
        """Poll until the task is finished (or `timeout` seconds pass: the last task read is returned)."""
        return poll(lambda: self.get_task(name), lambda t: phase_of(t) in TERMINAL_PHASES, timeout=timeout,
                    interval=interval, on_poll=on_poll)

    # -- incidents ------------------------------------------------------------------------------

    def analyze_incident(self, body: dict[str, Any]) -> dict:
        return self.call("POST", "/api/v1/incident/analyze", json_body=body, namespaced=False)

    def incident(self, session_id: str) -> dict:
        return self.call("GET", f"/api/v1/incident/session/{quote(session_id, safe='')}", namespaced=False)

    def incident_result(self, session_id: str) -> dict:
        return self.call("GET", f"/api/v1/incident/session/{quote(session_id, safe='')}/result",
                         namespaced=False)

    def wait_incident(self, session_id: str, *, timeout: float | None = None, interval: float = 0.5,
                      on_poll: Callable[[dict, float], None] | None = None) -> dict:
        return poll(lambda: self.incident(session_id), lambda s: s.get("status") in INCIDENT_TERMINAL,
                    timeout=timeout, interval=interval, on_poll=on_poll)

    # -- chat -----------------------------------------------------------------------------------

    def chat(self, message: str, *, session_id: str | None = None, **fields: Any) -> dict:
        body = {"message": message, "sessionId": session_id, "namespace": self.namespace, **fields}
        # A JSON turn answers when the whole turn is done (tools, tasks): no read timeout.
        return self.call("POST", "/api/v1/chat", json_body={k: v for k, v in body.items() if v is not None},
                         headers={"Accept": "application/json"}, namespaced=False,
                         timeout=httpx.Timeout(30.0, read=None))

    def chat_stream(self, message: str, *, session_id: str | None = None, **fields: Any) -> Iterator[SseEvent]:
        body = {"message": message, "sessionId": session_id, "namespace": self.namespace, **fields}
        return self.stream("POST", "/api/v1/chat", json_body={k: v for k, v in body.items() if v is not None},
                           namespaced=False)

    # -- identity -------------------------------------------------------------------------------

    def whoami(self) -> dict:
        """`GET /api/v1/auth/whoami`; servers without it answer 404, then `/auth/validate` says who."""
        try:
            return self.call("GET", "/api/v1/auth/whoami", namespaced=False)
        except ApiError as exc:
            if exc.status != 404:
                raise
        return self.call("GET", "/api/v1/auth/validate", namespaced=False)


def poll(read: Callable[[], dict], done: Callable[[dict], bool], *, timeout: float | None, interval: float,
         on_poll: Callable[[dict, float], None] | None) -> dict:
    """Read until `done` (or `timeout` seconds pass: the last read is returned), reporting each read."""
    start = time.monotonic()
    while True:
        current = read()
        elapsed = time.monotonic() - start
        if on_poll:
            on_poll(current, elapsed)
        if done(current) or (timeout is not None and elapsed >= timeout):
            return current
        time.sleep(interval)


def phase_of(task: dict) -> str:
    return (task.get("status") or {}).get("phase") or "Pending"


def _has_output(task: dict) -> bool:
    """Whether the task has a job or a stored result (what shared.tasks.routes._current_logs shows)."""
    status = task.get("status") or {}
    return bool(status.get("jobName") or (status.get("resultRef") or {}).get("available"))


def has_logs(task: dict) -> bool:
    """Whether the logs route has something for the task, or never will (it ended)."""
    return _has_output(task) or phase_of(task) in TERMINAL_PHASES


def ended_without_job(task: dict) -> bool:
    """Whether the task ended before any job started (an unknown agent, a cancel): the logs route then
    answers "task is pending", as Orka's does, though it never will have logs."""
    return phase_of(task) in TERMINAL_PHASES and not _has_output(task)


def agent_model(agent: dict) -> str | None:
    """The model name of an Agent as `/api/v1/agents` returns it: Orka's `spec.model: {name, …}`, or the
    flat string of servers older than that shape."""
    model = (agent.get("spec") or {}).get("model")
    return model.get("name") if isinstance(model, dict) else model
