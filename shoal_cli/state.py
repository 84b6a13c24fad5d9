"""The context a `shoal` command runs in: the global options' choices, and the options a command repeats.

Kept apart from `shoal_cli.app` (which registers the commands) so the commands import it without a loop.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import click

from shared.apiclient import ShoalClient
from shoal_cli.config import Config, Context


@dataclass
class State:
    """What the global options chose; the client is built on first use (so `config`/`version` need none)."""

    context_name: str | None = None
    server: str | None = None
    token: str | None = None
    namespace: str | None = None
    output: str | None = None
    timeout: float = 30.0
    _client: ShoalClient | None = field(default=None, repr=False)

    def config(self) -> Config:
        return Config.load()

    def context(self) -> Context:
        if self.server:
            # kubectl's --server: another server for this one command, with the chosen (or current)
            # context's credential and namespace; it was sent with no credential at all (a bare 401).
            config = self.config()
            base = config.context(self.context_name) if self.context_name or config.current else None
            ctx = (Context(base.name, self.server, base.namespace, dict(base.auth), base.insecure) if base
                   else Context("<flags>", self.server))
        else:
            ctx = self.config().context(self.context_name)
        if self.token:
            ctx.auth = {"token": self.token}
        return ctx

    def client(self) -> ShoalClient:
        if self._client is None:
            from shoal_cli.auth import resolve_token

            ctx = self.context()
            self._client = ShoalClient(ctx.server, resolve_token(ctx), namespace=self.namespace or ctx.namespace,
                                       timeout=self.timeout, verify=not ctx.insecure)
        return self._client

    def fmt(self, default: str = "table") -> str:
        return self.output or default


pass_state = click.make_pass_decorator(State)


def output_option(fn: Any) -> Any:
    """`-o` on a command too (kubectl accepts it after the verb)."""

    def store(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
        if value:
            ctx.find_object(State).output = value

    return click.option("-o", "--output", type=click.Choice(("table", "wide", "json", "yaml", "name")),
                        expose_value=False, callback=store, help="Output format.")(fn)


def namespace_option(fn: Any) -> Any:
    def store(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
        if value:
            ctx.find_object(State).namespace = value

    return click.option("-n", "--namespace", expose_value=False, callback=store,
                        help="Namespace (default: the context's, else the caller's own).")(fn)
