"""Chat sessions in the objects table (kind "session", type "chat"; long histories go to the bucket).

Sessions keep message summaries, not full tool outputs (orka-chat.txt "Session Management"): a
tool result is stored cut to SUMMARY_CHARS.
"""

from __future__ import annotations

import re
import secrets
from typing import Any

from shared.clock import now_rfc3339
from shared.errors import Invalid
from shared.llm.base import Message, ToolCall
from shared.store import Companion, ObjectStore, Record

sessions = ObjectStore("session")
PREFIX = "chat-session-"
SUMMARY_CHARS = 1024
SESSION_NOT_FOUND = "chat session not found"
# A session id is also a label value (`orka.ai/chat-session`): at most 63 characters of [A-Za-z0-9._-].
_ID = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?$")


def new_session_id() -> str:
    return f"{PREFIX}{secrets.token_hex(4)}"


def check_session_id(value: Any) -> str:
    if not isinstance(value, str) or not _ID.match(value):
        raise Invalid("invalid sessionId")
    return value


def summarise(text: str, limit: int = SUMMARY_CHARS) -> str:
    if len(text) <= limit:
        return text
    return text[:limit] + f"… [{len(text) - limit} more characters not kept]"


def to_doc(message: Message) -> dict[str, Any]:
    doc: dict[str, Any] = {"role": message.role, "content": message.content}
    if message.tool_calls:
        doc["toolCalls"] = [{"id": c.id, "name": c.name, "args": c.arguments} for c in message.tool_calls]
    if message.tool_call_id:
        doc["toolCallId"] = message.tool_call_id
        doc["content"] = summarise(message.content)
    if message.name:
        doc["name"] = message.name
    return doc


def from_doc(doc: dict[str, Any]) -> Message:
    return Message(role=doc["role"], content=doc.get("content", ""),
                   tool_calls=[ToolCall(c["id"], c["name"], c.get("args", {})) for c in doc.get("toolCalls", [])],
                   tool_call_id=doc.get("toolCallId"), name=doc.get("name"))


def history(record: Record | None) -> list[Message]:
    return [from_doc(m) for m in (record.doc.get("messages", []) if record else [])]


def new_doc(namespace: str, session_id: str, subject: str) -> dict[str, Any]:
    return {"apiVersion": "shoal.dev/v1", "kind": "Session",
            "metadata": {"name": session_id, "namespace": namespace, "creationTimestamp": now_rfc3339(),
                         "createdBy": subject},
            "spec": {"type": "chat"}, "messages": [],
            "status": {"turns": 0, "usage": {"inputTokens": 0, "outputTokens": 0, "llmCalls": 0}}}


def save_turn(namespace: str, session_id: str, subject: str, messages: list[Message], *, provider: str,
              model: str, usage: dict[str, int], companions: tuple[Companion, ...] = ()) -> Record:
    """Store the conversation (the caller leaves out the system prompt) after a turn; creates it if new.
    `companions` (the turn's event) are written in the same transaction."""
    stored = [to_doc(m) for m in messages]

    def mutate(doc: dict[str, Any]) -> None:
        doc["messages"] = stored
        status = doc.setdefault("status", {})
        status["turns"] = int(status.get("turns", 0)) + 1
        status["provider"], status["model"] = provider, model
        status["lastActivity"] = now_rfc3339()
        total = status.setdefault("usage", {"inputTokens": 0, "outputTokens": 0, "llmCalls": 0})
        for key in ("inputTokens", "outputTokens", "llmCalls"):
            total[key] = int(total.get(key, 0)) + int(usage.get(key, 0))

    if sessions.get(namespace, session_id) is None:
        doc = new_doc(namespace, session_id, subject)
        mutate(doc)
        return sessions.create(namespace, session_id, doc, exists_message="chat session already exists",
                               companions=companions)
    return sessions.update(namespace, session_id, mutate, not_found_message=SESSION_NOT_FOUND,
                           companions=lambda doc: companions)
