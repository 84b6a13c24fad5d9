"""Chat test support: the chat function over real HTTP, SSE parsing with httpx-sse, a task finisher."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
from httpx_sse import connect_sse

from tests.conftest import AUTH
from tests.support.servers import BackgroundServer


@dataclass
class Event:
    id: str
    event: str
    data: dict[str, Any]


def serve(function_client) -> BackgroundServer:
    """The chat function's app (built as its container builds it) on a loopback port."""
    return BackgroundServer(function_client("chat").application)


def dispatched(source) -> Iterator[Any]:
    """httpx-sse's events as a WHATWG EventSource dispatches them: none for a block without data.

    httpx-sse keeps the last `id:` and then yields an empty event for every comment-only block after it
    (a `: heartbeat`), where the spec dispatches nothing; a heartbeat under load must not fail a test."""
    return (sse for sse in source.iter_sse() if sse.data)


def stream(url: str, body: dict[str, Any] | None = None, *, headers: dict[str, str] | None = None,
           method: str = "POST", path: str = "/api/v1/chat", timeout: float = 30.0) -> tuple[int, list[Event]]:
    """POST a chat (or GET a replay) and parse the whole SSE stream as a client would."""
    with httpx.Client(base_url=url, timeout=timeout) as client:
        kwargs: dict[str, Any] = {"headers": {**AUTH, **(headers or {})}}
        if body is not None:
            kwargs["json"] = body
        with connect_sse(client, method, path, **kwargs) as source:
            status = source.response.status_code
            if status != 200:
                source.response.read()
                return status, []
            return status, [Event(e.id, e.event, json.loads(e.data)) for e in dispatched(source)]


def post_json(url: str, body: Any, *, headers: dict[str, str] | None = None, timeout: float = 30.0) -> httpx.Response:
    data = body if isinstance(body, str) else json.dumps(body)
    return httpx.post(url + "/api/v1/chat", content=data, timeout=timeout,
                      headers={**AUTH, "Content-Type": "application/json", "Accept": "application/json",
                               **(headers or {})})


def text_of(events: list[Event]) -> str:
    return "".join(e.data.get("content", "") for e in events if e.event == "message")


class TaskFinisher:
    """Plays the dispatcher and worker: every Pending task is moved to Succeeded with a result."""

    def __init__(self, output: str = "task output") -> None:
        self.output = output
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> TaskFinisher:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        from shared.store.blobs import put_blob
        from shared.tasks.lifecycle import transition
        from shared.tasks.repository import result_key, tasks

        while not self._stop.wait(0.05):
            records, _ = tasks.list_page("default", limit=None)
            for record in records:
                if record.doc.get("status", {}).get("phase", "Pending") != "Pending":
                    continue
                put_blob(result_key(record.namespace, record.name), self.output.encode(), "text/plain")
                transition(record.namespace, record.name, "Running")
                transition(record.namespace, record.name, "Succeeded", message="done",
                           also=lambda status: status.update(resultRef={"available": True,
                                                                         "size": len(self.output)}))
