"""moto's recorder replays a recording over one kept-alive connection.

A restart of `make run` replays every write recorded since the last compaction
(docs/local-platform.md). moto's `Recorder.replay_recording` sends each recorded request with
`requests.request`, a new connection per request: a TCP handshake, and a thread of moto's server
(shared.local.wsgi_server) started and ended for each. Here the same loop sends them through one
`requests.Session`, so one connection carries them all; the requests, their order and the answers are
moto's own.

After the replay the replayed state leaves the garbage collector's generations (`gc.freeze`): with
~20 000 items each full collection walked all of it, about 250 ms of moto's one process (every store
call waits) each time the heap grew by a quarter; frozen, a collection walks only what came after
(docs/performance.md, "moto's collector after a replay"). Frozen objects are still freed when
their last reference goes; only a reference cycle among them would never be collected.
"""

from __future__ import annotations

import functools
import gc
import threading
from types import SimpleNamespace
from typing import Any

_replaying = threading.Lock()  # one replay at a time: it lends the recorder module its session


def replay_over_one_connection() -> None:
    """Patch moto's Recorder.replay_recording (idempotent)."""
    from moto.moto_api._internal.recorder import models
    from moto.moto_api._internal.recorder.models import Recorder

    original = Recorder.replay_recording
    if getattr(original, "_one_connection", False):
        return

    @functools.wraps(original)
    def replay_recording(self: Any, target_host: str | None = None) -> None:
        import requests

        with _replaying, requests.Session() as session:
            models.requests = SimpleNamespace(request=session.request)  # what moto's loop calls
            try:
                original(self, target_host)
            finally:
                models.requests = requests
        gc.collect()  # what the replay left as garbage is not kept for good
        gc.freeze()

    replay_recording._one_connection = True  # type: ignore[attr-defined]
    Recorder.replay_recording = replay_recording  # type: ignore[method-assign]
