"""The audit CloudEvent of a finished investigation (`aiagent.response.complete`)."""

from __future__ import annotations

from typing import Any

from shared.events import build
from shared.events.outbox import publish
from shared.logs import get_logger

log = get_logger("investigation")
AUDIT_TYPE = "aiagent.response.complete"


def emit_audit(*, namespace: str, name: str, facade: str, status: str, prompt_tokens: int,
               completion_tokens: int, **extra: Any) -> None:
    """Emit the audit event; a sink failure is logged, never turned into a failed investigation."""
    from shared.events.registry import data_for  # the event catalogue's models: with the first event
    data = data_for(AUDIT_TYPE, namespace=namespace, name=name, facade=facade, status=status,
                    total_prompt_tokens=prompt_tokens, total_completion_tokens=completion_tokens, **extra)
    publish(build(AUDIT_TYPE, data, subject=f"{namespace}/{name}"))  # parked if the sink is down
