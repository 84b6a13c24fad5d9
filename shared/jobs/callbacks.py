"""Callback webhooks: POST the spec's minimal bodies to a job's callbackUrl at lifecycle points.

Every request goes through the SSRF-guarded client (the address is checked again at send time, not
only at submit, so a name that re-resolves to a private address is refused). 10 s timeout, a few
attempts with backoff; a failed callback is logged and never changes the job.
"""

from __future__ import annotations

import time
from typing import Any

from shared.config import get_settings
from shared.logs import get_logger
from shared.net.outbound import BlockedURL, outbound_client

log = get_logger("jobs.callbacks")


def body_for(job_id: str, phase: str, metadata: dict[str, Any], details: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"jobId": job_id, "phase": phase}
    if phase == "failed":
        body["details"] = details or ""
    body["metadata"] = metadata or {}
    return body


def deliver(url: str, body: dict[str, Any], *, backoff: float = 0.5) -> bool:
    """POST `body`; True when a 2xx came back within the attempts."""
    settings = get_settings()
    attempts = max(1, settings.callback_attempts)
    with outbound_client(timeout=settings.callback_timeout_seconds) as http:
        for attempt in range(1, attempts + 1):
            try:
                response = http.post(url, json=body)
                if response.status_code < 300:
                    return True
                reason = f"status {response.status_code}"
                # A client error will not change on retry.
                final = 400 <= response.status_code < 500 and response.status_code not in (408, 429)
            except BlockedURL as exc:
                log.warning("callback refused", extra={"fields": {"job": body.get("jobId"), "reason": exc.message}})
                return False
            except Exception as exc:  # network errors: retried
                reason, final = type(exc).__name__, False
            log.warning("callback failed", extra={"fields": {"job": body.get("jobId"), "attempt": attempt,
                                                             "reason": reason}})
            if final or attempt >= attempts:
                return False
            time.sleep(backoff * attempt)
    return False
