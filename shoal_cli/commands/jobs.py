"""`shoal jobs submit|get|list|logs|cancel`: the labrats jobs dialect (`/api/jobs`)."""

from __future__ import annotations

import sys
from typing import Any
from urllib.parse import quote

import click

from shoal_cli.manifests import load_manifests
from shoal_cli.output import age, dump, echo, phase, render
from shoal_cli.state import State, output_option, pass_state

COLUMNS = [("ID", lambda j: j.get("id")), ("SOURCE", lambda j: j.get("source")), ("TYPE", lambda j: j.get("name")),
           ("STATUS", lambda j: phase(j.get("status", ""))), ("AGE", lambda j: age(j.get("createdAt")))]
WIDE = [("ATTEMPTS", lambda j: j.get("attempts")), ("CHAIN", lambda j: j.get("chainId")),
        ("FAILED REASON", lambda j: j.get("failedReason"))]


def _path(job_id: str, tail: str = "") -> str:
    return f"/api/jobs/{quote(job_id, safe='')}{tail}"


@click.group("jobs")
def jobs() -> None:
    """Labrats jobs (views over tasks)."""


@jobs.command("submit")
@click.option("-f", "--filename", type=click.Path(dir_okay=False, allow_dash=True),
              help="The job spec (YAML/JSON, the labrats submit body).")
@click.option("--source", help="Job source (required without -f).")
@click.option("--type", "job_type", help="Job type (required without -f).")
@click.option("-p", "--prompt", help="The prompt.")
@click.option("--priority", type=int, help="Labrats priority (lower first).")
@output_option
@pass_state
def submit(state: State, filename: str | None, source: str | None, job_type: str | None, prompt: str | None,
           priority: int | None) -> None:
    """Submit a job."""
    if filename:
        body: dict[str, Any] = load_manifests(filename)[0]
    else:
        if not source or not job_type:
            raise click.UsageError("--source and --type are required (or -f)")
        body = {k: v for k, v in {"source": source, "type": job_type, "prompt": prompt,
                                  "priority": priority}.items() if v is not None}
    created = state.client().call("POST", "/api/jobs/submit", json_body=body, namespaced=False)
    echo(dump(created, state.output) if state.output in ("json", "yaml") else f"job/{created['jobId']} submitted")


@jobs.command("get")
@click.argument("job_id")
@output_option
@pass_state
def get(state: State, job_id: str) -> None:
    """Show a job."""
    job = state.client().call("GET", _path(job_id), namespaced=False)
    echo(render(job, state.fmt(), kind="job", columns=COLUMNS, wide=WIDE, name=lambda j: j["id"], single=True))


@jobs.command("list")
@click.option("--limit", type=int, default=20, show_default=True)
@click.option("--page", type=int, default=1, show_default=True)
@output_option
@pass_state
def list_(state: State, limit: int, page: int) -> None:
    """List jobs, newest first."""
    body = state.client().call("GET", "/api/jobs", params={"limit": limit, "page": page}, namespaced=False)
    echo(render(body.get("jobs") or [], state.fmt(), kind="job", columns=COLUMNS, wide=WIDE,
                name=lambda j: j["id"], raw=body if state.fmt() in ("json", "yaml") else None))


@jobs.command("logs")
@click.argument("job_id")
@click.option("-f", "--follow", is_flag=True, help="Stream until the job finishes.")
@pass_state
def logs(state: State, job_id: str, follow: bool) -> None:
    """Print a job's log lines."""
    client = state.client()
    if not follow:
        for line in client.call("GET", _path(job_id), namespaced=False).get("logs") or []:
            echo(line if isinstance(line, str) else str(line.get("message", line)))
        return
    for event in client.stream("GET", _path(job_id, "/logs"), namespaced=False):
        data = event.json()
        if isinstance(data, dict) and data.get("done"):
            if data.get("status") != "completed":
                sys.exit(1)
            return
        click.echo(data.get("log", "") if isinstance(data, dict) else data)
        sys.stdout.flush()


@jobs.command("cancel")
@click.argument("job_id")
@pass_state
def cancel(state: State, job_id: str) -> None:
    """Cancel a waiting or active job."""
    state.client().call("POST", _path(job_id, "/cancel"), namespaced=False)
    echo(f"job/{job_id} cancelled")


def register(cli: click.Group) -> None:
    cli.add_command(jobs)
