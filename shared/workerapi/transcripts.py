"""Task workers and session transcripts: the session records and streams of `shared.memory.sessions`.

A task with `sessionRef` reads the session's transcript and appends its own messages through the
worker API; the session record (type "task" when a worker creates it) counts the messages and
names the task as its active one.
"""

from __future__ import annotations

from typing import Any

from shared.errors import NotFound
from shared.memory.sessions import NOT_FOUND, record_messages, sessions, transcript_lines, visible


def transcript_text(namespace: str, session: str) -> str:
    """The JSONL transcript; NotFound("session not found") for a missing or hidden session."""
    record = sessions.get(namespace, session)
    if not visible(record):
        raise NotFound(NOT_FOUND)
    return transcript_lines(record)


def append_messages(namespace: str, session: str, messages: list[dict[str, Any]], *, task: str = "") -> None:
    record_messages(namespace, session, messages, session_type="task", active_task=task)
