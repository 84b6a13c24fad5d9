"""One pooled httpx client per process and purpose, for outbound hops that repeat.

A new httpx client per call builds a connection pool and an SSL context each time (about 20 ms of
CPU); events, GitHub calls and webhooks happen on every task transition, so they share one client
per purpose instead. Clients are per process: a forked child (gunicorn workers) starts its own,
because the parent's sockets are not its own.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # httpx is imported by the factories, only when a hop is first made
    import httpx

_clients: dict[str, httpx.Client] = {}
_owner = os.getpid()
_lock = threading.Lock()


def pooled(purpose: str, factory: Callable[[], httpx.Client]) -> httpx.Client:
    """The process's client for `purpose`, made by `factory` the first time it is asked for."""
    global _owner
    client = _clients.get(purpose)
    if client is not None and _owner == os.getpid():
        return client
    with _lock:
        if _owner != os.getpid():
            _clients.clear()  # inherited across fork: never close them, the parent still uses them
            _owner = os.getpid()
        client = _clients.get(purpose)
        if client is None:
            client = _clients[purpose] = factory()
        return client


def close_all() -> None:
    """Close every pooled client of this process (tests, shutdown)."""
    with _lock:
        for client in _clients.values():
            client.close()
        _clients.clear()
