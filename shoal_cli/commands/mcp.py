"""`shoal mcp`: Shoal as a stdio MCP server for coding assistants (the platform itself serves `/mcp`)."""

from __future__ import annotations

import click

from shoal_cli.state import State, namespace_option, pass_state


@click.command("mcp")
@namespace_option
@pass_state
def mcp(state: State) -> None:
    """Serve Shoal's MCP tools over stdio with this context's credential (for Claude Code, Codex, Cursor…)."""
    from shared.mcp_server import build_server
    from shoal_cli.auth import resolve_token

    ctx = state.context()
    build_server(ctx.server, token=resolve_token(ctx), namespace=state.namespace or ctx.namespace).run("stdio")


def register(cli: click.Group) -> None:
    cli.add_command(mcp)
