"""`shoal chat`: the orchestrator, streaming. `-m` sends one message; without it, a prompt loop.

Text deltas go to stdout as they arrive; tool calls are shown as dim `→ name(args)` lines on stderr
(so `shoal chat -m … > answer.txt` keeps only the answer); the session id is printed on stderr at the
end so the conversation can be resumed with `--session`.
"""

from __future__ import annotations

import json
import sys

import click

from shoal_cli.output import dump, echo, info, style
from shoal_cli.state import State, namespace_option, output_option, pass_state


def _turn(state: State, message: str, session: str | None, fields: dict) -> tuple[str | None, bool]:
    """Stream one turn; returns (session id, whether it ended without an error event)."""
    ok, ended_line = True, True
    for event in state.client().chat_stream(message, session_id=session, **fields):
        data = event.json()
        if not isinstance(data, dict):
            continue
        session = data.get("sessionId") or session
        if event.event == "message":
            click.echo(data.get("content", ""), nl=False)
            sys.stdout.flush()
            ended_line = str(data.get("content", "")).endswith("\n")
        elif event.event == "tool_call":
            call = data.get("toolCall") or {}
            info(style(f"→ {call.get('name')}({json.dumps(call.get('args') or {})})", "bright_black", err=True))
        elif event.event == "tool_result":
            result = (data.get("toolCall") or {}).get("result") or {}
            if isinstance(result, dict) and result.get("success") is False:
                info(style(f"  ✗ {result.get('error')}", "red", err=True))
        elif event.event == "error":
            ok = False
            error = data.get("error") or {}  # the spec's shape: {"sessionId", "error": {"code", "message"}}
            info(style(f"error: {error.get('message')} ({error.get('code')})", "red", err=True))
        elif event.event == "done":
            break
    if not ended_line:
        click.echo()
    return session, ok


@click.command("chat")
@click.option("-m", "--message", help="Send one message, print the answer and exit.")
@click.option("--session", help="Resume (or name) a chat session.")
@click.option("--agent", help="Agent whose model settings the turn uses (agentRef).")
@click.option("--model", help="Model (provider/model or a name the server knows).")
@click.option("--provider", help="LLM provider name.")
@click.option("--system-prompt", help="Extra instructions for this turn.")
@namespace_option
@output_option
@pass_state
def chat(state: State, message: str | None, session: str | None, agent: str | None, model: str | None,
         provider: str | None, system_prompt: str | None) -> None:
    """Talk to the Shoal orchestrator (it creates and watches tasks for you)."""
    fields = {k: v for k, v in {"agentRef": agent, "model": model, "provider": provider,
                                "systemPrompt": system_prompt}.items() if v}
    if message is not None and state.output in ("json", "yaml"):
        echo(dump(state.client().chat(message, session_id=session, **fields), state.output))
        return
    if message is not None:
        session, ok = _turn(state, message, session, fields)
        if session:
            info(f"session: {session}")
        if not ok:
            sys.exit(1)
        return
    if not sys.stdin.isatty():
        # Piped input: each line is one turn (/exit ends it, as at the prompt); a turn that failed
        # makes the exit code 1, as with -m, so a script can tell.
        failed = False
        for line in sys.stdin:
            if line.strip() in ("/exit", "/quit"):
                break
            if line.strip():
                session, ok = _turn(state, line.strip(), session, fields)
                failed = failed or not ok
        if session:
            info(f"session: {session}")
        if failed:
            sys.exit(1)
        return
    info("Shoal chat. Ctrl-D or /exit to leave." + (f" Session {session}." if session else ""))
    while True:
        try:
            line = input(style("you> ", "cyan"))
        except (EOFError, KeyboardInterrupt):
            click.echo()
            break
        if line.strip() in ("/exit", "/quit"):
            break
        if line.strip():
            try:
                session, _ = _turn(state, line.strip(), session, fields)
            except KeyboardInterrupt:
                info("\n(interrupted: the turn goes on on the server; resume with --session)")
    if session:
        info(f"session: {session} (resume with: shoal chat --session {session})")


def register(cli: click.Group) -> None:
    cli.add_command(chat)
