"""Chat conversations are sessions of the one session model (`shared.memory.sessions`, type "chat").

A turn appends its new messages to the session's JSONL transcript and adds its usage to the
record's counters, so the Sessions API, the worker transcript route and transcript search read chat
sessions like any other. The next turn's history is read back from that transcript.

Sessions keep message summaries, not full tool outputs (orka-chat.txt "Session Management"): a
tool result is stored cut to SUMMARY_CHARS.
"""

from __future__ import annotations

import re
import secrets
from typing import Any

from shared.errors import Invalid
from shared.llm.base import Message, ToolCall
from shared.memory.sessions import record_messages, remove_session, sessions, transcript_entries
from shared.store import Companion, Record

__all__ = ["sessions", "remove_session"]

PREFIX = "chat-session-"
SUMMARY_CHARS = 1024
SESSION_NOT_FOUND = "chat session not found"
# A session id is also a label value (`orka.ai/chat-session`): at most 63 characters of [A-Za-z0-9._-].
_ID = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?$")
INVALID_ID = ("invalid sessionId: at most 63 letters, digits, '.', '_' or '-', beginning and ending with a "
              "letter or digit")


def new_session_id() -> str:
    return f"{PREFIX}{secrets.token_hex(4)}"


def check_session_id(value: Any) -> str:
    if not isinstance(value, str) or not _ID.match(value):
        raise Invalid(INVALID_ID)
    return value


def summarise(text: str, limit: int = SUMMARY_CHARS) -> str:
    if len(text) <= limit:
        return text
    return text[:limit] + f"… [{len(text) - limit} more characters not kept]"


def to_line(message: Message) -> dict[str, Any]:
    """A transcript line (`{role, content, toolCalls?, toolCallID?, name?}`) for a chat message."""
    line: dict[str, Any] = {"role": message.role, "content": message.content}
    if message.tool_calls:
        line["toolCalls"] = [{"id": c.id, "name": c.name, "args": c.arguments} for c in message.tool_calls]
    if message.tool_call_id:
        line["toolCallID"] = message.tool_call_id
        line["content"] = summarise(message.content)
    if message.name:
        line["name"] = message.name
    return line


def from_line(line: dict[str, Any]) -> Message:
    # Task workers write `arguments` (shared.worker.session), chat writes `args`.
    calls = [ToolCall(c["id"], c["name"], c.get("args", c.get("arguments")) or {}) for c in line.get("toolCalls") or []]
    return Message(role=line["role"], content=line.get("content") or "", tool_calls=calls,
                   tool_call_id=line.get("toolCallID") or line.get("toolCallId"), name=line.get("name"))


def history(record: Record | None) -> list[Message]:
    """The conversation so far, from the session's transcript."""
    return [from_line(line) for line in transcript_entries(record)] if record is not None else []


def save_turn(namespace: str, session_id: str, subject: str, messages: list[Message], *, provider: str,
              model: str, usage: dict[str, int], companions: tuple[Companion, ...] = (),
              current: Record | None = None, known: bool = False) -> Record:
    """Append the turn's new messages (its user message onwards) and count the turn; creates the session
    if new. `companions` (the turn's event) are written with the counters, in one transaction.
    `current`: the session as the turn read it (`known`: None means there was none); its version still
    guards the write."""
    def account(doc: dict[str, Any]) -> None:
        doc["turns"] = int(doc.get("turns", 0)) + 1
        doc["llmCalls"] = int(doc.get("llmCalls", 0)) + int(usage.get("llmCalls", 0))
        doc["provider"], doc["model"] = provider, model

    return record_messages(namespace, session_id, [to_line(m) for m in messages], session_type="chat",
                           usage=usage, create_fields={"createdBy": subject}, mutate=account,
                           companions=companions, current=current, known=known)
