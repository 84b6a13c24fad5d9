"""Every provider the registry hands out counts its calls, tokens and latency (shared.observability.metrics)
by provider type and model; everything else passes through to the provider itself."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

from shared.llm.base import Completion, Provider, StreamEvent
from shared.observability.metrics import record_llm_call


class Measured:
    def __init__(self, inner: Provider) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def _record(self, started: float, completion: Completion | None) -> None:
        model = (completion.model if completion else None) or self._inner.model or ""
        usage = completion.usage if completion else None
        record_llm_call(self._inner.kind, model, "ok" if completion else "error", time.perf_counter() - started,
                        usage.input_tokens if usage else 0, usage.output_tokens if usage else 0)

    def complete(self, messages: Any, **kwargs: Any) -> Completion:
        started = time.perf_counter()
        try:
            completion = self._inner.complete(messages, **kwargs)
        except BaseException:
            self._record(started, None)
            raise
        self._record(started, completion)
        return completion

    def stream(self, messages: Any, **kwargs: Any) -> Iterator[StreamEvent]:
        started = time.perf_counter()
        completion = None
        try:
            for event in self._inner.stream(messages, **kwargs):
                if event.kind == "done":
                    completion = event.completion
                yield event
        finally:  # a stream the caller abandons (client gone) counts as an error, like one that raised
            self._record(started, completion)
