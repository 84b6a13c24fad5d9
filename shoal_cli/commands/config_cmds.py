"""`shoal login`, `shoal config …` (kubectl's context verbs), `shoal whoami`, `shoal version`."""

from __future__ import annotations

import sys

import click

from shared.apiclient import ApiError, ShoalClient
from shoal_cli import __version__
from shoal_cli.auth import OidcDeviceFlow, resolve_token
from shoal_cli.config import Config, ConfigError, Context
from shoal_cli.output import dump, echo, info, table
from shoal_cli.state import State, output_option, pass_state


@click.command("login")
@click.option("--context", "name", help="Context to create or update (default: the current one, else 'default').")
@click.option("--server", help="Server URL (the gateway).")
@click.option("--token", help="A bearer token (the local dev token, a ServiceAccount token, …).")
@click.option("--token-file", help="A file holding the token (re-read on every command).")
@click.option("--kubectl", "use_kubectl", is_flag=True, help="Use kubectl's current credential (token or exec plugin).")
@click.option("--exec-command", help="An exec credential plugin (prints an ExecCredential).")
@click.option("--exec-arg", multiple=True, help="Arguments of --exec-command (repeatable).")
@click.option("--oidc-issuer", help="OIDC issuer for the device flow.")
@click.option("--oidc-client-id", help="OIDC client id for the device flow.")
@click.option("-n", "--namespace", help="Default namespace of the context.")
@click.option("--insecure-skip-tls-verify", is_flag=True, help="Do not verify the server's TLS certificate.")
@click.option("--no-verify", is_flag=True, help="Save without checking the credential against the server.")
@pass_state
def login(state: State, name: str | None, server: str | None, token: str | None, token_file: str | None,
          use_kubectl: bool, exec_command: str | None, exec_arg: tuple[str, ...], oidc_issuer: str | None,
          oidc_client_id: str | None, namespace: str | None, insecure_skip_tls_verify: bool, no_verify: bool) -> None:
    """Save a context (server, credential, namespace), check it, and make it current."""
    config = Config.load()
    name = name or state.context_name or config.current or "default"
    existing = config.contexts.get(name)
    server = server or state.server or (existing.server if existing else None)
    if not server:
        raise click.UsageError("--server is required for a new context")
    chosen = [bool(token or state.token), bool(token_file), use_kubectl, bool(exec_command), bool(oidc_issuer)]
    if sum(chosen) > 1:
        raise click.UsageError("choose one of --token, --token-file, --kubectl, --exec-command, --oidc-issuer")
    if token or state.token:
        auth: dict = {"token": token or state.token}
    elif token_file:
        auth = {"tokenFile": token_file}
    elif use_kubectl:
        auth = {"kubectl": True}
    elif exec_command:
        auth = {"exec": {"command": exec_command, "args": list(exec_arg)}}
    elif oidc_issuer:
        if not oidc_client_id:
            raise click.UsageError("--oidc-client-id is required with --oidc-issuer")
        auth = {"oidc": {"issuer": oidc_issuer, "clientId": oidc_client_id}}
    elif existing:
        auth = existing.auth
    else:
        raise click.UsageError("give a credential: --token, --token-file, --kubectl, --exec-command or --oidc-issuer")
    ctx = Context(name, server, namespace or (existing.namespace if existing else None), auth,
                  insecure_skip_tls_verify or bool(existing and existing.insecure))
    if "oidc" in auth:
        OidcDeviceFlow(name, auth["oidc"]).login(
            lambda url, code: info(f"Open {url} and enter the code {code}" if code else f"Open {url}"))
    if not no_verify:
        with ShoalClient(ctx.server, resolve_token(ctx), verify=not ctx.insecure) as client:
            who = client.whoami()
        info(f"Logged in to {ctx.server} as {who.get('username') or who.get('subject')} ({who.get('kind')}).")
    config.contexts[name] = ctx
    config.current = name
    config.save()
    echo(f'Context "{name}" saved and in use.')


@click.group("config")
def config_group() -> None:
    """Contexts in $XDG_CONFIG_HOME/shoal/config.yaml."""


@config_group.command("use-context")
@click.argument("name")
def use_context(name: str) -> None:
    """Make NAME the current context."""
    config = Config.load()
    if name not in config.contexts:
        raise ConfigError(f"context {name!r} not found in {config.path}")
    config.current = name
    config.save()
    echo(f'Switched to context "{name}".')


@config_group.command("current-context")
def current_context() -> None:
    """Print the current context's name."""
    config = Config.load()
    if not config.current:
        raise ConfigError("current-context is not set")
    echo(config.current)


@config_group.command("get-contexts")
@output_option
@pass_state
def get_contexts(state: State) -> None:
    """List contexts (the current one is starred)."""
    config = Config.load()
    if state.output in ("json", "yaml"):
        echo(dump([{"name": c.name, "server": c.server, "namespace": c.namespace, "current": c.name == config.current,
                    "auth": sorted(c.auth)} for c in config.contexts.values()], state.output))
        return
    if state.output == "name":
        echo("\n".join(sorted(config.contexts)))
        return
    rows = [["*" if c.name == config.current else "", c.name, c.server, c.namespace or "", ",".join(sorted(c.auth))]
            for c in sorted(config.contexts.values(), key=lambda c: c.name)]
    echo(table(rows, ["CURRENT", "NAME", "SERVER", "NAMESPACE", "AUTH"]))


@config_group.command("set-context")
@click.argument("name")
@click.option("--server")
@click.option("-n", "--namespace")
def set_context(name: str, server: str | None, namespace: str | None) -> None:
    """Change a context's server or namespace (credentials: `shoal login`)."""
    config = Config.load()
    ctx = config.contexts.get(name)
    if ctx is None:
        if not server:
            raise click.UsageError("--server is required for a new context")
        ctx = config.contexts[name] = Context(name, server)
    if server:
        ctx.server = server
    if namespace is not None:
        ctx.namespace = namespace or None
    config.save()
    echo(f'Context "{name}" modified.')


@config_group.command("delete-context")
@click.argument("name")
def delete_context(name: str) -> None:
    """Remove a context."""
    config = Config.load()
    if config.contexts.pop(name, None) is None:
        raise ConfigError(f"context {name!r} not found in {config.path}")
    if config.current == name:
        config.current = None
    config.save()
    echo(f'Deleted context "{name}".')


@config_group.command("view")
def view() -> None:
    """Print the config file with tokens redacted."""
    config = Config.load()
    body = {"current-context": config.current, "contexts": {}}
    for name, ctx in config.contexts.items():
        data = ctx.to_dict()
        if "token" in data.get("auth", {}):
            data["auth"] = {**data["auth"], "token": "REDACTED"}
        body["contexts"][name] = data
    echo(dump(body, "yaml"))


@click.command("whoami")
@output_option
@pass_state
def whoami(state: State) -> None:
    """Who the server says you are."""
    who = state.client().whoami()
    if state.fmt() in ("json", "yaml"):
        echo(dump(who, state.fmt()))
        return
    rows = [[k, ", ".join(v) if isinstance(v, list) else str(v)] for k, v in who.items()
            if k not in ("authenticated",) and v not in (None, "", [])]
    echo(table(rows, ["FIELD", "VALUE"]).split("\n", 1)[1] if rows else "")


@click.command("version")
@click.option("--client", "client_only", is_flag=True, help="Only the CLI's version.")
@output_option
@pass_state
def version(state: State, client_only: bool) -> None:
    """The CLI's version and the server's."""
    body: dict = {"client": __version__}
    if not client_only:
        try:
            me = state.client().call("GET", "/api/auth/me", namespaced=False)
            body["server"] = me.get("version") if isinstance(me, dict) else None
        except (ApiError, ConfigError) as exc:
            body["server"] = None
            info(f"warning: server version unavailable: {exc}")
    if state.output in ("json", "yaml"):
        echo(dump(body, state.output))
        return
    echo(f"Client Version: {body['client']}")
    if not client_only:
        echo(f"Server Version: {body['server'] or '<unknown>'}")
        if body["server"] is None:
            sys.exit(1)


def register(cli: click.Group) -> None:
    cli.add_command(login)
    cli.add_command(config_group)
    cli.add_command(whoami)
    cli.add_command(version)
