"""The worker's side of its lease: a heartbeat every lease/3 from a daemon thread.

The scheduler reclaims a Running attempt whose heartbeats stop (shared/tasks/leases.py). Each beat
is `POST /internal/v1/heartbeat/<ns>/<task>` with `{"attempt": N}`:

- 204: renewed.
- 409 (`stale attempt`) or 404 (deleted): this attempt is over, reclaimed, cancelled, timed out or
  deleted. Unless the worker itself has just reported its end (the beat raced that report), its
  further reports would all be refused, so the process stops rather than keep calling models and
  tools for nothing.
- anything else (the platform restarting, the network): tried again at the next beat. A worker that
  has not renewed for a whole lease must assume it has been reclaimed, and stops likewise: two
  workers on one task never both run for long.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable

import httpx

from shared.config import get_settings
from shared.logs import get_logger
from shared.workerapi.client import InternalClient

log = get_logger("worker.heartbeat")


def _stop_process(reason: str) -> None:
    log.warning("stopping: this attempt's lease is lost", extra={"fields": {"reason": reason}})
    os.kill(os.getpid(), signal.SIGTERM)  # the default handler ends the process, whatever it is doing


class Heartbeat:
    def __init__(self, client: InternalClient, namespace: str, name: str, attempt: int, lease_seconds: float, *,
                 on_lost: Callable[[str], None] = _stop_process,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.client, self.namespace, self.name, self.attempt = client, namespace, name, attempt
        self.lease = lease_seconds
        self.interval = max(0.2, lease_seconds / 3)
        self.on_lost, self.clock = on_lost, clock
        self.last_renewed = clock()  # the attempt was granted its lease when it entered Running
        self._stop = threading.Event()

    def start(self) -> Heartbeat:
        threading.Thread(target=self._run, name="heartbeat", daemon=True).start()
        return self

    def stop(self) -> None:
        self._stop.set()

    def beat(self) -> bool:
        """One beat; False once the lease is lost (and `on_lost` was called)."""
        # A beat may take as long as the lease has left: a late answer still renews it. Giving up at the
        # interval (as before) lost every beat of a platform slower than that under load, and each beat
        # abandoned and sent again added to the load that made it late; the worker then stopped itself.
        left = self.lease - (self.clock() - self.last_renewed)
        try:
            status = self.client.heartbeat(self.namespace, self.name, self.attempt,
                                           timeout=max(self.interval, left))
        except httpx.HTTPError as exc:
            status, detail = None, type(exc).__name__
        else:
            detail = f"HTTP {status}"
        if status == 204:
            self.last_renewed = self.clock()
            return True
        if self.client.final_reported.is_set():
            return False  # the worker reported its end: nothing is lost, the beats just stop
        if status in (404, 409):
            self.on_lost(f"heartbeat refused ({detail}): the attempt was reclaimed, cancelled or deleted")
            return False
        if self.clock() - self.last_renewed > self.lease:
            self.on_lost(f"no heartbeat renewed for {self.lease:.0f}s (last: {detail})")
            return False
        log.warning("heartbeat failed; retrying at the next beat", extra={"fields": {"error": detail}})
        return True

    def _run(self) -> None:
        while not self._stop.is_set():
            sent = self.clock()
            if not self.beat():
                return
            # The next beat goes an interval after this one was sent: a slow answer, now waited for, must
            # not space the renewals further apart than the lease allows.
            self._stop.wait(max(0.0, self.interval - (self.clock() - sent)))


def start(client: InternalClient, namespace: str, name: str) -> Heartbeat | None:
    """Start heartbeating for the worker's attempt; None when it runs without one (no SHOAL_TASK_ATTEMPT:
    started by hand or by an older executor, so nothing holds it to a lease either)."""
    if client.task_attempt is None:
        return None
    return Heartbeat(client, namespace, name, client.task_attempt, get_settings().task_lease_seconds).start()
