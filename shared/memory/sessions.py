"""Session records (written by the chat orchestrator and task workers) and their transcripts.

A session is an ObjectStore("session") document named by its id:
`{name, namespace, sessionType, messageCount, inputTokens, outputTokens, activeTask, createdAt,
updatedAt, ...}`, optionally `activeUntil` (an RFC 3339 lease while a chat request runs) and
`transcriptKey` (a bucket key holding the JSONL transcript for long histories). Otherwise the
transcript is the stream `transcript_stream(namespace, name)`: one record per message
`{id, role, content, name, toolCalls, toolCallID, ts, ...}`, whose sequence is its `order`.
"""

from __future__ import annotations

import contextlib
import json
from datetime import UTC, datetime
from typing import Any

from shared.errors import Conflict, NotFound
from shared.models.phases import TERMINAL_PHASES
from shared.store import ObjectStore, Record, streams
from shared.store.blobs import delete_blob, get_blob
from shared.tasks.repository import tasks

sessions = ObjectStore("session")


NOT_FOUND = "session not found"
ACTIVE = "session has active work"
HIDDEN_TYPES = frozenset({"gateway"})
SUMMARY_FIELDS = ("sessionType", "messageCount", "inputTokens", "outputTokens", "activeTask", "createdAt",
                  "updatedAt")
_DEFAULTS: dict[str, Any] = {"sessionType": "chat", "messageCount": 0, "inputTokens": 0, "outputTokens": 0,
                             "activeTask": "", "createdAt": "", "updatedAt": ""}


def transcript_stream(namespace: str, name: str) -> str:
    return f"transcript#{namespace}#{name}"


def append_message(namespace: str, name: str, message: dict[str, Any]) -> int:
    """Append one transcript message (for the session's writers); its order."""
    return streams.append(transcript_stream(namespace, name), message)


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
    streams.delete(transcript_stream(namespace, name))
    if record.doc.get("transcriptKey"):
        with contextlib.suppress(Exception):
            delete_blob(record.doc["transcriptKey"])
