"""One chat turn: runs the agent loop in its own thread, records every event, saves the session.

The turn owns its semaphore slot and session lock from start to finish and releases them on every
exit path (Keeper.stop in `_finish`). It does not depend on the HTTP response: a client that drops
the connection can come back with Last-Event-ID and find the rest of the turn in the stream.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from shared.agent.loop import LoopRules, run_agent
from shared.agent.tools import ToolRegistry
from shared.auth.principal import Principal
from shared.chat import sessions
from shared.chat.catalog_tools import (
    agent_summaries,
    discovery_tools,
    management_tools,
    tool_summaries,
    wants_management,
)
from shared.chat.guards import Guards, running_follow_up
from shared.chat.leases import Keeper, Lease
from shared.chat.limits import ChatLimits
from shared.chat.prompt import system_prompt
from shared.chat.stream import Emitter, StreamClosed
from shared.chat.task_tools import task_tools
from shared.chat.toolkit import ChatContext
from shared.events import build
from shared.events.outbox import deliver_staged, publish
from shared.llm.base import Message, Provider, ProviderError
from shared.logs import get_logger
from shared.models.phases import TERMINAL_PHASES
from shared.observability.metrics import record_chat_turn
from shared.tasks.repository import tasks

log = get_logger("chat")
DELTA_WINDOW = 0.05
DELTA_CHARS = 4096
OUT_OF_TIME = "I ran out of time. Here's what I accomplished so far."
# The answer when the tool-less summary call after the iteration limit fails (orka-behaviour.md §3).
ITERATION_LIMIT = "Reached iteration limit."
# How long the loop waits for the response to send `status` before it starts anyway (the turn never
# depends on the response; this only keeps the loop's work off the CPU while the first byte goes out).
FIRST_BYTE_GRACE = 0.1


class Stop(Exception):
    """The turn must end now: `reason` is "cancelled" or "timeout"."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass
class TurnRequest:
    principal: Principal
    namespace: str
    session_id: str
    message: str
    provider: Provider
    limits: ChatLimits
    temperature: float | None = None
    max_tokens: int = 4096
    system_extra: str | None = None


@dataclass
class TurnOutcome:
    status: str = "running"      # completed | failed | cancelled | timeout
    text: str = ""
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    usage: dict[str, int] = field(default_factory=lambda: {"inputTokens": 0, "outputTokens": 0, "llmCalls": 0})
    error: dict[str, str] | None = None


def _result_value(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


CONTEXT_ERRORS = ("context_length_exceeded", "maximum context length", "prompt is too long", "context window")


def is_context_overflow(exc: ProviderError) -> bool:
    return exc.status in (400, 413) and any(s in str(exc).lower() for s in CONTEXT_ERRORS)


class _Metered:
    """The turn's provider: counts usage as calls complete (so a turn that ends early still reports it),
    and when the model says the context is too long, shrinks the conversation once and retries."""

    def __init__(self, provider: Provider, usage: dict[str, int],
                 shrink: Callable[[list[Message]], None] | None = None) -> None:
        self._provider, self._usage, self._shrink = provider, usage, shrink
        self.name, self.kind, self.model = provider.name, provider.kind, provider.model

    def _count(self, completion: Any) -> None:
        self._usage["inputTokens"] += completion.usage.input_tokens
        self._usage["outputTokens"] += completion.usage.output_tokens
        self._usage["llmCalls"] += 1

    def complete(self, messages: list[Message], **kwargs: Any) -> Any:
        completion = self._provider.complete(messages, **kwargs)
        self._count(completion)
        return completion

    def stream(self, messages: list[Message], **kwargs: Any) -> Any:
        retried = False
        while True:
            produced = False
            try:
                for event in self._provider.stream(messages, **kwargs):
                    produced = True
                    if event.completion is not None:
                        self._count(event.completion)
                    yield event
                return
            except ProviderError as exc:
                # `messages` is the loop's own list: shrinking it in place is what the next call sends.
                if retried or produced or self._shrink is None or not is_context_overflow(exc):
                    raise
                retried = True
                self._shrink(messages)


class Turn:
    def __init__(self, request: TurnRequest, emitter: Emitter, leases: list[Lease]) -> None:
        self.req = request
        self.emitter = emitter
        self.cancelled = threading.Event()
        self.finished = threading.Event()
        self.first_byte_sent = threading.Event()  # set by the response (or at once when there is none)
        self.outcome = TurnOutcome()
        self._finish_lock = threading.Lock()
        self._keeper = Keeper(leases, ttl=request.limits.lease, cancelled=self.cancelled, on_cancel=self._on_cancel)
        self._session_lock = next((lease for lease in leases if lease.keep is not None), None)  # the session lock
        self._deadline = time.monotonic() + request.limits.max_duration
        self._started = time.monotonic()
        self._pending: list[str] = []
        self._user: Message | None = None  # this turn's user message: it and what follows are saved
        self._pending_chars = 0
        self._pending_since = 0.0  # when the oldest unsent delta arrived
        self._session: Any = None  # the session record as this turn read it (None: there was none)
        self._session_read = False
        self.ctx = ChatContext(principal=request.principal, namespace=request.namespace,
                               session_id=request.session_id, turn_id=uuid.uuid4().hex,
                               max_tasks_per_turn=request.limits.max_tasks_per_turn,
                               tool_timeout=request.limits.tool_timeout,
                               blocked_namespaces=request.limits.blocked_namespaces)

    # -- lifecycle ---------------------------------------------------------------------------------
    def start(self) -> Turn:
        """Emit `status` (so the first SSE byte goes out at once) and run the loop in the background."""
        self._keeper.start()
        try:
            self.emitter.emit("status", {"provider": self.req.provider.kind, "model": self.req.provider.model})
        except Exception:
            self._keeper.stop()
            self.emitter.close()
            raise
        threading.Thread(target=self._run, daemon=True, name=f"chat-{self.req.session_id}").start()
        return self

    def checkpoint(self) -> None:
        if self.cancelled.is_set():
            raise Stop("cancelled")
        if time.monotonic() >= self._deadline:
            raise Stop("timeout")

    def _on_cancel(self) -> None:
        """From the keeper thread: a DELETE asked for this turn to stop; end it now, not at the next step."""
        self._finish("cancelled", error={"code": "cancelled", "message": "chat session was cancelled"}, wait=False)

    # -- the loop ----------------------------------------------------------------------------------
    def _registry(self) -> ToolRegistry:
        tools = task_tools(self.ctx) + discovery_tools(self.ctx)
        if wants_management(self.req.message):
            tools += management_tools(self.ctx)
        return ToolRegistry(tools)

    def _flush_text(self) -> None:
        if self._pending:
            text, self._pending, self._pending_chars = "".join(self._pending), [], 0
            self.emitter.emit("message", {"content": text})

    def _observe(self, kind: str, data: dict[str, Any]) -> None:
        self.checkpoint()
        if kind == "delta":
            # Deltas are coalesced: one stored event per DELTA_WINDOW seconds from the first unsent one, not
            # one per token, so a reply the model streams within the window is one event.
            if not self._pending:
                self._pending_since = time.monotonic()
            self._pending.append(data["content"])
            self._pending_chars += len(data["content"])
            if time.monotonic() - self._pending_since >= DELTA_WINDOW or self._pending_chars >= DELTA_CHARS:
                self._flush_text()
            return
        self._flush_text()
        if kind == "tool_call":
            self.emitter.emit("tool_call", {"toolCall": {"id": data["id"], "name": data["name"], "args": data["args"]}})
        elif kind == "tool_result":
            self.emitter.emit("tool_result", {"toolCall": {"id": data["id"], "name": data["name"],
                                                           "result": _result_value(data["result"])}})

    def _still_running(self) -> bool:
        terminal = TERMINAL_PHASES | {"Scheduled"}
        for namespace, name in list(self.ctx.tasks_created):
            record = tasks.get(namespace, name)
            if record is not None and record.doc.get("status", {}).get("phase", "Pending") not in terminal:
                return True
        return False

    def _run(self) -> None:
        req, limits = self.req, self.req.limits
        self.first_byte_sent.wait(FIRST_BYTE_GRACE)
        try:
            prompt = system_prompt(namespace=req.namespace, max_tasks=limits.max_tasks_per_turn,
                                   agents=agent_summaries(req.namespace), tools=tool_summaries(req.namespace),
                                   extra=req.system_extra)
            # The history is read here, after `status` went out: a long one comes from the bucket.
            self._session = sessions.sessions.get(req.namespace, req.session_id)  # saved on, at the end
            self._session_read = True
            history = sessions.history(self._session)
            self._user = Message(role="user", content=req.message)
            messages = [Message(role="system", content=prompt), *history, self._user]
            guards = Guards(max_session_size=limits.max_session_size, protected_user=len(messages) - 1,
                            checkpoint=self.checkpoint,
                            seen_assistant=sum(1 for m in messages if m.role == "assistant"))
            provider = _Metered(req.provider, self.outcome.usage, shrink=guards.halve)
            result = run_agent(provider, messages, tools=self._registry(), max_iterations=limits.max_iterations,
                               tool_timeout=limits.tool_timeout, max_tokens=req.max_tokens,
                               temperature=req.temperature, observe=self._observe, stream=True,
                               rules=LoopRules(before_call=guards.before_call,
                                                follow_up=running_follow_up(self._still_running),
                                                exhausted_fallback=ITERATION_LIMIT))
            self._flush_text()
            self._account(result)
            self._finish("completed", text=result.text, messages=result.messages)
        except Stop as stop:
            if stop.reason == "timeout":
                self._finish("timeout", text=OUT_OF_TIME, say=OUT_OF_TIME)
            else:
                self._finish("cancelled", error={"code": "cancelled", "message": "chat session was cancelled"})
        except StreamClosed:
            pass  # already finished by a cancellation
        except ProviderError as exc:
            self._finish("failed", error={"code": "provider_error", "message": str(exc)})
        except Exception as exc:
            log.exception("chat turn failed", extra={"fields": {"session": req.session_id}})
            self._finish("failed", error={"code": "internal_error", "message": f"chat turn failed: {type(exc).__name__}"})

    def _account(self, result: Any) -> None:
        self.outcome.tool_calls = [{"name": c["name"], "args": c["args"], "result": _result_value(c["result"])}
                                   for c in result.tool_calls]

    def _finish(self, status: str, *, text: str = "", say: str | None = None, messages: list[Message] | None = None,
                error: dict[str, str] | None = None, wait: bool = True) -> None:
        """End the turn exactly once: save, emit error, release the leases, emit done, announce.

        The leases go before `done`, so a client that sends its next message on `done` never gets 409.
        """
        if not self._finish_lock.acquire(blocking=wait):
            return  # the other thread is finishing the turn
        try:
            if self.finished.is_set():
                return
            self.outcome.status, self.outcome.text, self.outcome.error = status, text, error
            saved = None
            try:
                if say:
                    self.emitter.emit("message", {"content": say})
                if messages and status == "completed":  # a timed-out or cancelled turn saves nothing
                    from shared.events.outbox import staged  # bound per call: tests replace outbox.staged

                    # The turn's event is stored with the conversation, so a crash cannot lose it.
                    saved = sessions.save_turn(
                        self.req.namespace, self.req.session_id, self.req.principal.subject, self._new(messages),
                        provider=self.req.provider.kind, model=self.req.provider.model, usage=self.outcome.usage,
                        companions=(staged(self._turn_event()),), current=self._session,
                        known=self._session_read)
            except Exception as exc:  # a turn that ran but could not be saved is a failed turn
                log.exception("chat session save failed", extra={"fields": {"session": self.req.session_id}})
                error = {"code": "internal_error", "message": f"saving the session failed: {type(exc).__name__}"}
                self.outcome.status, self.outcome.error = "failed", error
            try:
                if error:
                    self.emitter.emit("error", {"error": error})
            except Exception:
                log.exception("chat stream write failed", extra={"fields": {"session": self.req.session_id}})
            if self._session_lock is not None:  # the next turn continues the stream after this one's `done`
                self._session_lock.keep = self.emitter.handoff(following=1) or self._session_lock.keep
            self._keeper.stop()
            try:
                self.emitter.emit("done", {"usage": self.outcome.usage})
            except Exception:
                log.exception("chat stream write failed", extra={"fields": {"session": self.req.session_id}})
            finally:
                self.emitter.close()
            self._announce(saved)
            record_chat_turn(self.outcome.status)
            self.finished.set()
        finally:
            self._finish_lock.release()

    def _new(self, messages: list[Message]) -> list[Message]:
        """This turn's messages (its user message onwards): the history is in the transcript already.
        Truncation never drops the current user message, so it is found by identity."""
        at = next((i for i, m in enumerate(messages) if m is self._user), None)
        if at is not None:
            return messages[at:]
        return [m for m in (self._user, messages[-1]) if m is not None]

    def _turn_event(self) -> Any:
        from shared.events.registry import data_for  # the event catalogue's models: with the first event

        data = data_for("dev.shoal.chat.turn.completed", namespace=self.req.namespace, name=self.req.session_id,
                        status=self.outcome.status, provider=self.req.provider.kind,
                        model=self.req.provider.model, usage=self.outcome.usage,
                        tasksCreated=[n for _, n in self.ctx.tasks_created],
                        durationSeconds=round(time.monotonic() - self._started, 3))
        return build("dev.shoal.chat.turn.completed", data, subject=f"{self.req.namespace}/{self.req.session_id}")

    def _announce(self, saved: Any) -> None:
        """A saved turn's event was staged with the save: deliver it; other turns publish theirs now."""
        try:
            if saved is not None and saved.companions:
                deliver_staged(saved)
            else:
                publish(self._turn_event())
        except Exception:
            log.exception("event emit failed", extra={"fields": {"type": "dev.shoal.chat.turn.completed"}})

    def wait(self, timeout: float | None = None) -> bool:
        return self.finished.wait(timeout)
