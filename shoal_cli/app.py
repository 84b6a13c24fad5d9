"""The `shoal` entry point: global options, the command groups, and exit codes.

Exit codes follow kubectl: 0 success, 1 the API refused or could not be reached (or a waited-for
task did not succeed), 2 a usage or configuration error (Click's own usage errors are 2 as well).
"""

from __future__ import annotations

import sys
from typing import Any

import click

from shared.apiclient import ApiError
from shoal_cli.config import ConfigError
from shoal_cli.state import State


class ShoalGroup(click.Group):
    """Turns API and configuration errors into kubectl's exit codes with one `error:` line."""

    # kubectl takes singular nouns too; they resolve without cluttering the help.
    ALIASES = {"task": "tasks", "agent": "agents", "skill": "skills", "tool": "tools", "memory": "memories",
               "proposal": "proposals", "session": "sessions", "incident": "incidents", "job": "jobs"}

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        return super().get_command(ctx, self.ALIASES.get(cmd_name, cmd_name))

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ApiError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(1)
        except ConfigError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(2)


@click.group(cls=ShoalGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option("--context", "context_name", help="Context from the config file (default: current-context).")
@click.option("--server", help="Server URL, overriding the context's.")
@click.option("--token", help="Bearer token, overriding the context's credential.")
@click.option("-n", "--namespace", help="Namespace (default: the context's, else the caller's own).")
@click.option("-o", "--output", type=click.Choice(("table", "wide", "json", "yaml", "name")), help="Output format.")
@click.option("--request-timeout", type=float, default=30.0, show_default=True, help="Seconds per request.")
@click.pass_context
def cli(ctx: click.Context, context_name: str | None, server: str | None, token: str | None,
        namespace: str | None, output: str | None, request_timeout: float) -> None:
    """Drive a Shoal platform: tasks, chat, the catalog, memories, incidents, security scans and jobs."""
    ctx.obj = State(context_name, server, token, namespace, output, request_timeout)
    ctx.call_on_close(lambda: ctx.obj._client and ctx.obj._client.close())


def _register() -> None:
    from shoal_cli.commands import catalog, chat, config_cmds, incidents, jobs, mcp, security, tasks

    for module in (tasks, chat, catalog, incidents, security, jobs, config_cmds, mcp):
        module.register(cli)


_register()


def main() -> None:
    cli(prog_name="shoal")
