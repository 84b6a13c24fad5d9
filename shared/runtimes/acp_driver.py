"""The one ACP client: drive a coding-agent CLI over the Agent Client Protocol on stdio.

The worker starts the runtime as a subprocess, `initialize`s it announcing file-system access
(confined to the workspace) and no terminal, opens one session in the workspace, sends the task's
prompt and relays every `session/update` to an observer (the task's log, stream and plan).
Permission requests are answered by `shared.runtimes.permissions`. Cancel sends `session/cancel`,
waits briefly for the turn to end, then stops the process; the timeout does the same.

The `acp` SDK is imported here only: the worker pays for it when a task has a runtime.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shared.runtimes.git_urls import redact
from shared.runtimes.permissions import decide, inside
from shared.runtimes.updates import describe_update
from shared.version import shoal_version

# How long a cancelled turn may take to wind down before the process is stopped.
CANCEL_GRACE_SECONDS = 10.0
# A runtime's JSON-RPC lines can carry whole files; asyncio's 64 KiB default is too small.
STDIO_LIMIT_BYTES = 16 * 1024 * 1024

Observer = Callable[[str, dict[str, Any]], None]


class RuntimeFailed(Exception):
    """The runtime could not be started or ended the session abnormally."""


@dataclass
class SessionOutcome:
    stop_reason: str
    text: str
    cancelled: bool = False
    timed_out: bool = False
    denied: list[str] = field(default_factory=list)


class _WorkspaceClient:
    """The client side of ACP, confined to one workspace directory."""

    def __init__(self, workspace: Path, observe: Observer) -> None:
        self.workspace = workspace.resolve()
        self.observe = observe
        self.text: list[str] = []
        self.denied: list[str] = []

    async def request_permission(self, session_id: str, tool_call: Any, options: list[Any], **_: Any) -> Any:
        from acp.schema import AllowedOutcome, DeniedOutcome, RequestPermissionResponse

        verdict = decide(tool_call, options, self.workspace)
        self.observe("permission", {"tool": verdict.title, "allowed": verdict.option_id is not None,
                                    "reason": verdict.reason})
        if verdict.option_id is None:
            self.denied.append(f"{verdict.title}: {verdict.reason}")
            return RequestPermissionResponse(outcome=DeniedOutcome(outcome="cancelled"))
        return RequestPermissionResponse(outcome=AllowedOutcome(outcome="selected", option_id=verdict.option_id))

    async def session_update(self, session_id: str, update: Any, **_: Any) -> None:
        kind, data = describe_update(update)
        if kind == "delta":
            self.text.append(data["content"])
        if kind:
            self.observe(kind, data)

    async def read_text_file(self, session_id: str, path: str, line: int | None = None,
                             limit: int | None = None, **_: Any) -> Any:
        from acp import RequestError
        from acp.schema import ReadTextFileResponse

        target = inside(path, self.workspace)
        if target is None:
            raise RequestError.invalid_params({"path": path, "reason": "outside the workspace"})
        try:
            lines = target.read_text(errors="replace").splitlines(keepends=True)
        except OSError as exc:
            raise RequestError.resource_not_found(path) from exc
        start = max((line or 1) - 1, 0)
        chosen = lines[start:start + limit] if limit else lines[start:]
        return ReadTextFileResponse(content="".join(chosen))

    async def write_text_file(self, session_id: str, path: str, content: str, **_: Any) -> Any:
        from acp import RequestError
        from acp.schema import WriteTextFileResponse

        target = inside(path, self.workspace)
        if target is None:
            self.denied.append(f"write {path}: outside the workspace")
            self.observe("permission", {"tool": f"write {path}", "allowed": False, "reason": "outside the workspace"})
            raise RequestError.invalid_params({"path": path, "reason": "outside the workspace"})
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content)
        return WriteTextFileResponse()

    # A terminal is not offered (the runtime runs its own commands in the worker's sandbox), so these
    # are never called by a conforming agent; they answer "method not found" if one does.
    async def create_terminal(self, *args: Any, **kwargs: Any) -> Any:
        from acp import RequestError

        raise RequestError.method_not_found("terminal/create")

    async def ext_method(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        from acp import RequestError

        raise RequestError.method_not_found(method)

    async def ext_notification(self, method: str, params: dict[str, Any]) -> None:
        return None

    def on_connect(self, conn: Any) -> None:
        return None


async def _drain(stream: asyncio.StreamReader | None, observe: Observer) -> None:
    """The runtime's stderr goes to the task's log (redacted), never into a pipe that fills up."""
    if stream is None:
        return
    while line := await stream.readline():
        text = redact(line.decode(errors="replace").rstrip())
        if text:
            observe("stderr", {"line": text})


def _die_with_parent() -> None:
    """In the child before exec (Linux): a worker killed outright (SIGKILL, OOM) takes its runtime along
    instead of leaving it running unsupervised."""
    import ctypes

    with contextlib.suppress(Exception):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


async def _spawn(command: list[str], env: dict[str, str], workspace: Path) -> asyncio.subprocess.Process:
    """The runtime in its own process group, so stopping it stops whatever it started too."""
    try:
        return await asyncio.create_subprocess_exec(
            *command, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE, env=env, cwd=str(workspace), limit=STDIO_LIMIT_BYTES,
            start_new_session=True, preexec_fn=_die_with_parent)
    except OSError as exc:
        raise RuntimeFailed(f"could not start {Path(command[0]).name}: {exc.strerror or exc}") from None


async def drive(command: list[str], *, env: dict[str, str], workspace: Path, prompt: str, observe: Observer,
                cancel: asyncio.Event | None = None, timeout: float | None = None) -> SessionOutcome:
    """Run one prompt turn of the runtime `command` in `workspace`; the outcome says how it ended."""
    from acp import PROTOCOL_VERSION, connect_to_agent, text_block
    from acp.schema import ClientCapabilities, FileSystemCapabilities, Implementation

    cancel = cancel or asyncio.Event()
    client = _WorkspaceClient(workspace, observe)
    process = await _spawn(command, env, workspace)
    drain = asyncio.create_task(_drain(process.stderr, observe))
    conn = connect_to_agent(client, process.stdin, process.stdout)
    outcome = SessionOutcome(stop_reason="", text="")
    try:
        await conn.initialize(protocol_version=PROTOCOL_VERSION, client_capabilities=ClientCapabilities(
            fs=FileSystemCapabilities(read_text_file=True, write_text_file=True), terminal=False),
            client_info=Implementation(name="shoal", title="Shoal", version=shoal_version()))
        session = await conn.new_session(cwd=str(workspace), mcp_servers=[])
        turn = asyncio.ensure_future(conn.prompt(session_id=session.session_id, prompt=[text_block(prompt)]))
        exited = asyncio.ensure_future(process.wait())
        stopper = asyncio.ensure_future(cancel.wait())
        done, _ = await asyncio.wait({turn, stopper, exited}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        if exited in done and turn not in done:
            await asyncio.sleep(0)  # let the last updates already read be delivered
            raise RuntimeFailed(f"{Path(command[0]).name} exited with code {process.returncode} during the turn")
        if turn not in done:
            outcome.cancelled, outcome.timed_out = stopper in done, not done
            observe("status", {"message": "timed out: cancelling" if outcome.timed_out else "cancelling"})
            with contextlib.suppress(Exception):
                await conn.cancel(session_id=session.session_id)
            with contextlib.suppress(Exception, asyncio.TimeoutError):
                await asyncio.wait_for(asyncio.shield(turn), CANCEL_GRACE_SECONDS)
        stopper.cancel()
        if turn.done() and not turn.cancelled() and turn.exception() is None:
            outcome.stop_reason = turn.result().stop_reason
        elif turn.done() and not turn.cancelled() and not (outcome.cancelled or outcome.timed_out):
            # A closed connection usually means the process died: say so, with its exit code.
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(asyncio.shield(exited), 2)
            if process.returncode is not None:
                raise RuntimeFailed(f"{Path(command[0]).name} exited with code {process.returncode} during the turn")
            raise RuntimeFailed(_rpc_message(turn.exception()))
        else:
            turn.cancel()
            outcome.stop_reason = "cancelled"
        exited.cancel()
    except RuntimeFailed:
        raise
    except Exception as exc:
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(process.wait(), 2)
        if process.returncode is not None:
            raise RuntimeFailed(f"{Path(command[0]).name} exited with code {process.returncode}") from None
        raise RuntimeFailed(_rpc_message(exc)) from None
    finally:
        await _stop(process, conn)
        drain.cancel()
    outcome.text = "".join(client.text).strip()
    outcome.denied = client.denied
    return outcome


async def _stop(process: asyncio.subprocess.Process, conn: Any) -> None:
    """Close stdin (a polite runtime exits), then stop its process group: TERM, then KILL."""
    with contextlib.suppress(Exception):
        await conn.close()
    if process.stdin is not None:
        with contextlib.suppress(Exception):
            process.stdin.close()
    for sig, wait in ((None, 2.0), (signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0)):
        if sig is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, sig)
        try:
            await asyncio.wait_for(process.wait(), wait)
        except TimeoutError:
            continue
        if sig is None:
            # The runtime exited; its group may still hold children (a shell it started).
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGKILL)
        return


def _rpc_message(exc: BaseException | None) -> str:
    data = getattr(exc, "data", None)
    message = str(exc) or type(exc).__name__
    if isinstance(data, dict) and data.get("details"):
        message = f"{message}: {data['details']}"
    return redact(f"runtime error: {message}")[:1000]
