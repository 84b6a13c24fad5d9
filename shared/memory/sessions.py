"""Session records (written by the chat orchestrator and task workers) and their transcripts: the one
session model. Chat turns and task runs both go through `record_messages`, so the Sessions API, the
worker transcript route and transcript search see every conversation the same way.

A session is an ObjectStore("session") document named by its id:
`{name, namespace, sessionType, messageCount, inputTokens, outputTokens, activeTask, createdAt,
updatedAt, ...}`, optionally `activeUntil` (an RFC 3339 lease while a chat request runs) and
`transcriptKey` (a bucket key holding the JSONL transcript for long histories). Otherwise the
transcript is the stream `transcript_stream(namespace, name)`: one record per message
`{id, role, content, name, toolCalls, toolCallID, ts, ...}`, whose sequence is its `order`.
Chat sessions also keep `turns`, `llmCalls`, `provider`, `model` and `createdBy`; while a chat turn
runs, its lock (`locks`, taken by shared.chat.leases) makes the session active work.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from shared.clock import now_rfc3339
from shared.errors import Conflict, NotFound
from shared.models.phases import TERMINAL_PHASES
from shared.store import AlreadyExists, Companion, ObjectStore, Record, streams
from shared.store.blobs import delete_blob, get_blob
from shared.tasks.repository import tasks

sessions = ObjectStore("session")
# The per-session chat turn lock (acquired and renewed by shared.chat.leases): defined with the
# session model so "is this session busy" has one answer for chat and the Sessions API.
locks = ObjectStore("chatlock")


NOT_FOUND = "session not found"
ACTIVE = "session has active work"
HIDDEN_TYPES = frozenset({"gateway"})
SUMMARY_FIELDS = ("sessionType", "messageCount", "inputTokens", "outputTokens", "activeTask", "createdAt",
                  "updatedAt")
_DEFAULTS: dict[str, Any] = {"sessionType": "chat", "messageCount": 0, "inputTokens": 0, "outputTokens": 0,
                             "activeTask": "", "createdAt": "", "updatedAt": ""}


# One transcript line must fit a stream item (400 KB): longer content is cut with a note.
MAX_LINE_CHARS = 256_000
LINE_KEYS = ("id", "name", "toolCalls", "toolCallID")


def transcript_stream(namespace: str, name: str) -> str:
    return f"transcript#{namespace}#{name}"


def append_message(namespace: str, name: str, message: dict[str, Any]) -> int:
    """Append one transcript message (for the session's writers); its order."""
    return streams.append(transcript_stream(namespace, name), message)


def _cut(text: str, limit: int = MAX_LINE_CHARS) -> str:
    return text if len(text) <= limit else text[:limit] + f"… [{len(text) - limit} more characters not kept]"


def new_session_doc(namespace: str, name: str, session_type: str, *, active_task: str = "",
                    **fields: Any) -> dict[str, Any]:
    stamp = now_rfc3339()
    return {"name": name, "namespace": namespace, "sessionType": session_type, "messageCount": 0,
            "inputTokens": 0, "outputTokens": 0, "activeTask": active_task, "createdAt": stamp, "updatedAt": stamp,
            **fields}


def record_messages(namespace: str, name: str, messages: list[dict[str, Any]], *, session_type: str,
                    active_task: str = "", usage: dict[str, int] | None = None,
                    create_fields: dict[str, Any] | None = None,
                    mutate: Callable[[dict[str, Any]], None] | None = None,
                    companions: tuple[Companion, ...] = (), current: Record | None = None,
                    known: bool = False) -> Record:
    """Append `messages` (`{role, content, id?, name?, toolCalls?, toolCallID?, ts?}`) to the session's
    transcript and count them, creating the session (of `session_type`) when it is new. `usage`
    (`inputTokens`/`outputTokens`) is added to the totals; `mutate` edits the record further; the
    `companions` (e.g. a staged event) are written in the same transaction as the counters.

    `current`: the session as the caller just read it, used instead of reading it here (with `known`,
    None means the caller found no session). Four calls for an existing session (read, reserve the
    messages' numbers, write them in one batch, count), three when the caller passes what it read;
    the transcript is written before the counters."""
    record = current if current is not None or known else sessions.get(namespace, name)
    stamp = now_rfc3339()
    lines = []
    for message in messages:
        line: dict[str, Any] = {"role": message["role"], "content": _cut(str(message.get("content") or "")),
                                "ts": message.get("ts") or stamp}
        for key in LINE_KEYS:
            if message.get(key):
                line[key] = message[key]
        lines.append(line)
    streams.append_many(transcript_stream(namespace, name), lines)

    def count(doc: dict[str, Any]) -> None:
        doc["messageCount"] = int(doc.get("messageCount", 0)) + len(messages)
        for key in ("inputTokens", "outputTokens"):
            doc[key] = int(doc.get(key, 0)) + int((usage or {}).get(key, 0))
        doc["updatedAt"] = stamp
        if active_task:
            doc["activeTask"] = active_task
        if mutate is not None:
            mutate(doc)

    if record is None:  # a new session is created with its counts in one write
        doc = new_session_doc(namespace, name, session_type, active_task=active_task, **(create_fields or {}))
        count(doc)
        try:
            return sessions.create(namespace, name, doc, companions=companions)
        except AlreadyExists:
            pass  # a concurrent writer created it: count on theirs
    return sessions.update(namespace, name, count, not_found_message=NOT_FOUND, companions=lambda doc: companions,
                           current=record)


def transcript_entries(record: Record) -> list[dict[str, Any]]:
    """The transcript as parsed lines (what `transcript_lines` renders)."""
    return [json.loads(line) for line in transcript_lines(record).splitlines() if line.strip()]


def summary(record: Record) -> dict[str, Any]:
    doc = record.doc
    out = {"id": record.name, "name": record.name, "namespace": record.namespace}
    for key in SUMMARY_FIELDS:
        value = doc.get(key)
        out[key] = _DEFAULTS[key] if value is None else value
    return out


def visible(record: Record | None) -> bool:
    return record is not None and record.doc.get("sessionType") not in HIDDEN_TYPES


def transcript_lines(record: Record) -> str:
    """The transcript as JSONL: `{id, order, role, content, name, toolCalls, toolCallID, ..., ts}` per line."""
    key = record.doc.get("transcriptKey")
    if key:
        data = get_blob(key)
        return "" if data is None else data.decode("utf-8", errors="replace")
    lines, after = [], 0
    while True:
        batch = streams.read(transcript_stream(record.namespace, record.name), after=after, limit=500)
        for seq, message in batch:
            entry = {"id": message.get("id") or f"{record.name}-{seq}", "order": seq, **message}
            entry["order"] = seq
            lines.append(json.dumps(entry, separators=(",", ":")))
        if len(batch) < 500:
            return "".join(line + "\n" for line in lines)
        after = batch[-1][0]


def _has_active_work(record: Record) -> bool:
    if locks.get(record.namespace, record.name) is not None:  # a chat turn is running on it
        return True
    until = record.doc.get("activeUntil")
    if until:
        with contextlib.suppress(ValueError):
            if datetime.fromisoformat(until.replace("Z", "+00:00")) > datetime.now(UTC):
                return True
    active = record.doc.get("activeTask")
    if active:
        task = tasks.get(record.namespace, active)
        if task is not None and task.doc.get("status", {}).get("phase", "Pending") not in TERMINAL_PHASES:
            return True
    return False


def delete_session(namespace: str, name: str) -> None:
    record = sessions.get(namespace, name)
    if not visible(record):
        raise NotFound(NOT_FOUND)
    if _has_active_work(record):
        raise Conflict(ACTIVE)
    # Conditional on the version we checked: a session that became active meanwhile is not deleted.
    if not sessions.delete(namespace, name, expected_version=record.version):
        raise NotFound(NOT_FOUND)
    _drop_transcript(record)


def remove_session(namespace: str, name: str) -> bool:
    """Delete a session and its transcript whatever its state (the chat DELETE, once its turn has
    stopped); False when there was none."""
    record = sessions.get(namespace, name)
    if record is None or not sessions.delete(namespace, name):
        return False
    _drop_transcript(record)
    return True


def _drop_transcript(record: Record) -> None:
    streams.delete(transcript_stream(record.namespace, record.name))
    if record.doc.get("transcriptKey"):
        with contextlib.suppress(Exception):
            delete_blob(record.doc["transcriptKey"])
