"""Stuck-state detection and context control for the chat loop (orka-behaviour §3, loop steps 3-6).

- repetition: the 3rd (and later) identical call (same name and arguments) adds a 5-iteration
  penalty and, after the results, a warning to the model;
- progress: every 5 iterations the model is asked to summarise;
- truncation: past the session size the oldest tool-call exchanges are dropped (the first user
  message always stays) and a note says what went;
- follow-up: a model that stops while tasks it created still run is told to keep waiting.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field

from shared.agent.loop import AgentResult
from shared.llm.base import Message

REPEAT_LIMIT = 3
REPEAT_PENALTY = 5
PROGRESS_EVERY = 5
PROGRESS_NOTE = "[System: Progress check — summarize what you've done so far and what remains.]"
RUNNING_NOTE = ("[System: You have tasks still running. Do NOT stop. Call wait_for_task again to wait for "
                "them, then report their results.]")
TRUNCATED_PREFIX = "[Earlier conversation truncated"


def call_key(name: str, args: dict) -> str:
    return hashlib.sha256((name + json.dumps(args, sort_keys=True, separators=(",", ":"))).encode()).hexdigest()[:16]


def size_of(message: Message) -> int:
    extra = sum(len(c.name) + len(json.dumps(c.arguments)) for c in message.tool_calls)
    return len(message.content) + extra


@dataclass
class Guards:
    max_session_size: int
    protected_user: int               # index of the current turn's user message in the loop's list
    checkpoint: Callable[[], None]    # raises when the turn must stop (deadline, cancellation)
    counts: dict[str, int] = field(default_factory=dict)
    seen_assistant: int = 0
    last_progress: int = 0
    dropped: int = 0
    dropped_tools: set[str] = field(default_factory=set)
    warnings: int = 0

    # -- run_agent's before_call hook --------------------------------------------------------------
    def before_call(self, result: AgentResult) -> None:
        self.checkpoint()
        self._repetition(result)
        if result.iterations > 0 and result.iterations % PROGRESS_EVERY == 0 and result.iterations != self.last_progress:
            self.last_progress = result.iterations
            result.messages.append(Message(role="user", content=PROGRESS_NOTE))
        self._truncate(result.messages)

    def _repetition(self, result: AgentResult) -> None:
        assistants = [m for m in result.messages if m.role == "assistant"]
        fresh, self.seen_assistant = assistants[self.seen_assistant:], len(assistants)
        for message in fresh:
            for call in message.tool_calls:
                key = call_key(call.name, call.arguments)
                self.counts[key] = self.counts.get(key, 0) + 1
                if self.counts[key] >= REPEAT_LIMIT:
                    result.iterations += REPEAT_PENALTY
                    self.warnings += 1
                    result.messages.append(Message(role="user", content=(
                        f"[System: Warning — you have called {call.name} with the same arguments "
                        f"{self.counts[key]} times. Try a different approach.]")))

    def halve(self, messages: list[Message]) -> None:
        """The provider said the context is too long: truncate once more at half the budget."""
        self._truncate(messages, budget=self.max_session_size // 2)

    def _truncate(self, messages: list[Message], budget: int | None = None) -> None:
        """Drop the oldest exchanges (after the system prompt and first user message) until under budget."""
        limit = budget if budget is not None else self.max_session_size
        if sum(size_of(m) for m in messages[1:]) <= limit:
            return
        head = messages[:2]  # system prompt, first user message
        rest = [m for m in messages[2:] if not (m.role == "system" and m.content.startswith(TRUNCATED_PREFIX))]
        current = messages[self.protected_user] if self.protected_user < len(messages) else None
        blocks: list[list[Message]] = []
        for m in rest:
            if m.role == "tool" and blocks:
                blocks[-1].append(m)  # tool results stay with the call that asked for them
            else:
                blocks.append([m])
        budget = limit - sum(size_of(m) for m in head) - 200
        while blocks and sum(size_of(m) for b in blocks for m in b) > budget:
            victim = next((b for b in blocks[:-1] if b[0] is not current), None)
            if victim is None:
                break
            blocks.remove(victim)
            if victim[0].tool_calls:
                self.dropped += 1
                self.dropped_tools.update(c.name for c in victim[0].tool_calls)
        note = Message(role="system", content=(
            f"{TRUNCATED_PREFIX} ({self.dropped} tool-call exchanges dropped).\n"
            f"Tools used: {', '.join(sorted(self.dropped_tools)) or 'none'}\n"
            "Use list_tasks to check completed work.]"))
        kept = [m for b in blocks for m in b]
        messages[:] = head + [note] + kept
        if current is not None:
            self.protected_user = next(i for i, m in enumerate(messages) if m is current)
        self.seen_assistant = sum(1 for m in messages if m.role == "assistant")


def running_follow_up(still_running: Callable[[], bool]) -> Callable[[AgentResult], str | None]:
    """run_agent's follow_up hook: keep going while tasks created this turn have not finished."""
    def follow_up(result: AgentResult) -> str | None:
        return RUNNING_NOTE if still_running() else None

    return follow_up
