"""An Agent's model fallbacks (Orka's `spec.model.fallbacks: [{providerRef, model?}]`).

`with_fallbacks(primary, fallbacks)` wraps the agent's provider: a call that fails with a provider
outage (HTTP 429 or 5xx, a timeout, a connection error) is tried on the next fallback in order; a
request the provider refuses (any other 4xx: a bad request, bad credentials, a context overflow) is
not, since another model would refuse it too or the caller must see it. A fallback is a provider
reference of the registry (`<providerRef>/<model>`, the provider's own model when `model` is empty);
one that cannot be built is skipped. A stream switches only before its first event: once text has
reached the caller, an error ends the call.

The wrapper's `name`, `kind` and `model` are those of the provider that answered last (the primary
before any call), so whoever records "which model answered" (the worker's status message, the chat
session's model) reads them after the call; `answered` lists every call's `provider/model` and
`fell_back` says whether a fallback answered any of them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from shared.errors import Invalid
from shared.llm.base import Completion, Provider, ProviderError, StreamEvent
from shared.logs import get_logger

log = get_logger("llm")


def is_outage(exc: ProviderError) -> bool:
    """Whether another model may answer: 429, 5xx, or no HTTP answer at all (timeout, connection)."""
    if exc.status is None:
        return exc.retryable
    return exc.status == 429 or exc.status >= 500


def fallback_references(fallbacks: Any) -> list[str]:
    """Registry references of `[{providerRef, model?}]` (entries without a providerRef are ignored)."""
    refs = []
    for entry in fallbacks or []:
        if isinstance(entry, dict) and isinstance(entry.get("providerRef"), str) and entry["providerRef"]:
            model = entry.get("model") if isinstance(entry.get("model"), str) else ""
            refs.append(f"{entry['providerRef']}/{model}")
    return refs


class FallbackProvider:
    def __init__(self, primary: Provider, references: list[str],
                 resolve: Callable[[str], Provider]) -> None:
        self._primary, self._references, self._resolve = primary, references, resolve
        self._current = primary
        self.answered: list[str] = []  # `provider/model` of every call, in order
        self.fell_back = False  # whether a fallback answered any call

    @property
    def name(self) -> str:
        return self._current.name

    @property
    def kind(self) -> str:
        return self._current.kind

    @property
    def model(self) -> str:
        return self._current.model

    def _candidates(self) -> Iterator[Provider]:
        yield self._primary
        for reference in self._references:
            try:
                yield self._resolve(reference)
            except Invalid as exc:  # a fallback that is not configured here: the next one
                log.warning("model fallback unavailable", extra={"fields": {"fallback": reference,
                                                                            "reason": exc.message}})

    def _answered_by(self, provider: Provider) -> None:
        self._current = provider
        self.fell_back = self.fell_back or provider is not self._primary
        self.answered.append(f"{provider.name}/{provider.model}")

    def _failed(self, provider: Provider, exc: ProviderError) -> None:
        log.warning("model failed, trying the next fallback", extra={"fields": {
            "provider": provider.name, "model": provider.model, "status": exc.status, "error": str(exc)[:300]}})

    def complete(self, messages: Any, **kwargs: Any) -> Completion:
        last: ProviderError | None = None
        for provider in self._candidates():
            try:
                completion = provider.complete(messages, **kwargs)
            except ProviderError as exc:
                if not is_outage(exc):
                    raise
                self._failed(provider, exc)
                last = exc
                continue
            self._answered_by(provider)
            return completion
        assert last is not None  # the primary is always a candidate
        raise last

    def stream(self, messages: Any, **kwargs: Any) -> Iterator[StreamEvent]:
        last: ProviderError | None = None
        for provider in self._candidates():
            produced = False
            try:
                for event in provider.stream(messages, **kwargs):
                    produced = True
                    if event.completion is not None:
                        self._answered_by(provider)
                    yield event
                return
            except ProviderError as exc:
                if produced or not is_outage(exc):
                    raise
                self._failed(provider, exc)
                last = exc
        assert last is not None
        raise last


def with_fallbacks(primary: Provider, fallbacks: Any,
                   resolve: Callable[[str], Provider] | None = None) -> Provider:
    """`primary`, wrapped when the agent lists fallbacks."""
    references = fallback_references(fallbacks)
    if not references:
        return primary
    if resolve is None:
        from shared.llm.registry import resolve as registry_resolve

        resolve = registry_resolve
    return FallbackProvider(primary, references, resolve)
