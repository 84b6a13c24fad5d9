"""A scripted Gemini API server on Gemini's own wire (the REST shape `google-genai` speaks).

`POST /<version>/models/<model>:generateContent` (the SDK picks the version; 3.3.0 sends v1) answers one GenerateContentResponse;
`POST /<version>/models/<model>:streamGenerateContent?alt=sse` answers Server-Sent Events, one
`data: <GenerateContentResponse>` per chunk separated by CRLF CRLF, as Google's servers send them.
The key must arrive as `x-goog-api-key` (or, given `bearer`, as Vertex AI's `Authorization: Bearer`). Each request consumes the next scripted step:
    {"text": "..."}                                          a text answer (streamed in pieces)
    {"tool_calls": [{"name": "...", "arguments": {...}}]}    function calls (optionally with "text"); each
                                                             carries a thoughtSignature, as Gemini 3 sends
    {"error": {"status": 429, "reason": "RESOURCE_EXHAUSTED", "message": "..."}}
Every request is recorded (path, query, headers, JSON body).
"""

from __future__ import annotations

import base64
import json
import threading
from typing import Any

from werkzeug import Request, Response

from tests.support.servers import BackgroundServer

PIECE = 6


def signature(n: int) -> str:
    """The thought signature of the n-th function call this server made (base64 of opaque bytes)."""
    return base64.b64encode(f"sig-{n}".encode()).decode()


class ScriptedGemini(BackgroundServer):
    def __init__(self, script: list[dict[str, Any]], *, key: str = "gm-key", model: str = "gemini-2.5-flash",
                 bearer: str | None = None) -> None:
        self.script, self.key, self.model, self.bearer = list(script), key, model, bearer
        self.requests: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._calls = 0
        super().__init__(self._wsgi)

    def _wsgi(self, environ, start_response):
        return self._handle(Request(environ))(environ, start_response)

    def _handle(self, request: Request) -> Response:
        body = request.get_json(silent=True) or {}
        with self._lock:
            self.requests.append({"method": request.method, "path": request.path, "query": dict(request.args),
                                  "headers": dict(request.headers), "json": body})
            step = self.script.pop(0) if self.script else {"text": "scripted"}
        if self.bearer is not None:  # Vertex AI: an OAuth access token
            if request.headers.get("Authorization") != f"Bearer {self.bearer}":
                return _error(401, "UNAUTHENTICATED", "Request had invalid authentication credentials.")
        elif request.headers.get("x-goog-api-key") != self.key:
            return _error(400, "INVALID_ARGUMENT", "API key not valid. Please pass a valid API key.")
        if "error" in step:
            e = step["error"]
            return _error(e["status"], e["reason"], e["message"])
        if request.path.endswith(":generateContent"):
            return Response(json.dumps(self._response(step, self._parts(step))), content_type="application/json")
        if request.path.endswith(":streamGenerateContent") and request.args.get("alt") == "sse":
            return Response(self._frames(step), content_type="text/event-stream")
        return _error(404, "NOT_FOUND", f"{request.path} is not found")

    def _parts(self, step: dict[str, Any]) -> list[dict[str, Any]]:
        parts: list[dict[str, Any]] = [{"text": step["text"]}] if step.get("text") else []
        for call in step.get("tool_calls", []):
            with self._lock:
                n, self._calls = self._calls, self._calls + 1
            parts.append({"functionCall": {"name": call["name"], "args": call.get("arguments", {})},
                          "thoughtSignature": signature(n)})
        return parts

    def _response(self, step: dict[str, Any], parts: list[dict[str, Any]], *, last: bool = True) -> dict[str, Any]:
        candidate: dict[str, Any] = {"content": {"parts": parts, "role": "model"}, "index": 0}
        out: dict[str, Any] = {"candidates": [candidate], "modelVersion": self.model, "responseId": "resp-1"}
        if last:
            candidate["finishReason"] = "STOP"
            out["usageMetadata"] = {"promptTokenCount": 9, "candidatesTokenCount": 5, "totalTokenCount": 14,
                                    "promptTokensDetails": [{"modality": "TEXT", "tokenCount": 9}]}
        return out

    def _frames(self, step: dict[str, Any]):
        text = step.get("text", "")
        pieces = [text[i:i + PIECE] for i in range(0, len(text), PIECE)]
        calls = self._parts({"tool_calls": step.get("tool_calls", [])})
        chunks = [[{"text": p}] for p in pieces[:-1]] + [([{"text": pieces[-1]}] if pieces else []) + calls]
        for i, parts in enumerate(chunks):
            yield f"data: {json.dumps(self._response(step, parts, last=i == len(chunks) - 1))}\r\n\r\n"


def _error(status: int, reason: str, message: str) -> Response:
    return Response(json.dumps({"error": {"code": status, "message": message, "status": reason}}), status=status,
                    content_type="application/json")
