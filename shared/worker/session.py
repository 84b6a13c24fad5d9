"""A task's `sessionRef`: prior conversation in, this run's messages out, through the worker API.

History is the last `maxMessages` user/assistant text lines of the session transcript (tool
exchanges are left out: a dangling tool call would be refused by the providers); with
`append` (default true) every message of this run is appended to the transcript afterwards.
"""

from __future__ import annotations

import json
from typing import Any

from shared.llm.base import Message
from shared.workerapi.client import InternalClient


def history(client: InternalClient, namespace: str, spec: dict[str, Any]) -> list[Message]:
    ref = spec.get("sessionRef") or {}
    if not ref.get("name"):
        return []
    response = client._http.get(f"/internal/v1/sessions/{namespace}/{ref['name']}/transcript")
    if response.status_code == 404:
        return []
    response.raise_for_status()
    lines = [json.loads(line) for line in response.text.splitlines() if line.strip()]
    texts = [Message(role=line["role"], content=line.get("content") or "") for line in lines
             if line.get("role") in ("user", "assistant") and line.get("content") and not line.get("toolCalls")]
    return texts[-int(ref.get("maxMessages", 50)):]


def save(client: InternalClient, namespace: str, spec: dict[str, Any], messages: list[Message],
         task: str = "") -> None:
    ref = spec.get("sessionRef") or {}
    if not ref.get("name") or ref.get("append") is False or not messages:
        return
    lines = []
    for message in messages:
        line: dict[str, Any] = {"role": message.role, "content": message.content}
        if message.name:
            line["name"] = message.name
        if message.tool_call_id:
            line["toolCallID"] = message.tool_call_id
        if message.tool_calls:
            line["toolCalls"] = [{"id": c.id, "name": c.name, "arguments": c.arguments} for c in message.tool_calls]
        lines.append(line)
    client._post(f"/internal/v1/sessions/{namespace}/{ref['name']}/transcript", json={"messages": lines, "taskName": task})
