"""Session transcripts: one ordered stream per session, one record per message.

A record is Orka's transcript line `{id, order, role, content, name, toolCalls, toolCallID, ts}`;
`GET /internal/v1/sessions/{ns}/{name}/transcript` returns them as NDJSON. Tasks with a
`sessionRef` append their conversation here through the worker API.
"""

from __future__ import annotations

import uuid
from typing import Any

from shared.clock import now_rfc3339
from shared.store import streams

PAGE = 100


def _stream(namespace: str, session: str) -> str:
    return f"transcript#{namespace}/{session}"


def append_messages(namespace: str, session: str, messages: list[dict[str, Any]]) -> None:
    for message in messages:
        line = {"id": message.get("id") or uuid.uuid4().hex, "role": message["role"],
                "content": message.get("content", ""), "ts": message.get("ts") or now_rfc3339()}
        for key in ("name", "toolCalls", "toolCallID"):
            if message.get(key):
                line[key] = message[key]
        line["order"] = streams.append(_stream(namespace, session), line)


def read_transcript(namespace: str, session: str) -> list[dict[str, Any]]:
    found, after = [], 0
    while True:
        batch = streams.read(_stream(namespace, session), after=after, limit=PAGE)
        found += [{**record, "order": seq} for seq, record in batch]
        if len(batch) < PAGE:
            return found
        after = batch[-1][0]
