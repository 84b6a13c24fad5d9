"""file_read / file_write: confined to the task's workspace directory.

A path is resolved (symlinks followed) and must stay inside the resolved workspace root, so
`../` traversal, absolute paths elsewhere and symlinks pointing out are all refused. Writes open
the final component with O_NOFOLLOW, so a symlink swapped in after the check is refused too.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from shared.agent.tools import Tool, fail, ok
from shared.llm.base import ToolSpec

MAX_READ = 1024 * 1024
MAX_WRITE = 10 * 1024 * 1024


class Escape(ValueError):
    pass


def confine(root: Path, path: str) -> Path:
    """The resolved target of `path` inside `root`; Escape when it would leave the workspace."""
    if not isinstance(path, str) or not path or "\0" in path:
        raise Escape("path is required")
    base = root.resolve()
    target = (base / path).resolve()
    if target != base and base not in target.parents:
        raise Escape(f"path {path!r} is outside the workspace")
    return target


def _read(root: Path, args: dict[str, Any]) -> dict:
    try:
        target = confine(root, args.get("path", ""))
    except Escape as exc:
        return fail(str(exc), "permission_denied")
    try:
        offset = max(0, int(args.get("offset", 0)))
        limit = min(MAX_READ, max(1, int(args.get("limit", MAX_READ))))
    except (TypeError, ValueError):
        return fail("offset and limit must be integers")
    if not target.is_file():
        return fail(f"file {args['path']!r} not found", "not_found")
    size = target.stat().st_size
    with open(target, "rb") as handle:
        handle.seek(offset)
        data = handle.read(limit)
    return ok({"path": args["path"], "content": data.decode("utf-8", errors="replace"), "size": size,
               "offset": offset, "truncated": offset + len(data) < size})


def _write(root: Path, args: dict[str, Any]) -> dict:
    content = args.get("content")
    if not isinstance(content, str):
        return fail("content is required")
    mode = args.get("mode", "write")
    if mode not in ("write", "append"):
        return fail("mode must be write or append")
    data = content.encode()
    if len(data) > MAX_WRITE:
        return fail("content exceeds 10MB")
    try:
        target = confine(root, args.get("path", ""))
        if args.get("create_dirs"):
            confine(root, os.path.relpath(target.parent, root.resolve()))
            target.parent.mkdir(parents=True, exist_ok=True)
        if not target.parent.is_dir():
            return fail("parent directory does not exist; set create_dirs", "not_found")
        confine(root, os.path.relpath(target.parent.resolve(), root.resolve()))
        flags = os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW | (os.O_APPEND if mode == "append" else os.O_TRUNC)
        fd = os.open(target, flags, 0o644)
    except Escape as exc:
        return fail(str(exc), "permission_denied")
    except OSError as exc:
        return fail(f"cannot write {args.get('path')!r}: {exc.strerror}", "permission_denied")
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    return ok({"path": args["path"], "bytesWritten": len(data), "mode": mode})


def file_read_tool(root: Path) -> Tool:
    return Tool(ToolSpec("file_read", "Read a file from the task workspace", {
        "type": "object", "required": ["path"], "properties": {
            "path": {"type": "string", "description": "Path relative to the workspace"},
            "offset": {"type": "integer", "description": "Byte offset to start at", "default": 0},
            "limit": {"type": "integer", "description": "Bytes to read (max 1MB)", "default": MAX_READ}}}),
        lambda args: _read(root, args))


def file_write_tool(root: Path) -> Tool:
    return Tool(ToolSpec("file_write", "Write or append a file in the task workspace", {
        "type": "object", "required": ["path", "content"], "properties": {
            "path": {"type": "string"}, "content": {"type": "string"},
            "mode": {"type": "string", "enum": ["write", "append"], "default": "write"},
            "create_dirs": {"type": "boolean", "default": False}}}),
        lambda args: _write(root, args))
