"""The local platform's restart policy for its function processes (docs/reliability.md, "Supervision").

In a cluster Knative restarts a crashed function; under `make run` this does: a function that exits
is started again after a backoff that doubles with each recent exit, and only one that keeps dying
(`limit` exits within `window` seconds) stops the platform, since restarting it is clearly futile.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

BASE_DELAY = 0.5
MAX_DELAY = 10.0


class Supervisor:
    def __init__(self, limit: int = 5, window: float = 60.0, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit, self.window, self.clock = limit, window, clock
        self._exits: dict[str, deque[float]] = {}

    def exited(self, name: str) -> float | None:
        """Record that `name` exited; seconds to wait before restarting it, or None to give up."""
        now = self.clock()
        exits = self._exits.setdefault(name, deque())
        exits.append(now)
        while exits and now - exits[0] > self.window:
            exits.popleft()
        if len(exits) >= self.limit:
            return None
        return min(MAX_DELAY, BASE_DELAY * 2 ** (len(exits) - 1))
