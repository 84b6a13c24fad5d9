"""A scripted coding agent speaking ACP on stdio (the agent side of the `acp` SDK), for tests.

It behaves like a runtime at the protocol boundary: it reaches its model through
`ANTHROPIC_BASE_URL` with `ANTHROPIC_API_KEY` (as Claude Code does), publishes a plan, asks
permission before editing, writes through the client's `fs/write_text_file`, reports the tool
call with a diff, and answers. What it does is chosen by words in the prompt:
    WRITE <path>      ask the model for the file's content and write it (default: hello.txt)
    OUTSIDE           also try to edit /etc/shoal-test (the client must deny it)
    HANG              wait until cancelled (session/cancel), then end the turn "cancelled"
    CRASH             exit with code 3 in the middle of the turn
    NOMODEL           skip the model call (the file gets a fixed text)
`install(bin_dir, name)` puts it on a runtimes folder's `.bin` under a runtime's binary name.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import stat
import sys
import urllib.request
from pathlib import Path
from typing import Any


def install(bin_dir: Path, name: str) -> Path:
    bin_dir.mkdir(parents=True, exist_ok=True)
    path = bin_dir / name
    root = Path(__file__).resolve().parents[2]
    path.write_text(f"#!/bin/sh\nPYTHONPATH={root} exec {sys.executable} {Path(__file__).resolve()} \"$@\"\n")
    path.chmod(path.stat().st_mode | stat.S_IEXEC | stat.S_IXGRP | stat.S_IXOTH)
    return path


def _ask_model(prompt: str) -> str:
    """One Anthropic Messages call through the base URL the client configured (Shoal's compat proxy)."""
    base = os.environ["ANTHROPIC_BASE_URL"].rstrip("/")
    body = json.dumps({"model": os.environ.get("ANTHROPIC_MODEL", "claude-sonnet-4-5"), "max_tokens": 256,
                       "messages": [{"role": "user", "content": prompt}]}).encode()
    request = urllib.request.Request(f"{base}/v1/messages", data=body, method="POST", headers={
        "x-api-key": os.environ["ANTHROPIC_API_KEY"], "anthropic-version": "2023-06-01",
        "content-type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - loopback test server
        answer = json.loads(response.read())
    return "".join(block.get("text", "") for block in answer.get("content", []) if block.get("type") == "text")


class ScriptedAgent:
    def __init__(self) -> None:
        self.conn: Any = None
        self.cwd = "."
        self.cancelled: asyncio.Event | None = None

    def on_connect(self, conn: Any) -> None:
        self.conn = conn

    async def initialize(self, protocol_version: int, client_capabilities: Any = None, client_info: Any = None,
                         **_: Any) -> Any:
        from acp.schema import AgentCapabilities, InitializeResponse

        self.fs_write = bool(client_capabilities and client_capabilities.fs and client_capabilities.fs.write_text_file)
        return InitializeResponse(protocol_version=protocol_version, agent_capabilities=AgentCapabilities())

    async def new_session(self, cwd: str, mcp_servers: Any = None, **_: Any) -> Any:
        from acp.schema import NewSessionResponse

        self.cwd = cwd
        return NewSessionResponse(session_id="scripted-1")

    async def cancel(self, session_id: str, **_: Any) -> None:
        if self.cancelled is not None:
            self.cancelled.set()

    async def _update(self, session_id: str, update: Any) -> None:
        await self.conn.session_update(session_id=session_id, update=update)

    async def _edit(self, session_id: str, call_id: str, path: str, content: str) -> bool:
        from acp import start_edit_tool_call, tool_diff_content, update_tool_call
        from acp.schema import PermissionOption, ToolCallUpdate

        await self._update(session_id, start_edit_tool_call(call_id, f"Write {path}", path, content))
        answer = await self.conn.request_permission(session_id=session_id, tool_call=ToolCallUpdate(
            tool_call_id=call_id, title=f"Write {path}", kind="edit", raw_input={"file_path": path}), options=[
            PermissionOption(option_id="allow", name="Allow", kind="allow_once"),
            PermissionOption(option_id="reject", name="Reject", kind="reject_once")])
        if getattr(answer.outcome, "outcome", None) != "selected" or answer.outcome.option_id != "allow":
            await self._update(session_id, update_tool_call(call_id, status="failed"))
            return False
        await self.conn.write_text_file(session_id=session_id, path=path, content=content)
        await self._update(session_id, update_tool_call(call_id, status="completed",
                                                        content=[tool_diff_content(path, content)]))
        return True

    async def prompt(self, session_id: str, prompt: list[Any], **_: Any) -> Any:
        from acp import plan_entry, update_agent_message_text, update_plan
        from acp.schema import PromptResponse

        text = " ".join(getattr(block, "text", "") for block in prompt)
        target = re.search(r"WRITE (\S+)", text)
        path = str(Path(self.cwd) / (target.group(1) if target else "hello.txt"))
        await self._update(session_id, update_plan([plan_entry("Ask the model", status="in_progress"),
                                                    plan_entry("Write the file")]))
        if "CRASH" in text:
            os._exit(3)
        if "HANG" in text:
            self.cancelled = asyncio.Event()
            await self._update(session_id, update_agent_message_text("Working on it"))
            await self.cancelled.wait()
            return PromptResponse(stop_reason="cancelled")
        content = "fixed content\n" if "NOMODEL" in text else _ask_model(text) + "\n"
        await self._update(session_id, update_plan([plan_entry("Ask the model", status="completed"),
                                                    plan_entry("Write the file", status="in_progress")]))
        wrote = await self._edit(session_id, "call-1", path, content)
        if "OUTSIDE" in text:
            await self._edit(session_id, "call-2", "/etc/shoal-test", "nope\n")
        await self._update(session_id, update_plan([plan_entry("Ask the model", status="completed"),
                                                    plan_entry("Write the file", status="completed")]))
        message = f"Wrote {Path(path).name}" if wrote else "Could not write the file"
        for chunk in (message[:5], message[5:]):
            await self._update(session_id, update_agent_message_text(chunk))
        return PromptResponse(stop_reason="end_turn")


async def _main() -> None:
    from acp import run_agent

    await run_agent(ScriptedAgent())


if __name__ == "__main__":
    asyncio.run(_main())
