"""Task workers and session transcripts: the session records and streams of `shared.memory.sessions`.

A task with `sessionRef` reads the session's transcript and appends its own messages through the
worker API; the session record (type "task" when a worker creates it) counts the messages and
names the task as its active one.
"""

from __future__ import annotations

import contextlib
from typing import Any

from shared.clock import now_rfc3339
from shared.errors import NotFound
from shared.memory.sessions import NOT_FOUND, append_message, sessions, transcript_lines, visible
from shared.store import AlreadyExists


def transcript_text(namespace: str, session: str) -> str:
    """The JSONL transcript; NotFound("session not found") for a missing or hidden session."""
    record = sessions.get(namespace, session)
    if not visible(record):
        raise NotFound(NOT_FOUND)
    return transcript_lines(record)


def append_messages(namespace: str, session: str, messages: list[dict[str, Any]], *, task: str = "") -> None:
    stamp = now_rfc3339()
    with contextlib.suppress(AlreadyExists):
        sessions.create(namespace, session, {"name": session, "namespace": namespace, "sessionType": "task",
                                             "messageCount": 0, "inputTokens": 0, "outputTokens": 0,
                                             "activeTask": task, "createdAt": stamp, "updatedAt": stamp})
    for message in messages:
        line = {"role": message["role"], "content": message.get("content", ""), "ts": message.get("ts") or stamp}
        for key in ("id", "name", "toolCalls", "toolCallID"):
            if message.get(key):
                line[key] = message[key]
        append_message(namespace, session, line)

    def count(doc: dict[str, Any]) -> None:
        doc["messageCount"] = int(doc.get("messageCount", 0)) + len(messages)
        doc["updatedAt"] = stamp
        if task:
            doc["activeTask"] = task

    sessions.update(namespace, session, count)
