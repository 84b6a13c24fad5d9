"""Printing: `-o json|yaml|table|wide|name`, colours only on a terminal without NO_COLOR, and progress.

Tables are plain text (columns padded, kubectl's look) so scripts can cut them; Rich is used only for
colour and spinners on a TTY.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

import click
import yaml

from shared.logs import RECORD_KEYS, parse_record

FORMATS = ("table", "wide", "json", "yaml", "name")

Column = tuple[str, Callable[[dict], Any]]


def colour_enabled(stream: Any = None) -> bool:
    stream = stream or sys.stdout
    return "NO_COLOR" not in os.environ and hasattr(stream, "isatty") and stream.isatty()


def interactive() -> bool:
    return hasattr(sys.stderr, "isatty") and sys.stderr.isatty()


def style(text: str, colour: str, *, err: bool = False) -> str:
    return click.style(text, fg=colour) if colour_enabled(sys.stderr if err else sys.stdout) else text


PHASE_COLOURS = {"Succeeded": "green", "completed": "green", "Failed": "red", "failed": "red",
                 "Cancelled": "yellow", "cancelled": "yellow", "Running": "cyan", "investigating": "cyan"}


def phase(text: str) -> str:
    return style(text, PHASE_COLOURS[text]) if text in PHASE_COLOURS else text


def age(timestamp: str | None) -> str:
    """kubectl's AGE: 5s, 3m, 2h, 4d."""
    if not timestamp:
        return "<unknown>"
    try:
        then = datetime.fromisoformat(str(timestamp).replace("Z", "+00:00"))
    except ValueError:
        return "<unknown>"
    if then.tzinfo is None:
        then = then.replace(tzinfo=UTC)
    seconds = max(0, int((datetime.now(UTC) - then).total_seconds()))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def dump(value: Any, fmt: str) -> str:
    if fmt == "yaml":
        return yaml.safe_dump(value, sort_keys=False, allow_unicode=True).rstrip("\n")
    return json.dumps(value, indent=2, ensure_ascii=False)


def table(rows: Sequence[Sequence[str]], headers: Sequence[str]) -> str:
    cells = [list(map(str, headers)), *[[("" if c is None else str(c)) for c in row] for row in rows]]
    widths = [max(len(click.unstyle(r[i])) for r in cells) for i in range(len(headers))]
    lines = []
    for row in cells:
        padded = [c + " " * (widths[i] - len(click.unstyle(c))) for i, c in enumerate(row)]
        lines.append("   ".join(padded).rstrip())
    return "\n".join(lines)


def render(items: Iterable[dict] | dict, fmt: str, *, kind: str, columns: Sequence[Column],
           wide: Sequence[Column] = (), name: Callable[[dict], str], single: bool = False,
           raw: Any = None) -> str:
    """One object (`single`) or a list in the chosen format; json/yaml print what the server sent."""
    objects = [items] if single else list(items)
    if fmt in ("json", "yaml"):
        return dump(raw if raw is not None else (objects[0] if single else objects), fmt)
    if fmt == "name":
        return "\n".join(f"{kind}/{name(o)}" for o in objects)
    cols = [*columns, *(wide if fmt == "wide" else ())]
    if not objects:
        return ""
    return table([[_cell(fn, o) for _, fn in cols] for o in objects], [h for h, _ in cols])


def _cell(fn: Callable[[dict], Any], obj: dict) -> str:
    try:
        value = fn(obj)
    except (KeyError, TypeError, AttributeError):
        value = None
    if value is None or value == "":
        return "<none>"
    if isinstance(value, list | tuple):
        return ",".join(map(str, value)) or "<none>"
    return str(value)


def log_line(line: str) -> str:
    """One of Shoal's own JSON log records (shared/logs.py, what a worker writes to its job's output) as
    `15:04:05 info  message key=value …`, local time; any other line exactly as it is. So `tasks logs`
    reads like a log, while an agent's own output (plain text, or JSON of another shape) is untouched."""
    record = parse_record(line)
    if record is None or not isinstance(record["ts"], int | float):
        return line
    when = datetime.fromtimestamp(record["ts"]).strftime("%H:%M:%S")
    level = str(record["level"])
    extra = " ".join(f"{key}={_field(value)}" for key, value in record.items()
                     if key not in RECORD_KEYS and key != "traceback")
    text = f"{when} {style(f'{level:5s}', 'red') if level in ('error', 'critical') else f'{level:5s}'} " \
           f"{record['msg']}" + (f"  {extra}" if extra else "")
    return text + (f"\n{record['traceback']}" if record.get("traceback") else "")


def _field(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, separators=(",", ":"), default=str)
    return json.dumps(text) if not text or any(c.isspace() for c in text) else text


def echo(text: str = "") -> None:
    if text:
        click.echo(text)


def info(text: str) -> None:
    """Progress and notes go to stderr, so stdout stays the command's data."""
    click.echo(text, err=True)


class Progress:
    """A Rich spinner on a terminal; otherwise one plain stderr line whenever the status text changes."""

    def __init__(self, label: str) -> None:
        self.label, self.last, self.status = label, None, None

    def __enter__(self) -> Progress:
        if interactive():
            from rich.console import Console  # the CLI's only Rich use: imported when a spinner is shown

            self.status = Console(stderr=True).status(self.label)
            self.status.__enter__()
        return self

    def update(self, text: str, detail: str = "") -> None:
        if self.status is not None:
            self.status.update(f"{self.label}: {text} {detail}".rstrip())
        elif text != self.last:
            info(f"{self.label}: {text}")
        self.last = text

    def __exit__(self, *exc: object) -> None:
        if self.status is not None:
            self.status.__exit__(*exc)
