"""The investigator: runs a session's investigation when `dev.shoal.investigation.requested`
arrives, records progress and stream events, stores the result, emits the audit event.

A restart loses nothing: the session is in the tables, and an event whose handler did not
finish is redelivered by the broker; a session still `investigating` is simply run again.
"""

from __future__ import annotations

import time
from typing import Any

from shared.events import Event
from shared.incidents import response, sessions
from shared.incidents.stream import append
from shared.investigation import metrics
from shared.investigation.audit import emit_audit
from shared.investigation.engine import InvestigationFailed, Outcome, investigate
from shared.investigation.schema import Subject
from shared.llm.base import Usage
from shared.llm.registry import resolve
from shared.logs import get_logger

log = get_logger("investigator")
FACADE = "kubernaut"
_RESULT_CHARS = 2000


class Cancelled(Exception):
    """The session was cancelled while the loop ran; raised from the observer to stop it."""


class TakenOver(Exception):
    """The owner took the session over (user_driving) while the loop ran: stop without finishing it."""


def subject_for(request: dict[str, Any], *, cluster_wide: bool = False) -> Subject:
    context = {k: v for k, v in request.items() if v not in (None, "", [], {}) and k not in (
        "resource_kind", "resource_name", "resource_namespace")}
    from shared.incidents.workflows import SELECTION_NOTE, prompt_listing

    workflows = prompt_listing(request["resource_kind"])
    if workflows:
        context.update(available_workflows=workflows, workflow_selection=SELECTION_NOTE)
    return Subject(kind=request["resource_kind"], name=request["resource_name"],
                   namespace=request["resource_namespace"], reason=request.get("error_message", ""),
                   context=context, cluster_wide=cluster_wide)


class _Observer:
    """Turns loop notifications into stream records and progress; stops the loop on cancel."""

    def __init__(self, session_id: str) -> None:
        self.session_id = session_id
        self.turn = 1
        self._last = ""

    def __call__(self, kind: str, data: dict[str, Any]) -> None:
        if kind in ("tool_call", "message") and self._last == "tool_result":
            self.turn += 1
        self._last = kind
        if kind == "tool_call":
            append(self.session_id, "tool_call", self.turn, {"id": data["id"], "name": data["name"],
                                                             "args": data["args"]})
            self._progress(f"Turn {self.turn}: running {data['name']}")
        elif kind == "tool_result":
            append(self.session_id, "tool_result", self.turn,
                   {"id": data["id"], "name": data["name"], "result": str(data["result"])[:_RESULT_CHARS]})
        elif kind == "message":
            append(self.session_id, "reasoning_delta", self.turn, {"content": data["content"]})

    def _progress(self, text: str) -> None:
        def mutate(doc: dict[str, Any]) -> bool:
            if doc.get("status") != "investigating":
                return False
            doc["progress"], doc["turn"] = text, self.turn
            return True

        record, _ = sessions.change(self.session_id, mutate)
        if record is None or record.doc.get("status") == "cancelled":
            raise Cancelled()
        if record.doc.get("status") == "user_driving":
            raise TakenOver()


def on_investigation_requested(event: Event) -> None:
    session_id = str((event.data or {}).get("name", ""))
    claimed = sessions.transition(session_id, "investigating", allowed_from=frozenset({"pending", "investigating"}),
                                  also=lambda d: d.update(progress="Investigation started", turn=1))
    if claimed is None:
        log.info("session not runnable", extra={"fields": {"session_id": session_id}})
        return
    request = claimed.doc["request"]
    started = time.monotonic()
    observer = _Observer(session_id)
    usage, llm_calls, tool_calls, model = Usage(), 0, 0, None
    try:
        provider = resolve(None)
        model = provider.model
        subject = subject_for(request, cluster_wide=bool(claimed.doc.get("cluster_wide")))
        outcome: Outcome = investigate(subject, provider, observe=observer)
    except TakenOver:
        log.info("session taken over by its owner", extra={"fields": {"session_id": session_id}})
        return
    except Cancelled:
        append(session_id, "cancelled", observer.turn, {"phase": "rca"})
        _finish(session_id, request, "cancelled", usage, 0, 0, model, started)
        return
    except InvestigationFailed as exc:
        _fail(session_id, request, str(exc), exc.reason, exc.usage, exc.llm_calls, model, started, observer.turn)
        return
    except Exception as exc:  # a provider or tool failure ends the session, never leaves it hanging
        log.exception("investigation failed", extra={"fields": {"session_id": session_id}})
        message = getattr(exc, "message", None) or f"{type(exc).__name__}: {exc}"
        _fail(session_id, request, message[:1000], "investigation_inconclusive", usage, llm_calls, model,
              started, observer.turn)
        return
    usage, llm_calls, tool_calls = outcome.usage, outcome.llm_calls, len(outcome.tool_calls)
    body = response.completed(session_id, request, outcome)

    def done(doc: dict[str, Any]) -> None:
        doc.update(result=body, progress="Investigation complete", rca_summary=body["root_cause"], turn=observer.turn,
                   total_prompt_tokens=usage.input_tokens, total_completion_tokens=usage.output_tokens)

    if sessions.transition(session_id, "completed", allowed_from=frozenset({"investigating"}), also=done) is None:
        current = sessions.get(session_id)
        if current is not None and sessions.public_status(current.doc) == "user_driving":
            return  # taken over at the last moment: the owner drives it now
        append(session_id, "cancelled", observer.turn, {"phase": "rca"})  # cancelled at the last moment
        _finish(session_id, request, "cancelled", usage, llm_calls, tool_calls, model, started)
        return
    append(session_id, "complete", observer.turn, {"status": "completed", "confidence": body["confidence"],
                                                   "investigation_outcome": body["investigation_outcome"]})
    _finish(session_id, request, "completed", usage, llm_calls, tool_calls, model, started)


def _fail(session_id: str, request: dict[str, Any], error: str, reason: str, usage: Usage, llm_calls: int,
          model: str | None, started: float, turn: int) -> None:
    def failed(doc: dict[str, Any]) -> None:
        doc.update(error=error, progress="Investigation failed",
                   result=response.synthesized(session_id, request, "failed", error, reason),
                   total_prompt_tokens=usage.input_tokens, total_completion_tokens=usage.output_tokens)

    if sessions.transition(session_id, "failed", allowed_from=frozenset({"investigating"}), also=failed) is None:
        return
    append(session_id, "error", turn, {"message": error})
    append(session_id, "complete", turn, {"status": "failed"})
    _finish(session_id, request, "failed", usage, llm_calls, 0, model, started)


def _finish(session_id: str, request: dict[str, Any], status: str, usage: Usage, llm_calls: int,
            tool_calls: int, model: str | None, started: float) -> None:
    metrics.record_investigation(FACADE, status, time.monotonic() - started, usage.input_tokens,
                                 usage.output_tokens, tool_calls)
    emit_audit(namespace=request["resource_namespace"], name=session_id, facade=FACADE, status=status,
               prompt_tokens=usage.input_tokens, completion_tokens=usage.output_tokens,
               incident_id=request["incident_id"], remediation_id=request["remediation_id"],
               llm_calls=llm_calls, tool_calls=tool_calls, model=model)
