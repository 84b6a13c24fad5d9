"""The worker's built-in tools (web_search, code_exec, file_read, file_write, web_fetch)."""

from __future__ import annotations

from pathlib import Path

from shared.agent.builtin.code_exec import code_exec_tool
from shared.agent.builtin.files import file_read_tool, file_write_tool
from shared.agent.builtin.web import web_fetch_tool, web_search_tool
from shared.agent.tools import Tool

BUILTIN_NAMES = ("web_search", "code_exec", "file_read", "web_fetch", "file_write")


def builtin_tools(workspace: Path, names: tuple[str, ...] | list[str] | None = None) -> list[Tool]:
    """The built-ins (all, or those named), with file tools confined to `workspace`."""
    every = {"web_search": web_search_tool(), "code_exec": code_exec_tool(), "file_read": file_read_tool(workspace),
             "web_fetch": web_fetch_tool(), "file_write": file_write_tool(workspace)}
    wanted = names if names is not None else BUILTIN_NAMES
    return [every[n] for n in BUILTIN_NAMES if n in wanted]
