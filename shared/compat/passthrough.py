"""The transparent proxy on the same wire (`X-Orka-Tools: disabled`, endpoint and provider of one vendor;
`/openai/v1/responses` on an OpenAI provider; `/anthropic/v1/messages/count_tokens` on an Anthropic one).

The client's validated request goes upstream as it was sent, with only `model` resolved, and the
answer comes back as the upstream wrote it, with only the id renamed to ours (`chatcmpl-…`,
`msg_…`; Responses keep the upstream's ids, which stored responses and `previous_response_id` refer
to). Nothing is re-modelled: every field either side knows (tool_choice, stop, response_format,
top_p, seed, logprobs, cache_control, thinking, reasoning, include, …) goes through untouched, and no
SDK object is built on the hot path. Upstream failures read as everywhere else in compat: 500
"completion failed: …" before the stream starts, the dialect's error frame after it (for Responses,
response.failed).

Across vendors (an Anthropic endpoint in front of an OpenAI provider) or with the mock provider,
the engine translates through the neutral message model instead (`shared.compat.engine`).

With `on_usage` (a task token's call, whose usage is counted on the task) the upstream's usage figures
are read from the answer, or from the stream as it passes, and handed over once the call is over (to the
route's `shared.compat.usage.Tally`, which writes them once the answer is sent). An
OpenAI stream reports usage only with `stream_options.include_usage`: it is asked for upstream, and
when the client did not ask for it the usage chunk and the `usage: null` fields are taken out again,
so the client still sees what it asked for.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Iterator
from typing import Any

from flask import Response

from shared.compat import responses_wire
from shared.compat.common import upstream_failure
from shared.compat.usage import UsageSink, anthropic_usage, openai_usage, responses_usage
from shared.http.sse import sse_response
from shared.llm.base import Provider, ProviderError
from shared.llm.wire import error_message

OPENAI_PATH = "/chat/completions"
RESPONSES_PATH = "/responses"
ANTHROPIC_PATH = "/v1/messages"
ANTHROPIC_COUNT_PATH = "/v1/messages/count_tokens"
ErrorBody = Callable[[Exception], Any]


def speaks(provider: Provider, wire: str) -> bool:
    """Whether `provider` speaks `wire` over HTTP (the mock and cross-vendor pairs translate instead)."""
    return getattr(provider, "wire", None) == wire


def _compact(doc: Any) -> str:
    return json.dumps(doc, separators=(",", ":"))


def _upstream_body(body: dict[str, Any], provider: Provider, drop: tuple[str, ...] = ()) -> bytes:
    sent = {k: v for k, v in body.items() if k not in drop}
    sent["model"] = provider.model
    return _compact(sent).encode()


def _json_response(content: bytes, ident: str | None, on_usage: UsageSink | None = None,
                   read_usage: Callable[[Any], Any] | None = None) -> Response:
    """The upstream's JSON object with our id, or (ident None) exactly as the upstream wrote it."""
    try:
        doc = json.loads(content)
    except ValueError:
        doc = None
    if not isinstance(doc, dict):
        raise upstream_failure(ProviderError("provider returned an invalid response"))
    if on_usage is not None and read_usage is not None:
        on_usage(read_usage(doc.get("usage")))
    if ident is None:
        return Response(content, status=200, mimetype="application/json")
    doc["id"] = ident
    return Response(_compact(doc), status=200, mimetype="application/json")


def _call(provider: Provider, path: str, payload: bytes, headers: dict[str, str] | None = None,
          action: str = "completion") -> bytes:
    try:
        return provider.raw().post(path, payload, headers=headers)  # type: ignore[attr-defined]
    except ProviderError as exc:
        raise upstream_failure(exc, action) from None


def _open_stream(provider: Provider, path: str, payload: bytes, headers: dict[str, str] | None = None):
    """The upstream stream, opened now so a failure before the first byte is a plain HTTP error."""
    stream = provider.raw().stream(path, payload, headers=headers)  # type: ignore[attr-defined]
    try:
        lines = stream.__enter__()
    except ProviderError as exc:
        raise upstream_failure(exc) from None
    return stream, lines


class _Relay:
    """The frames relayed to the client. The server closes it when the response ends or the client
    goes away, even before the first frame was read; either way the pooled upstream connection is
    released (a generator that never started would not run its `finally`)."""

    def __init__(self, upstream: Any, frames: Callable[[Iterator[str]], Iterator[str]], lines: Iterator[str]) -> None:
        self._upstream = upstream
        self._frames = frames(lines)
        self._open = True

    def __iter__(self) -> _Relay:
        return self

    def __next__(self) -> str:
        try:
            return next(self._frames)
        except StopIteration:
            self.close()
            raise

    def close(self) -> None:
        if self._open:
            self._open = False
            self._frames.close()
            self._upstream.__exit__(None, None, None)


def _relay(provider: Provider, path: str, payload: bytes, frames: Callable[[Iterator[str]], Iterator[str]],
           headers: dict[str, str] | None = None) -> Response:
    upstream, lines = _open_stream(provider, path, payload, headers)
    return sse_response(_Relay(upstream, frames, lines), heartbeat_seconds=None)


# -- OpenAI ------------------------------------------------------------------------------------------
def openai(body: dict[str, Any], provider: Provider, ident: str, *, stream: bool, error_body: ErrorBody,
           on_usage: UsageSink | None = None):
    # A non-positive token limit means "unset" here (apply_max_tokens); upstream would refuse it.
    drop = tuple(k for k in ("max_tokens", "max_completion_tokens")
                 if isinstance(body.get(k), int | float) and not isinstance(body[k], bool) and body[k] <= 0)
    if not stream:
        payload = _upstream_body(body, provider, drop)
        return _json_response(_call(provider, OPENAI_PATH, payload), ident, on_usage, openai_usage)
    options = body.get("stream_options") or {}
    asked = bool(options.get("include_usage"))
    if on_usage is not None and not asked:
        body = {**body, "stream_options": {**options, "include_usage": True}}
    payload = _upstream_body(body, provider, drop)
    return _relay(provider, OPENAI_PATH, payload,
                  lambda lines: _openai_frames(lines, ident, error_body, on_usage, hide_usage=not asked))


def _openai_frames(lines: Iterator[str], ident: str, error_body: ErrorBody, on_usage: UsageSink | None = None,
                   *, hide_usage: bool = False) -> Iterator[str]:
    """Each upstream chunk with our id; `[DONE]` only if the upstream finished (never after an error).
    With `on_usage`, the usage chunk's figures are handed over when the stream ends, however it ends."""
    usage: Any = None
    try:
        for line in lines:
            if not line.startswith("data:"):
                continue  # blank separators and comments: we write our own framing
            data = line[5:].strip()
            if data == "[DONE]":
                yield "data: [DONE]\n\n"
                return
            chunk = json.loads(data)
            if isinstance(chunk, dict) and "error" in chunk:
                raise ProviderError(f"openai provider error: {error_message(data.encode())}")
            if on_usage is not None and isinstance(chunk, dict):
                usage = chunk.get("usage") or usage
                if hide_usage:  # asked for on the client's behalf: not part of what it sees
                    chunk.pop("usage", None)
                    if not chunk.get("choices"):
                        continue
            chunk["id"] = ident
            yield f"data: {_compact(chunk)}\n\n"
        raise ProviderError("openai provider error: stream ended without [DONE]")
    except (ProviderError, ValueError) as exc:
        failure = upstream_failure(exc if isinstance(exc, ProviderError) else ProviderError("invalid stream"))
        yield f"data: {_compact(error_body(failure))}\n\n"
    finally:
        if on_usage is not None:
            on_usage(openai_usage(usage))


# -- OpenAI Responses --------------------------------------------------------------------------------
_RESPONSE_ENDS = frozenset({"response.completed", "response.incomplete", "response.failed"})
_RESPONSE_STATES = frozenset({"response.created", "response.queued", "response.in_progress"})


def openai_responses(body: dict[str, Any], provider: Provider, draft: responses_wire.Draft, *, stream: bool,
                     error_body: ErrorBody, on_usage: UsageSink | None = None):
    """`/responses` upstream. Ids stay the upstream's: a client continues a stored response by its id
    (`previous_response_id`), which only the upstream knows. `draft` words a failure the upstream did not."""
    payload = _upstream_body(body, provider)
    if not stream:
        return _json_response(_call(provider, RESPONSES_PATH, payload), None, on_usage, responses_usage)
    return _relay(provider, RESPONSES_PATH, payload,
                  lambda lines: _responses_frames(lines, draft, error_body, on_usage))


def _responses_frames(lines: Iterator[str], draft: responses_wire.Draft, error_body: ErrorBody,
                      on_usage: UsageSink | None = None) -> Iterator[str]:
    """Each upstream event as written, up to its last one (response.completed, .incomplete or .failed).
    A stream that breaks off before it ends with our response.failed: the last state the upstream
    reported (or our draft), failed, numbered after the upstream's last event."""
    raw: list[str] = []
    snapshot: dict[str, Any] | None = None
    sequence = -1
    try:
        for line in itertools.chain(lines, [""]):  # the final "" ends an event the connection cut short
            if line:
                raw.append(line)
                continue
            data = "\n".join(part[5:].removeprefix(" ") for part in raw if part.startswith("data:"))
            frame, raw = "\n".join(raw) + "\n\n", []
            if not data or data == "[DONE]":
                continue  # comment-only events (keep-alives) and a chat-style end marker
            doc = json.loads(data)
            kind = doc.get("type")
            if isinstance(doc.get("sequence_number"), int):
                sequence = doc["sequence_number"]
            if kind in _RESPONSE_STATES and isinstance(doc.get("response"), dict):
                snapshot = doc["response"]
            yield frame
            if kind in _RESPONSE_ENDS:
                if on_usage is not None and isinstance(doc.get("response"), dict):
                    on_usage(responses_usage(doc["response"].get("usage")))
                return
        raise ProviderError("openai provider error: stream ended without response.completed")
    except (ProviderError, ValueError, AttributeError) as exc:  # AttributeError: an event that is not an object
        failure = upstream_failure(exc if isinstance(exc, ProviderError) else ProviderError("invalid stream"))
        message = error_body(failure)["error"]["message"]
        yield responses_wire.failed_event(snapshot or draft.response("in_progress", []), message, sequence + 1)


# -- Anthropic ---------------------------------------------------------------------------------------
def _anthropic_headers(version: str | None, beta: str | None) -> dict[str, str]:
    return {"anthropic-version": version or "", "anthropic-beta": beta or ""}  # empty: not sent


def anthropic(body: dict[str, Any], provider: Provider, ident: str, *, stream: bool, error_body: ErrorBody,
              version: str | None, beta: str | None, on_usage: UsageSink | None = None):
    payload = _upstream_body(body, provider)
    headers = _anthropic_headers(version, beta)
    if not stream:
        return _json_response(_call(provider, ANTHROPIC_PATH, payload, headers), ident, on_usage, anthropic_usage)
    return _relay(provider, ANTHROPIC_PATH, payload,
                  lambda lines: _anthropic_frames(lines, ident, error_body, on_usage), headers)


def anthropic_count_tokens(body: dict[str, Any], provider: Provider, *, version: str | None,
                           beta: str | None) -> Response:
    """`/v1/messages/count_tokens` upstream: the provider's own count, as it wrote it."""
    payload = _upstream_body(body, provider)
    content = _call(provider, ANTHROPIC_COUNT_PATH, payload, _anthropic_headers(version, beta), "token count")
    return _json_response(content, None)


def _anthropic_frames(lines: Iterator[str], ident: str, error_body: ErrorBody,
                      on_usage: UsageSink | None = None) -> Iterator[str]:
    """Each upstream event as sent (message_start with our id); ends after message_stop or an error.
    With `on_usage`, the figures of message_start and message_delta (cumulative, so the later ones
    win) are handed over when the stream ends, however it ends."""
    event, data = "", ""
    figures: dict[str, Any] = {}
    try:
        for line in lines:
            if line.startswith("event:"):
                event = line[6:].strip()
            elif line.startswith("data:"):
                data += line[5:].strip()
            elif not line and data:
                if event == "message_start":
                    doc = json.loads(data)
                    doc["message"]["id"] = ident
                    data = _compact(doc)
                    figures.update(_present(doc["message"].get("usage")))
                elif event == "message_delta" and on_usage is not None:
                    figures.update(_present(json.loads(data).get("usage")))
                yield f"event: {event}\ndata: {data}\n\n"
                if event in ("message_stop", "error"):
                    return
                event, data = "", ""
        if data:  # the last event, without its blank line before the connection closed
            yield f"event: {event}\ndata: {data}\n\n"
            if event in ("message_stop", "error"):
                return
        raise ProviderError("anthropic provider error: stream ended without message_stop")
    except (ProviderError, ValueError, KeyError, TypeError, AttributeError) as exc:
        failure = upstream_failure(exc if isinstance(exc, ProviderError) else ProviderError("invalid stream"))
        yield f"event: error\ndata: {_compact(error_body(failure))}\n\n"
    finally:
        if on_usage is not None:
            on_usage(anthropic_usage(figures))


def _present(usage: Any) -> dict[str, Any]:
    """The figures a usage object reports (nulls are "not reported here", not zero)."""
    return {k: v for k, v in usage.items() if v is not None} if isinstance(usage, dict) else {}
