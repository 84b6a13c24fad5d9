"""A scripted LLM server speaking the real OpenAI and Anthropic HTTP protocols.

Point the real SDKs at it (`base_url=server.url + "/v1"` for OpenAI, `base_url=server.url` for
Anthropic). It answers OpenAI Chat Completions (`/v1/chat/completions`), OpenAI Responses
(`/v1/responses`, what Codex speaks) and Anthropic Messages (`/v1/messages`), streamed or not, and
Messages' `/v1/messages/count_tokens`. Each request consumes the next scripted step:
    {"text": "..."}                                        a text answer
    {"tool_calls": [{"name": "...", "arguments": {...}}]}  tool use (optionally with "text")
    {"tool_calls": [{"name": "...", "input": "..."}]}      Responses only: a custom (freeform) tool call
    {"error": {"status": 429, "type": "rate_limit_error", "message": "...", "headers": {...}?}}
    {"stream_error": {"type": "overloaded_error", "message": "..."}}   Anthropic family, streamed: an error
        event after message_start (Bedrock: an exception frame whose :exception-type is "type")
    {"input_tokens": N}                                    count_tokens: the count (default 11)
Bedrock's InvokeModel / InvokeModelWithResponseStream (`/model/<id>/invoke[-with-response-stream]`, the
stream in AWS event-stream framing) and Vertex's rawPredict / streamRawPredict answer Anthropic's format.
With the script exhausted it answers "scripted: <last user text>". Every request is recorded.
Tool-call ids are unique per server (toolu_0, toolu_1, ... / call_0, call_1, ...), as agents that
key their tool-call state by id need.
"""

from __future__ import annotations

import base64
import binascii
import json
import threading
import time
import uuid
from typing import Any

from werkzeug import Request, Response

from tests.support.servers import BackgroundServer


class ScriptedLLM(BackgroundServer):
    def __init__(self, script: list[dict[str, Any]] | None = None, *, model: str = "scripted-model",
                 latency: float = 0.0, record: bool = True, listen: bool = True) -> None:
        self.script = list(script or [])
        self.model = model
        self.latency = latency  # seconds before each completion answers (a model's time to respond)
        self.record = record  # benchmarks make many thousands of calls: keep no history then
        self.requests: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._calls = 0  # tool calls answered so far: numbers their ids
        if listen:  # False: only the WSGI app (`wsgi`), served by another server (tests.support.llm_upstream)
            super().__init__(self.wsgi)

    # -- plumbing ------------------------------------------------------------------------------
    def wsgi(self, environ, start_response):
        return self._handle(Request(environ))(environ, start_response)

    def _next(self, body: dict[str, Any], last_user: str) -> dict[str, Any]:
        with self._lock:
            if self.script:
                return self.script.pop(0)
        return {"text": f"scripted: {last_user}"}

    def _call_numbers(self, count: int) -> range:
        with self._lock:
            first, self._calls = self._calls, self._calls + count
        return range(first, first + count)

    def _handle(self, request: Request) -> Response:
        body = request.get_json(silent=True) or {}
        if self.record:
            with self._lock:
                self.requests.append({"method": request.method, "path": request.path,
                                      "headers": dict(request.headers), "json": body})
        if self.latency and not request.path.endswith("/models"):
            time.sleep(self.latency)
        if request.path.endswith("/chat/completions"):
            return self._openai(body)
        if request.path.startswith("/model/") and request.path.endswith("/invoke-with-response-stream"):
            # Bedrock's InvokeModelWithResponseStream: the body has no "stream"; the answer is event-stream framed.
            return self._anthropic({**body, "stream": True}, eventstream=True)
        if request.path.endswith("/messages") or (request.path.startswith("/model/") and request.path.endswith(
                "/invoke")) or request.path.endswith((":rawPredict", ":streamRawPredict")):
            # Anthropic's Messages; Bedrock's InvokeModel, Vertex's rawPredict / streamRawPredict (SSE) of one
            return self._anthropic(body)
        if request.path.endswith("/messages/count_tokens"):
            return self._count_tokens()
        if request.path.endswith("/responses") and request.method == "POST":
            return self._responses(body)
        if request.path.endswith("/models"):
            return Response(json.dumps({"object": "list", "data": [
                {"id": self.model, "object": "model", "created": 1700000000, "owned_by": "scripted"}]}),
                content_type="application/json")
        return Response("not found", status=404)

    # -- OpenAI --------------------------------------------------------------------------------
    def _openai(self, body: dict[str, Any]) -> Response:
        last_user = next((m.get("content") for m in reversed(body.get("messages", [])) if m.get("role") == "user"), "")
        step = self._next(body, last_user if isinstance(last_user, str) else json.dumps(last_user))
        if "error" in step:
            e = step["error"]
            return Response(json.dumps({"error": {"message": e["message"], "type": e.get("type", "server_error"),
                                                  "param": None, "code": e.get("code")}}),
                            status=e["status"], content_type="application/json", headers=e.get("headers"))
        ident, created = f"chatcmpl-{uuid.uuid4().hex[:8]}", int(time.time())
        scripted = step.get("tool_calls", [])
        calls = [{"id": f"call_{n}", "type": "function",
                  "function": {"name": c["name"], "arguments": json.dumps(c.get("arguments", {}))}}
                 for n, c in zip(self._call_numbers(len(scripted)), scripted, strict=True)]
        text = step.get("text", "")
        finish = "tool_calls" if calls else "stop"
        usage = {"prompt_tokens": 11, "completion_tokens": max(1, len(text) // 4), "total_tokens": 0}
        usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
        if not body.get("stream"):
            message: dict[str, Any] = {"role": "assistant", "content": text or None, "refusal": None}
            if calls:
                message["tool_calls"] = calls
            return Response(json.dumps({"id": ident, "object": "chat.completion", "created": created,
                                        "model": body.get("model", self.model),
                                        "choices": [{"index": 0, "message": message, "logprobs": None,
                                                     "finish_reason": finish}], "usage": usage}),
                            content_type="application/json")

        def chunk(delta: dict[str, Any], finish_reason: str | None = None, **extra: Any) -> str:
            payload = {"id": ident, "object": "chat.completion.chunk", "created": created,
                       "model": body.get("model", self.model),
                       "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}], **extra}
            return f"data: {json.dumps(payload)}\n\n"

        def frames():
            yield chunk({"role": "assistant", "content": ""})
            for piece in _pieces(text):
                yield chunk({"content": piece})
            for i, c in enumerate(calls):
                yield chunk({"tool_calls": [{"index": i, "id": c["id"], "type": "function",
                                             "function": {"name": c["function"]["name"], "arguments": ""}}]})
                for piece in _pieces(c["function"]["arguments"]):
                    yield chunk({"tool_calls": [{"index": i, "function": {"arguments": piece}}]})
            yield chunk({}, finish)
            if (body.get("stream_options") or {}).get("include_usage"):
                payload = {"id": ident, "object": "chat.completion.chunk", "created": created,
                           "model": body.get("model", self.model), "choices": [], "usage": usage}
                yield f"data: {json.dumps(payload)}\n\n"
            yield "data: [DONE]\n\n"

        return Response(frames(), content_type="text/event-stream")

    # -- Anthropic -----------------------------------------------------------------------------
    def _anthropic(self, body: dict[str, Any], *, eventstream: bool = False) -> Response:
        last = next((m.get("content") for m in reversed(body.get("messages", [])) if m.get("role") == "user"), "")
        step = self._next(body, last if isinstance(last, str) else json.dumps(last))
        if "error" in step:
            return _anthropic_error(step["error"])
        ident = f"msg_{uuid.uuid4().hex}"
        text = step.get("text", "")
        # Every field Anthropic's API sends (and its official OpenAPI document requires), nulls included.
        content: list[dict[str, Any]] = [{"type": "text", "text": text, "citations": None}] if text else []
        scripted = step.get("tool_calls", [])
        content += [{"type": "tool_use", "id": f"toolu_{n}", "name": c["name"], "input": c.get("arguments", {}),
                     "caller": {"type": "direct"}}
                    for n, c in zip(self._call_numbers(len(scripted)), scripted, strict=True)]
        stop = "tool_use" if step.get("tool_calls") else "end_turn"
        figures = {"cache_creation_input_tokens": 0, "cache_read_input_tokens": 0, "server_tool_use": None,
                   "output_tokens_details": None}
        usage = {"input_tokens": 11, "output_tokens": max(1, len(text) // 4), **figures, "cache_creation": None,
                 "inference_geo": None, "service_tier": "standard"}
        message = {"id": ident, "type": "message", "role": "assistant", "model": body.get("model", self.model),
                   "content": content, "stop_reason": stop, "stop_sequence": None, "stop_details": None,
                   "container": None, "usage": usage}
        if not body.get("stream"):
            return Response(json.dumps(message), content_type="application/json")

        def event(kind: str, data: dict[str, Any]) -> str | bytes:
            payload = json.dumps({"type": kind, **data})
            if eventstream:  # Bedrock: each Messages stream event is a `chunk` of base64 JSON bytes
                return bedrock_chunk(payload.encode())
            return f"event: {kind}\ndata: {payload}\n\n"

        def frames():
            yield event("message_start", {"message": {**message, "content": [], "stop_reason": None,
                                                      "usage": {**usage, "output_tokens": 1}}})
            yield event("ping", {})
            if "stream_error" in step:
                failure = step["stream_error"]
                if eventstream:
                    yield bedrock_exception(failure["type"], failure["message"])
                else:
                    yield event("error", {"error": {"type": failure["type"], "message": failure["message"]}})
                return
            for index, block in enumerate(content):
                if block["type"] == "text":
                    yield event("content_block_start", {"index": index, "content_block": {**block, "text": ""}})
                    for piece in _pieces(block["text"]):
                        yield event("content_block_delta", {"index": index,
                                                            "delta": {"type": "text_delta", "text": piece}})
                else:
                    yield event("content_block_start", {"index": index, "content_block": {**block, "input": {}}})
                    for piece in _pieces(json.dumps(block["input"])):
                        yield event("content_block_delta", {"index": index, "delta": {
                            "type": "input_json_delta", "partial_json": piece}})
                yield event("content_block_stop", {"index": index})
            yield event("message_delta", {"delta": {"stop_reason": stop, "stop_sequence": None, "stop_details": None,
                                                    "container": None},
                                          "usage": {"input_tokens": 11, "output_tokens": usage["output_tokens"],
                                                    **figures}})
            yield event("message_stop", {})

        if eventstream:
            return Response(frames(), content_type="application/vnd.amazon.eventstream")
        return Response(frames(), content_type="text/event-stream")

    def _count_tokens(self) -> Response:
        """Messages' count_tokens: the step's `input_tokens` (default 11, the figure of its usage) or error."""
        step = self._next({}, "")
        if "error" in step:
            return _anthropic_error(step["error"])
        return Response(json.dumps({"input_tokens": step.get("input_tokens", 11)}), content_type="application/json")

    # -- OpenAI Responses ----------------------------------------------------------------------
    def _responses(self, body: dict[str, Any]) -> Response:
        step = self._next(body, _responses_last_user(body.get("input")))
        if "error" in step:
            e = step["error"]
            return Response(json.dumps({"error": {"message": e["message"], "type": e.get("type", "server_error"),
                                                  "param": None, "code": e.get("code")}}),
                            status=e["status"], content_type="application/json", headers=e.get("headers"))
        text = step.get("text", "")
        output: list[dict[str, Any]] = []
        scripted = step.get("tool_calls", [])
        if text or not scripted:
            output.append({"id": f"msg_{uuid.uuid4().hex}", "type": "message", "status": "completed",
                           "role": "assistant", "content": [{"type": "output_text", "text": text, "annotations": [],
                                                             "logprobs": []}]})
        for n, c in zip(self._call_numbers(len(scripted)), scripted, strict=True):
            if "input" in c:  # a custom (freeform) tool, e.g. Codex's apply_patch for GPT-5 models
                output.append({"id": f"ctc_{uuid.uuid4().hex}", "type": "custom_tool_call", "status": "completed",
                               "call_id": f"call_{n}", "name": c["name"], "input": c["input"]})
            else:
                output.append({"id": f"fc_{uuid.uuid4().hex}", "type": "function_call", "status": "completed",
                               "call_id": f"call_{n}", "name": c["name"],
                               "arguments": json.dumps(c.get("arguments", {}))})
        out_tokens = max(1, len(text) // 4)
        usage = {"input_tokens": 11, "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
                 "output_tokens": out_tokens, "output_tokens_details": {"reasoning_tokens": 0},
                 "total_tokens": 11 + out_tokens}
        # Only what the official document requires, nothing echoed: any request gets a valid answer.
        response = {"id": f"resp_{uuid.uuid4().hex}", "object": "response", "created_at": int(time.time()),
                    "status": "completed", "error": None, "incomplete_details": None,
                    "instructions": body.get("instructions"), "model": body.get("model", self.model),
                    "output": output, "parallel_tool_calls": True, "tool_choice": "auto", "tools": [],
                    "metadata": {}, "temperature": None, "top_p": None, "usage": usage}
        if not body.get("stream"):
            return Response(json.dumps(response), content_type="application/json")

        sequence = iter(range(1_000_000))

        def event(kind: str, data: dict[str, Any]) -> str:
            return f"event: {kind}\ndata: {json.dumps({'type': kind, 'sequence_number': next(sequence), **data})}\n\n"

        def frames():
            pending = {k: v for k, v in response.items() if k != "usage"} | {"status": "in_progress", "output": []}
            yield event("response.created", {"response": pending})
            yield event("response.in_progress", {"response": pending})
            for index, item in enumerate(output):
                ids = {"item_id": item["id"], "output_index": index}
                if item["type"] == "message":
                    part = item["content"][0]
                    yield event("response.output_item.added", {"output_index": index, "item": {
                        **item, "status": "in_progress", "content": []}})
                    yield event("response.content_part.added", {**ids, "content_index": 0,
                                                                 "part": {**part, "text": ""}})
                    for piece in _pieces(part["text"]):
                        yield event("response.output_text.delta", {**ids, "content_index": 0, "delta": piece,
                                                                    "logprobs": []})
                    yield event("response.output_text.done", {**ids, "content_index": 0, "text": part["text"],
                                                               "logprobs": []})
                    yield event("response.content_part.done", {**ids, "content_index": 0, "part": part})
                elif item["type"] == "function_call":
                    yield event("response.output_item.added", {"output_index": index, "item": {
                        **item, "status": "in_progress", "arguments": ""}})
                    for piece in _pieces(item["arguments"]):
                        yield event("response.function_call_arguments.delta", {**ids, "delta": piece})
                    yield event("response.function_call_arguments.done", {**ids, "name": item["name"],
                                                                           "arguments": item["arguments"]})
                else:
                    yield event("response.output_item.added", {"output_index": index, "item": {
                        **item, "status": "in_progress", "input": ""}})
                    for piece in _pieces(item["input"]):
                        yield event("response.custom_tool_call_input.delta", {**ids, "delta": piece})
                    yield event("response.custom_tool_call_input.done", {**ids, "input": item["input"]})
                yield event("response.output_item.done", {"output_index": index, "item": item})
            yield event("response.completed", {"response": response})

        return Response(frames(), content_type="text/event-stream")


def _anthropic_error(e: dict[str, Any]) -> Response:
    return Response(json.dumps({"type": "error", "error": {"type": e.get("type", "api_error"), "message": e["message"]},
                                "request_id": f"req_{uuid.uuid4().hex[:24]}"}),
                    status=e["status"], content_type="application/json", headers=e.get("headers"))


def _responses_last_user(items: Any) -> str:
    """The text of the last user message in a Responses `input` (a string, or a list of input items)."""
    if isinstance(items, str):
        return items
    for item in reversed(items or []):
        if isinstance(item, dict) and item.get("role") == "user":
            content = item.get("content")
            if isinstance(content, str):
                return content
            return "".join(part.get("text", "") for part in content or [] if isinstance(part, dict))
    return ""


# -- AWS event-stream framing (what botocore's EventStreamBuffer decodes) --------------------------------
def eventstream_message(headers: dict[str, str], payload: bytes) -> bytes:
    """One binary event-stream message: prelude (total and headers lengths, CRC32), string headers
    (name length, name, type 7, value length, value), payload, CRC32 of everything before it."""
    encoded = b"".join(len(k.encode()).to_bytes(1, "big") + k.encode() + b"\x07"
                       + len(v.encode()).to_bytes(2, "big") + v.encode() for k, v in headers.items())
    total = 12 + len(encoded) + len(payload) + 4
    prelude = total.to_bytes(4, "big") + len(encoded).to_bytes(4, "big")
    prelude += binascii.crc32(prelude).to_bytes(4, "big")
    message = prelude + encoded + payload
    return message + binascii.crc32(message).to_bytes(4, "big")


def bedrock_chunk(data: bytes) -> bytes:
    """InvokeModelWithResponseStream's `chunk` event carrying one model stream event."""
    return eventstream_message({":event-type": "chunk", ":content-type": "application/json",
                                ":message-type": "event"},
                               json.dumps({"bytes": base64.b64encode(data).decode()}).encode())


def bedrock_exception(kind: str, message: str) -> bytes:
    """A modelled exception frame in the stream (e.g. throttlingException), as Bedrock sends mid-stream."""
    return eventstream_message({":exception-type": kind, ":content-type": "application/json",
                                ":message-type": "exception"}, json.dumps({"message": message}).encode())


def _pieces(text: str, size: int = 7) -> list[str]:
    return [text[i:i + size] for i in range(0, len(text), size)]
