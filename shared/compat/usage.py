"""Model usage of task tokens: the one hook every compat endpoint calls after a model call.

`record_usage(principal, usage)` adds one call's tokens to the task a task token belongs to (its
`status.usage`, atomic counters in `shared.tasks.usage`); for any other caller it does nothing. An
endpoint counts through a `Tally`: the answer's or the stream's figures (a stream's with what was
counted by then, also when the client went away early) are written once the answer is sent.

The readers below take a vendor's usage figures from its own JSON, for the same-wire proxy, which
never builds SDK objects.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import TYPE_CHECKING, Any

from flask import Response

from shared.http.api import json_response
from shared.llm.base import Usage
from shared.logs import get_logger
from shared.tasks.usage import add_usage

if TYPE_CHECKING:
    from shared.auth.principal import Principal

UsageSink = Callable[[Usage], None]

log = get_logger("compat")


def counts_usage(principal: Principal | None) -> bool:
    """Whether calls of this principal are counted: those of a task token."""
    return principal is not None and principal.kind == "task"


def record_usage(principal: Principal | None, usage: Usage | None) -> None:
    """Add one model call (its input and output tokens) to the principal's task; no-op for other callers.

    Never raises: the answer has been produced (often already sent) by the time it is counted, so a
    failed count is logged for operators rather than turned into an error for the runtime.
    """
    if not counts_usage(principal) or usage is None:
        return

    task = principal.claims.get("task", "")
    try:
        add_usage(principal.namespace or "", task, input_tokens=usage.input_tokens,
                  output_tokens=usage.output_tokens)
    except Exception:
        log.exception("task usage not recorded", extra={"fields": {
            "namespace": principal.namespace, "task": task, "input_tokens": usage.input_tokens,
            "output_tokens": usage.output_tokens}})


class Tally:
    """One call's usage, written once its answer is sent: `after(response)` hands the writing to the
    response's close, which the WSGI server calls after the last byte (a stream's terminating chunk
    included) or when the client left. The store write is then no part of what the client waits for;
    the figures are the same, written once. For callers whose calls are not counted it holds nothing."""

    def __init__(self, principal: Principal | None) -> None:
        self._principal = principal
        self._usage: list[Usage] = []
        # None when not counted: the proxy then leaves the request exactly as sent (no usage asked for).
        self.sink: UsageSink | None = self._usage.append if counts_usage(principal) else None

    def add(self, usage: Usage | None) -> None:
        """One call's figures, kept for `after` (nothing when this principal's calls are not counted)."""
        if self.sink is not None and usage is not None:
            self.sink(usage)

    def events(self, events: Generator[Any, None, None]) -> Generator[Any, None, None]:
        """The compat engine's events, the usage of the final "done" event kept for `after` (the events
        as they are when this principal's calls are not counted)."""
        if self.sink is None:
            return events
        return _counting(events, self.sink)

    def after(self, answer: Any) -> Response:
        """`answer` (a Response, or a JSON body) with the usage written when the server closes it."""
        response = answer if isinstance(answer, Response) else json_response(answer)
        if self.sink is not None:
            response.call_on_close(self._write)
        return response

    def _write(self) -> None:
        usage, self._usage[:] = list(self._usage), []
        for figures in usage:
            record_usage(self._principal, figures)


def _counting(events: Generator[Any, None, None], sink: UsageSink) -> Generator[Any, None, None]:
    try:
        for event in events:
            if getattr(event, "kind", None) == "done" and event.outcome is not None:
                sink(event.outcome.usage)
            yield event
    finally:
        events.close()  # a client gone away must reach the engine at once, as without this wrapper


def _count(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def openai_usage(figures: Any) -> Usage:
    """A chat completion's `usage` object (prompt tokens include cached ones)."""
    figures = figures if isinstance(figures, dict) else {}
    return Usage(_count(figures.get("prompt_tokens")), _count(figures.get("completion_tokens")))


def responses_usage(figures: Any) -> Usage:
    """A Responses API `usage` object (`input_tokens` already includes cached input)."""
    figures = figures if isinstance(figures, dict) else {}
    return Usage(_count(figures.get("input_tokens")), _count(figures.get("output_tokens")))


def anthropic_usage(figures: Any) -> Usage:
    """A message's `usage` object. Anthropic counts cache writes and reads apart from `input_tokens`;
    they are input all the same, so they are added in (as OpenAI's prompt tokens include cached ones)."""
    figures = figures if isinstance(figures, dict) else {}
    read = ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens")
    return Usage(sum(_count(figures.get(k)) for k in read), _count(figures.get("output_tokens")))
