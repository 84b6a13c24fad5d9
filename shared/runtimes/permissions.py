"""The answer to a runtime's `session/request_permission`: allow inside the workspace, deny outside.

A runtime asks before it edits, deletes, moves, reads or runs something. Shoal has no human in the
loop for a task, so a policy answers: anything whose paths all lie inside the workspace is allowed
(commands run in the worker's own sandbox, with the workspace as their directory); a write, read or
move that names a path outside it is denied, and the denial is written to the task's log, since no
approval mechanism exists for tasks yet.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Keys under which runtimes put paths in a tool call's raw input (Claude Code, Codex, OpenCode).
_PATH_KEYS = ("path", "file_path", "filePath", "notebook_path", "cwd", "workdir", "directory")
_ALLOW_KINDS = ("allow_once", "allow_always")


@dataclass(frozen=True)
class Verdict:
    option_id: str | None  # the option to select; None = deny
    title: str
    reason: str


def _paths(tool_call: Any) -> list[str]:
    paths = [loc.path for loc in getattr(tool_call, "locations", None) or [] if getattr(loc, "path", None)]
    raw = getattr(tool_call, "raw_input", None)
    if isinstance(raw, dict):
        paths += [str(raw[key]) for key in _PATH_KEYS if isinstance(raw.get(key), str) and raw[key]]
    return paths


def inside(path: str, workspace: Path) -> Path | None:
    """`path` (relative to the workspace, or absolute) resolved, when it lies in the resolved `workspace`."""
    target = Path(path)
    target = (target if target.is_absolute() else workspace / target).resolve()
    return target if target == workspace or workspace in target.parents else None


def decide(tool_call: Any, options: list[Any], workspace: Path) -> Verdict:
    workspace = workspace.resolve()
    title = getattr(tool_call, "title", None) or getattr(tool_call, "kind", None) or "tool call"
    strays = [p for p in _paths(tool_call) if inside(p, workspace) is None]
    if strays:
        return Verdict(None, title, f"{strays[0]} is outside the workspace and no approval mechanism is configured")
    for kind in _ALLOW_KINDS:
        for option in options:
            if getattr(option, "kind", None) == kind:
                return Verdict(option.option_id, title, "inside the workspace")
    return Verdict(None, title, "the runtime offered no option that allows it")
