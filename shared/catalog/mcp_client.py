"""Call MCP servers over streamable HTTP with the official `mcp` SDK, through the SSRF-guarded client.

The SDK (and anyio) load on the first MCP call, never at import of a route module. Each call opens
one short session (initialize → list_tools / call_tool → close): workers are short-lived and a
tool call must not hold a connection across the agent loop's iterations.
"""

from __future__ import annotations

from typing import Any

from shared.net.outbound import outbound_async_client


async def _with_session(endpoint: str, headers: dict[str, str], timeout: float, action):
    import httpx
    from mcp import ClientSession
    from mcp.client.streamable_http import streamable_http_client

    client = outbound_async_client(timeout=httpx.Timeout(timeout, read=timeout), headers=headers)
    async with client, streamable_http_client(endpoint, http_client=client) as (read, write, _), \
            ClientSession(read, write) as session:
        await session.initialize()
        return await action(session)


def _run(coro) -> Any:
    import asyncio  # ~10 ms at a cold start of every function that routes tool calls; used only here

    # Tools run in the agent loop's worker threads, which have no event loop of their own.
    return asyncio.run(coro)


def list_tools(endpoint: str, *, headers: dict[str, str] | None = None, timeout: float = 30.0
               ) -> list[dict[str, Any]]:
    """`[{name, description, inputSchema}]` of the server's tools."""
    async def action(session):
        result = await session.list_tools()
        return [{"name": t.name, "description": t.description or "", "inputSchema": t.inputSchema or {}}
                for t in result.tools]

    return _run(_with_session(endpoint, headers or {}, timeout, action))


def call_tool(endpoint: str, name: str, arguments: dict[str, Any], *, headers: dict[str, str] | None = None,
              timeout: float = 30.0) -> tuple[bool, str]:
    """(is_error, text) of a `tools/call`: text blocks joined, structured content as JSON."""
    import json

    async def action(session):
        result = await session.call_tool(name, arguments)
        parts = []
        for block in result.content:
            text = getattr(block, "text", None)
            parts.append(text if text is not None else json.dumps(block.model_dump(mode="json"), default=str))
        if not parts and getattr(result, "structuredContent", None) is not None:
            parts.append(json.dumps(result.structuredContent, default=str))
        return bool(result.isError), "\n".join(parts)

    return _run(_with_session(endpoint, headers or {}, timeout, action))
