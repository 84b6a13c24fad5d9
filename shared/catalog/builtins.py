"""Metadata of the built-in worker tools, as `GET /api/v1/tools` lists them (Orka: 6 built-ins).

Only the metadata lives here; the implementations belong to the worker's tool set.
"""

from __future__ import annotations

from typing import Any

BUILTIN_TOOLS: tuple[dict[str, Any], ...] = (
    {"name": "web_search", "description": "Search the web via configurable API (Tavily, etc.)",
     "parameters": {"type": "object", "properties": {
         "query": {"type": "string", "description": "The search query"},
         "limit": {"type": "integer", "description": "Maximum number of results", "default": 5}},
         "required": ["query"]}},
    {"name": "code_exec", "description": "Execute code in a sandboxed environment",
     "parameters": {"type": "object", "properties": {
         "language": {"type": "string", "enum": ["python", "javascript", "bash"]},
         "code": {"type": "string", "description": "The code to run"},
         "timeout": {"type": "integer", "description": "Seconds, at most 60", "maximum": 60}},
         "required": ["language", "code"]}},
    {"name": "file_read", "description": "Read files from the workspace",
     "parameters": {"type": "object", "properties": {
         "path": {"type": "string"}, "offset": {"type": "integer"},
         "limit": {"type": "integer", "description": "Bytes to read, at most 1MB"}},
         "required": ["path"]}},
    {"name": "web_fetch", "description": "Fetch and extract URL content",
     "parameters": {"type": "object", "properties": {
         "url": {"type": "string"}, "max_chars": {"type": "integer", "default": 50000},
         "raw": {"type": "boolean", "default": False}},
         "required": ["url"]}},
    {"name": "file_write", "description": "Write or append files in workspace paths",
     "parameters": {"type": "object", "properties": {
         "path": {"type": "string"}, "content": {"type": "string"},
         "mode": {"type": "string", "enum": ["write", "append"], "default": "write"},
         "create_dirs": {"type": "boolean", "default": False}},
         "required": ["path", "content"]}},
    {"name": "request_approval", "description": "Ask a human to approve an action before continuing",
     "parameters": {"type": "object", "properties": {
         "action": {"type": "string", "description": "What needs approval"},
         "reason": {"type": "string"}},
         "required": ["action"]}},
)

BUILTIN_NAMES = frozenset(t["name"] for t in BUILTIN_TOOLS)


def builtin(name: str) -> dict[str, Any] | None:
    for tool in BUILTIN_TOOLS:
        if tool["name"] == name:
            return {"name": tool["name"], "builtin": True, "description": tool["description"],
                    "parameters": tool["parameters"]}
    return None
