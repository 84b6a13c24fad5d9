"""A fake MCP server over streamable HTTP (the official SDK's FastMCP under uvicorn, in a thread).

Tools: `echo(message)` returns "echo: <message>"; `repo-inspector(message)` returns repository
facts; `fail()` returns an MCP error result. Every HTTP request's headers are recorded in
`.requests` so tests can assert on injected credentials.
"""

from __future__ import annotations

import socket
import threading
import time
from typing import Any


class FakeMCP:
    def __init__(self, path: str = "/mcp") -> None:
        self.path = path
        self.requests: list[dict[str, Any]] = []
        # Bound now and handed to uvicorn: a port chosen and released could be taken before serving.
        self._socket = socket.socket()
        self._socket.bind(("127.0.0.1", 0))
        self.port = self._socket.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._server = None
        self._thread: threading.Thread | None = None

    def _app(self):
        from mcp.server.fastmcp import FastMCP

        mcp = FastMCP("fake-mcp", stateless_http=True, json_response=True, streamable_http_path=self.path)

        @mcp.tool(description="Echo a message back")
        def echo(message: str) -> str:
            return f"echo: {message}"

        @mcp.tool(name="repo-inspector", description="Inspect repository metadata")
        def repo_inspector(message: str) -> str:
            return f"repo facts for {message}: default branch main"

        @mcp.tool(description="Always fails")
        def fail() -> str:
            raise ValueError("boom")

        app = mcp.streamable_http_app()
        recorded = self.requests

        async def recording(scope, receive, send):
            if scope["type"] == "http":
                recorded.append({"path": scope["path"], "method": scope["method"],
                                 "headers": {k.decode().lower(): v.decode() for k, v in scope["headers"]}})
            await app(scope, receive, send)

        return recording

    def __enter__(self) -> FakeMCP:
        import uvicorn

        config = uvicorn.Config(self._app(), host="127.0.0.1", port=self.port, log_level="warning",
                                lifespan="on")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [self._socket]}, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 30  # uvicorn's start on a loaded machine; only bounds a failure
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("fake MCP server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=5)
        self._socket.close()
