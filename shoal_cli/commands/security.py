"""`shoal security repos|scan|scans|findings|finding`: repository security scans (`/api/v1/security`)."""

from __future__ import annotations

from urllib.parse import quote

import click

from shoal_cli.commands.catalog import make_group, resource
from shoal_cli.output import age, echo, info, phase, render
from shoal_cli.state import State, namespace_option, output_option, pass_state

BASE = "/api/v1/security"
RUN_COLUMNS = [("ID", lambda r: r.get("id")), ("REPOSITORY", lambda r: r.get("repository")),
               ("PHASE", lambda r: phase(r.get("phase", ""))), ("AGE", lambda r: age(r.get("createdAt")))]
FINDING_COLUMNS = [("ID", lambda f: f.get("id")), ("SEVERITY", lambda f: f.get("severity")),
                   ("STATE", lambda f: f.get("state")),
                   ("LOCATION", lambda f: f"{f.get('file')}:{f['line']}" if f.get("line") else f.get("file")),
                   ("TITLE", lambda f: f.get("title"))]
FINDING_WIDE = [("CATEGORY", lambda f: f.get("category")), ("VALIDATION", lambda f: f.get("validationStatus"))]


@click.group("security")
def security() -> None:
    """Repository security scans: RepositoryScans, scan runs, findings."""


repos = make_group(resource("scans"))
repos.name = "repos"
repos.help = "RepositoryScan resources (what to scan). `apply -f` takes RepositoryScan manifests."
security.add_command(repos)


@security.command("scan")
@click.argument("repository")
@namespace_option
@output_option
@pass_state
def scan(state: State, repository: str) -> None:
    """Start a scan run of a RepositoryScan now."""
    run = state.client().call("POST", f"{BASE}/repositories/{quote(repository, safe='')}/scans")
    if state.output:
        echo(render(run, state.fmt(), kind="scanrun", columns=RUN_COLUMNS, name=lambda r: r["id"], single=True))
    else:
        echo(f"scanrun/{run.get('id')} {run.get('phase')}")


@security.command("scans")
@click.argument("repository")
@namespace_option
@output_option
@pass_state
def scans(state: State, repository: str) -> None:
    """List a RepositoryScan's runs."""
    page = state.client().call("GET", f"{BASE}/repositories/{quote(repository, safe='')}/scans")
    items = page.get("items") or []
    echo(render(items, state.fmt(), kind="scanrun", columns=RUN_COLUMNS, name=lambda r: r["id"],
                raw=page if state.fmt() in ("json", "yaml") else None))


@security.command("findings")
@click.argument("repository")
@click.option("--severity", help="critical|high|medium|low|info")
@click.option("--state", "state_", help="Finding state filter (e.g. open, dismissed).")
@click.option("--limit", type=int, default=50, show_default=True)
@namespace_option
@output_option
@pass_state
def findings(state: State, repository: str, severity: str | None, state_: str | None, limit: int) -> None:
    """List a repository's findings."""
    page = state.client().call("GET", f"{BASE}/repositories/{quote(repository, safe='')}/findings",
                               params={"severity": severity, "state": state_, "limit": limit})
    items = page.get("items") or []
    if not items and state.fmt() in ("table", "wide"):
        info("No findings.")
    echo(render(items, state.fmt(), kind="finding", columns=FINDING_COLUMNS, wide=FINDING_WIDE,
                name=lambda f: f["id"], raw=page if state.fmt() in ("json", "yaml") else None))


@security.command("finding")
@click.argument("finding_id")
@namespace_option
@output_option
@pass_state
def finding(state: State, finding_id: str) -> None:
    """Show one finding."""
    found = state.client().call("GET", f"{BASE}/findings/{quote(finding_id, safe='')}")
    echo(render(found, state.fmt("yaml"), kind="finding", columns=FINDING_COLUMNS, wide=FINDING_WIDE,
                name=lambda f: f["id"], single=True))


def register(cli: click.Group) -> None:
    cli.add_command(security)
