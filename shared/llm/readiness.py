"""Is the configured default provider reachable? For `/readyz` of the functions that call the model.

A TCP connect to the provider's endpoint (no request, no tokens spent), answered from a cache for
READY_TTL seconds, success or failure, so probes every few seconds stay cheap. The mock is always
ready; a provider whose endpoint is not known here (its SDK derives it) is reported as configured.
"""

from __future__ import annotations

import threading
import time
from urllib.parse import urlsplit

READY_TTL = 30.0
CONNECT_TIMEOUT = 2.0
_lock = threading.Lock()
_cache: dict[str, tuple[float, str | None]] = {}


def endpoint(provider: object) -> str | None:
    from shared.llm.wire import base_url_for

    base = getattr(provider, "_base_url", None)
    wire = getattr(provider, "wire", None)
    if base:
        return str(base)
    return base_url_for(wire, None) if wire in ("openai", "anthropic") else None


def _probe(url: str) -> str | None:
    """None when a TCP connection opens, else the cause."""
    import socket

    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        with socket.create_connection((parts.hostname or "", port), timeout=CONNECT_TIMEOUT):
            return None
    except OSError as exc:
        return str(exc) or type(exc).__name__


def check_default_provider() -> str:
    """"ok: <kind> at <url>", or NotReady naming the provider, the URL and the cause."""
    from shared.config import get_settings
    from shared.errors import NotReady
    from shared.llm.registry import resolve

    settings = get_settings()
    if settings.llm_provider == "mock":
        return "mock"
    try:
        provider = resolve(None, settings=settings)
    except Exception as exc:
        raise NotReady(f"{settings.llm_provider} provider is not usable: {getattr(exc, 'message', exc)}") from None
    url = endpoint(provider)
    if url is None:
        return f"configured: {provider.kind}"
    now = time.monotonic()
    with _lock:
        cached = _cache.get(url)
    if cached is None or cached[0] <= now:
        cached = (now + READY_TTL, _probe(url))
        with _lock:
            _cache[url] = cached
    if cached[1] is not None:
        raise NotReady(f"{provider.kind} provider at {url} is unreachable: {cached[1]}")
    return f"ok: {provider.kind} at {url}"


def clear() -> None:
    with _lock:
        _cache.clear()
