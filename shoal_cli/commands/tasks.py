"""`shoal tasks create|get|list|logs|wait|cancel|delete|result|artifacts`."""

from __future__ import annotations

import json
import secrets
import sys
import time
from pathlib import Path
from typing import Any

import click

from shared.apiclient import TERMINAL_PHASES, ApiError, ended_without_job, has_logs, phase_of
from shoal_cli.manifests import load_manifests
from shoal_cli.output import Progress, age, echo, info, log_line, phase, render
from shoal_cli.state import State, namespace_option, output_option, pass_state

COLUMNS = [("NAME", lambda t: t["metadata"]["name"]), ("TYPE", lambda t: t["spec"].get("type")),
           ("PHASE", lambda t: phase(phase_of(t))), ("AGE", lambda t: age(t["metadata"].get("creationTimestamp")))]
WIDE = [("NAMESPACE", lambda t: t["metadata"].get("namespace")),
        ("AGENT", lambda t: (t["spec"].get("agentRef") or {}).get("name")),
        ("ATTEMPTS", lambda t: t["status"].get("attempts")), ("MESSAGE", lambda t: t["status"].get("message"))]


def show(state: State, tasks: Any, *, single: bool = False, raw: Any = None) -> None:
    echo(render(tasks, state.fmt(), kind="task", columns=COLUMNS, wide=WIDE, name=lambda t: t["metadata"]["name"],
                single=single, raw=raw))


def _labels(pairs: tuple[str, ...]) -> dict[str, str]:
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{pair!r} is not key=value", param_hint="-l/--label")
        out[key] = value
    return out


@click.group("tasks")
def tasks() -> None:
    """Tasks: create, inspect, follow and stop them."""


@tasks.command("create")
@click.argument("name", required=False)
@click.option("-p", "--prompt", help="What the task should do (ai and agent tasks).")
@click.option("-t", "--type", "task_type", type=click.Choice(("ai", "agent", "container")), default="ai",
              show_default=True)
@click.option("--agent", help="Agent to run the task with (spec.agentRef).")
@click.option("--image", help="Container image (container tasks).")
@click.option("--timeout", help="Go duration, e.g. 10m.")
@click.option("--priority", type=int, help="0-1000, higher first.")
@click.option("-l", "--label", "labels", multiple=True, help="key=value (repeatable).")
@click.option("-f", "--filename", type=click.Path(dir_okay=False, allow_dash=True),
              help="A Task manifest (YAML or JSON, Orka's shape); other flags are ignored.")
@click.option("--wait", "wait_", is_flag=True, help="Wait for the task to finish, then print it.")
@namespace_option
@output_option
@pass_state
def create(state: State, name: str | None, prompt: str | None, task_type: str, agent: str | None,
           image: str | None, timeout: str | None, priority: int | None, labels: tuple[str, ...],
           filename: str | None, wait_: bool) -> None:
    """Create a task (a name is generated when none is given)."""
    if filename:
        docs = load_manifests(filename)
        if len(docs) != 1 or docs[0].get("kind", "Task") != "Task":
            raise click.UsageError("-f must hold exactly one Task manifest")
        body = docs[0]
    else:
        if task_type in ("ai", "agent") and not prompt and not agent:
            raise click.UsageError("--prompt is required for ai and agent tasks")
        if task_type == "container" and not image:
            raise click.UsageError("--image is required for container tasks")
        spec: dict[str, Any] = {"type": task_type, "prompt": prompt, "image": image, "timeout": timeout,
                                "priority": priority, "agentRef": {"name": agent} if agent else None}
        body = {"name": name or f"task-{secrets.token_hex(3)}", "spec": {k: v for k, v in spec.items() if v is not None}}
        if labels:
            body["labels"] = _labels(labels)
    created = state.client().create_task(body)
    if wait_:
        created = _wait(state, created["metadata"]["name"], None)
    if state.output is None and not wait_:
        echo(f"task/{created['metadata']['name']} created")
        return
    show(state, created, single=True)
    if wait_ and phase_of(created) != "Succeeded":
        sys.exit(1)


@tasks.command("get")
@click.argument("names", nargs=-1, required=True)
@click.option("-w", "--watch", is_flag=True, help="Print the task again whenever its phase changes.")
@namespace_option
@output_option
@pass_state
def get(state: State, names: tuple[str, ...], watch: bool) -> None:
    """Show one or more tasks."""
    client = state.client()
    if watch:
        if len(names) != 1:
            raise click.UsageError("--watch takes exactly one task")
        _watch_one(state, names[0])
        return
    found = [client.get_task(n) for n in names]
    show(state, found[0] if len(found) == 1 else found, single=len(found) == 1)


def _watch_one(state: State, name: str) -> None:
    client, last, header = state.client(), None, True
    while True:
        task = client.get_task(name)
        if phase_of(task) != last:
            last = phase_of(task)
            if state.fmt() in ("table", "wide"):
                text = render([task], state.fmt(), kind="task", columns=COLUMNS, wide=WIDE,
                              name=lambda t: t["metadata"]["name"])
                echo(text if header else text.splitlines()[1])
                header = False
            else:
                show(state, task, single=True)
        if last in TERMINAL_PHASES:
            return
        time.sleep(0.5)


@tasks.command("list")
@click.option("-l", "--selector", help="Label selector (k=v, k!=v, k, !k; comma-separated).")
@click.option("--limit", type=int, default=0, help="At most this many (default: all, following pages).")
@click.option("-w", "--watch", is_flag=True, help="Keep listing, printing tasks whose phase changes.")
@namespace_option
@output_option
@pass_state
def list_(state: State, selector: str | None, limit: int, watch: bool) -> None:
    """List tasks."""
    client = state.client()

    def fetch() -> list[dict]:
        items: list[dict] = []
        cont = None
        while True:
            page = client.list_tasks(limit=min(limit - len(items), 500) if limit else 500, label_selector=selector,
                                     cont=cont)
            items.extend(page.get("items") or [])
            cont = (page.get("metadata") or {}).get("continue")
            if not cont or (limit and len(items) >= limit):
                return items

    items = fetch()
    if not watch:
        if not items and state.fmt() in ("table", "wide"):
            info("No tasks found.")
        show(state, items, raw={"items": items} if state.fmt() in ("json", "yaml") else None)
        return
    seen = {t["metadata"]["name"]: phase_of(t) for t in items}
    show(state, items)
    while True:
        time.sleep(1.0)
        changed = [t for t in fetch() if seen.get(t["metadata"]["name"]) != phase_of(t)]
        for task in changed:
            seen[task["metadata"]["name"]] = phase_of(task)
        if changed:
            text = render(changed, state.fmt(), kind="task", columns=COLUMNS, wide=WIDE,
                          name=lambda t: t["metadata"]["name"])
            echo("\n".join(text.splitlines()[1:]) if state.fmt() in ("table", "wide") else text)


@tasks.command("logs")
@click.argument("name")
@click.option("-f", "--follow", is_flag=True, help="Stream the logs until the task finishes.")
@click.option("--raw", is_flag=True, help="Print the lines as the job wrote them (Shoal's JSON log records "
                                          "are otherwise shown as `time level message fields`).")
@namespace_option
@pass_state
def logs(state: State, name: str, follow: bool, raw: bool) -> None:
    """Print a task's logs (its result once it has one)."""
    client = state.client()
    shown = (lambda line: line) if raw else log_line
    if not follow:
        try:
            text = str(client.task_logs(name)).rstrip("\n")
        except ApiError as exc:
            if exc.status == 404:
                _no_job(name, client.get_task(name))
            raise
        echo("\n".join(shown(line) for line in text.split("\n")))
        return
    # `create … && logs -f`: a task not started yet has no logs (404), so wait for its job first.
    task = client.get_task(name)
    if not has_logs(task):
        with Progress(f"task/{name}") as progress:
            def waiting(task: dict, seconds: float) -> None:
                if not has_logs(task):
                    progress.update(f"{phase_of(task)}, waiting for its job", f"({int(seconds)}s)")

            task = client.wait_task_logs(name, on_poll=waiting)
    _no_job(name, task)
    for event in client.follow_logs(name):
        click.echo("\n".join(shown(line) for line in event.data.split("\n")), nl=True)
        sys.stdout.flush()


def _no_job(name: str, task: dict) -> None:
    """A task that ended before any job started (an unknown agent, a cancel) has no logs, and the route
    says "task is pending" for it as Orka's does; say why it has none instead, and exit 1."""
    if ended_without_job(task):
        reason = (task.get("status") or {}).get("message")
        raise ApiError(0, f"task/{name} {phase_of(task)} before a job started, so it has no logs"
                          + (f": {reason}" if reason else ""))


def _wait(state: State, name: str, timeout: float | None) -> dict:
    with Progress(f"task/{name}") as progress:
        task = state.client().wait_task(
            name, timeout=timeout, on_poll=lambda t, s: progress.update(phase_of(t), f"({int(s)}s)"))
    return task


@tasks.command("wait")
@click.argument("name")
@click.option("--timeout", type=float, default=None, help="Seconds to wait (default: forever).")
@click.option("--for", "for_", type=click.Choice(("finished", "succeeded")), default="succeeded", show_default=True,
              help="succeeded: exit 1 unless the task Succeeded; finished: exit 0 on any final phase.")
@namespace_option
@output_option
@pass_state
def wait(state: State, name: str, timeout: float | None, for_: str) -> None:
    """Wait for a task to finish; exit 1 when it did not succeed (or the timeout passed)."""
    task = _wait(state, name, timeout)
    current = phase_of(task)
    if current not in TERMINAL_PHASES:
        info(f"error: timed out waiting for task/{name} (phase {current})")
        sys.exit(1)
    if state.output:
        show(state, task, single=True)
    else:
        message = task["status"].get("message")
        echo(f"task/{name} {phase(current)}" + (f": {message}" if message and current != "Succeeded" else ""))
    if for_ == "succeeded" and current != "Succeeded":
        sys.exit(1)


@tasks.command("cancel")
@click.argument("name")
@click.option("--reason", help="Recorded in the task's status message.")
@namespace_option
@pass_state
def cancel(state: State, name: str, reason: str | None) -> None:
    """Cancel a task (its record stays)."""
    state.client().cancel_task(name, reason)
    echo(f"task/{name} cancelled")


@tasks.command("delete")
@click.argument("names", nargs=-1, required=True)
@namespace_option
@pass_state
def delete(state: State, names: tuple[str, ...]) -> None:
    """Delete tasks with their results and artifacts."""
    for name in names:
        state.client().delete_task(name)
        echo(f'task "{name}" deleted')


@tasks.command("result")
@click.argument("name")
@namespace_option
@output_option
@pass_state
def result(state: State, name: str) -> None:
    """Print a task's result."""
    value = state.client().task_result(name)
    if state.output in ("json", "yaml"):
        from shoal_cli.output import dump

        echo(dump({"result": value}, state.output))
    else:
        echo(value if isinstance(value, str) else json.dumps(value, indent=2))


@tasks.command("artifacts")
@click.argument("name")
@click.option("--download", "download", metavar="FILENAME", help="Download one artifact.")
@click.option("--dest", type=click.Path(file_okay=False), default=".", show_default=True,
              help="Directory to download into (`-` for stdout).")
@namespace_option
@output_option
@pass_state
def artifacts(state: State, name: str, download: str | None, dest: str) -> None:
    """List a task's artifacts, or download one."""
    client = state.client()
    if download:
        data = client.artifact(name, download)
        if dest == "-":
            sys.stdout.buffer.write(data)
            return
        target = Path(dest) / Path(download).name
        target.write_bytes(data)
        echo(f"{target} ({len(data)} bytes)")
        return
    items = client.artifacts(name)
    if not items and state.fmt() in ("table", "wide"):
        info("No artifacts.")
    echo(render(items, state.fmt(), kind="artifact",
                columns=[("FILENAME", lambda a: a["filename"]), ("TYPE", lambda a: a.get("contentType")),
                         ("SIZE", lambda a: a.get("size")), ("AGE", lambda a: age(a.get("createdAt")))],
                name=lambda a: a["filename"], raw={"artifacts": items} if state.fmt() in ("json", "yaml") else None))


def register(cli: click.Group) -> None:
    cli.add_command(tasks)
