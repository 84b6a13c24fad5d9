"""Search over the namespace's session transcripts: the one rule behind the `search_transcript` tool
and Orka's worker route `GET /internal/v1/sessions/<ns>/search`.

A case-insensitive substring match on message content, newest sessions' pages first (at most
MAX_SESSIONS_SEARCHED sessions are read: a request never scans the table), with a snippet of the
content around the first match.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from shared.memory import sessions

DEFAULT_LIMIT, MAX_LIMIT = 10, 50
DEFAULT_SNIPPET, MAX_SNIPPET = 300, 4000
MAX_SESSIONS_SEARCHED = 100


@dataclass(frozen=True)
class Hit:
    session: str
    message: dict[str, Any]
    snippet: str


def search(namespace: str, query: str, *, session_name: str = "", exclude_session_name: str = "",
           roles: set[str] | frozenset[str] = frozenset(), limit: int = DEFAULT_LIMIT,
           width: int = DEFAULT_SNIPPET) -> list[Hit]:
    if session_name:
        record = sessions.sessions.get(namespace, session_name)
        candidates = [record] if sessions.visible(record) else []
    else:
        records, _ = sessions.sessions.list_page(namespace, limit=MAX_SESSIONS_SEARCHED)
        candidates = [r for r in records if sessions.visible(r) and r.name != exclude_session_name]
    needle, hits = query.lower(), []
    for record in candidates:
        for line in sessions.transcript_lines(record).splitlines():
            message = json.loads(line)
            content = str(message.get("content") or "")
            if roles and message.get("role") not in roles:
                continue
            at = content.lower().find(needle)
            if at < 0:
                continue
            start = max(0, at - width // 2)
            hits.append(Hit(record.name, message, content[start:start + width]))
            if len(hits) >= limit:
                return hits
    return hits
