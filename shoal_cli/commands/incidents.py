"""`shoal incidents analyze|get|wait|result`: Kubernaut investigations (`/api/v1/incident`)."""

from __future__ import annotations

import secrets
import sys
from typing import Any

import click

from shoal_cli.manifests import load_manifests
from shoal_cli.output import Progress, dump, echo, phase, render
from shoal_cli.state import State, output_option, pass_state

# The IncidentRequest fields a person at a terminal rarely knows; the API requires them all.
DEFAULTS = {"signal_source": "shoal-cli", "environment": "unknown", "priority": "P3", "risk_tolerance": "medium",
            "business_category": "unknown", "cluster_name": "default"}
CORE_KINDS = {"Pod", "Service", "Node", "ConfigMap", "Secret", "PersistentVolumeClaim", "Namespace", "Event"}
COLUMNS = [("SESSION", lambda s: s.get("session_id")), ("STATUS", lambda s: phase(s.get("status", ""))),
           ("PROGRESS", lambda s: s.get("progress")), ("ERROR", lambda s: s.get("error"))]


def _show(state: State, session: dict) -> None:
    echo(render(session, state.fmt(), kind="incident", columns=COLUMNS, name=lambda s: s["session_id"], single=True))


def _wait(state: State, session_id: str, timeout: float | None) -> dict:
    with Progress(f"incident/{session_id}") as progress:
        return state.client().wait_incident(
            session_id, timeout=timeout, on_poll=lambda s, t: progress.update(str(s.get("status")), f"({int(t)}s)"))


def _wait_and_print(state: State, session_id: str, timeout: float | None) -> None:
    session = _wait(state, session_id, timeout)
    if session.get("status") != "completed":
        _show(state, session)
        sys.exit(1)
    _print_result(state, session_id)


def _print_result(state: State, session_id: str) -> None:
    result = state.client().incident_result(session_id)
    if state.fmt() in ("json", "yaml"):
        echo(dump(result, state.fmt()))
        return
    analysis = result.get("root_cause_analysis") or {}
    lines = [f"incident/{session_id}",
             f"confidence: {result.get('confidence')}",
             f"summary: {analysis.get('summary') or result.get('analysis') or '<none>'}"]
    if result.get("needs_human_review"):
        lines.append(f"needs human review: {result.get('human_review_reason') or 'yes'}")
    workflow = result.get("selected_workflow") or {}
    if workflow:
        lines.append(f"workflow: {workflow.get('workflow_id')}")
    echo("\n".join(lines))


@click.group("incidents")
def incidents() -> None:
    """Incident investigations (the Kubernaut API)."""


@incidents.command("analyze")
@click.argument("resource", required=False, metavar="KIND/NAME")
@click.option("-n", "--resource-namespace", "resource_namespace", default="default", show_default=True,
              help="Namespace of the resource under investigation.")
@click.option("--signal", "signal_name", default="ManualInvestigation", show_default=True, help="Alert/signal name.")
@click.option("--severity", type=click.Choice(("critical", "high", "warning", "info", "unknown")),
              default="warning", show_default=True)
@click.option("-m", "--message", "error_message", default="", help="What is wrong (the signal's error message).")
@click.option("--api-version", help="The resource's apiVersion (default: v1 for core kinds, else apps/v1).")
@click.option("-f", "--filename", type=click.Path(dir_okay=False, allow_dash=True),
              help="A full IncidentRequest (YAML/JSON) instead of the flags.")
@click.option("--wait", "wait_", is_flag=True, help="Wait for the investigation, then print its result.")
@click.option("--timeout", type=float, default=None, help="Seconds --wait waits.")
@output_option
@pass_state
def analyze(state: State, resource: str | None, resource_namespace: str, signal_name: str, severity: str,
            error_message: str, api_version: str | None, filename: str | None, wait_: bool,
            timeout: float | None) -> None:
    """Start an investigation of KIND/NAME (e.g. deployment/api) and print its session id."""
    if filename:
        body: dict[str, Any] = load_manifests(filename)[0]
    else:
        if not resource or "/" not in resource:
            raise click.UsageError("give the resource as KIND/NAME (e.g. Deployment/api), or -f")
        kind, name = resource.split("/", 1)
        kind = kind[:1].upper() + kind[1:]
        incident = f"inc-{secrets.token_hex(4)}"
        body = {**DEFAULTS, "incident_id": incident, "remediation_id": f"rem-{incident[4:]}",
                "signal_name": signal_name, "severity": severity, "resource_namespace": resource_namespace,
                "resource_kind": kind, "resource_name": name,
                "resource_api_version": api_version or ("v1" if kind in CORE_KINDS else "apps/v1"),
                "error_message": error_message or f"{signal_name} on {kind}/{name}"}
    session_id = state.client().analyze_incident(body)["session_id"]
    if not wait_:
        if state.fmt("name") in ("json", "yaml"):
            echo(dump({"session_id": session_id}, state.fmt()))
        else:
            echo(f"incident/{session_id}")
        return
    _wait_and_print(state, session_id, timeout)


@incidents.command("get")
@click.argument("session_id")
@output_option
@pass_state
def get(state: State, session_id: str) -> None:
    """Show an investigation's status."""
    _show(state, state.client().incident(session_id))


@incidents.command("wait")
@click.argument("session_id")
@click.option("--timeout", type=float, default=None, help="Seconds to wait (default: forever).")
@output_option
@pass_state
def wait(state: State, session_id: str, timeout: float | None) -> None:
    """Wait for an investigation, print its result; exit 1 unless it completed."""
    _wait_and_print(state, session_id, timeout)


@incidents.command("result")
@click.argument("session_id")
@output_option
@pass_state
def result(state: State, session_id: str) -> None:
    """Print a finished investigation's result."""
    _print_result(state, session_id)


def register(cli: click.Group) -> None:
    cli.add_command(incidents)
