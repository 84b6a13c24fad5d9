"""Unified diffs: parse and verify a patch proposal's diff, and apply it to a file's text.

Verification (a proposal is successful only when it passes): the diff has at least one file
section (`--- a/x` / `+++ b/x`), every path is repository-relative (no absolute paths, no `..`),
every hunk header is well formed and each hunk's line counts match its body.
Application is strict: context and removed lines must match at the hunk's position (no fuzz).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_HUNK = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")
DEV_NULL = "/dev/null"


class DiffError(ValueError):
    pass


@dataclass
class Hunk:
    old_start: int
    old_len: int
    new_start: int
    new_len: int
    lines: list[str] = field(default_factory=list)  # each starts with " ", "-" or "+"


@dataclass
class FilePatch:
    old_path: str | None  # None: a new file
    new_path: str | None  # None: a deleted file
    hunks: list[Hunk] = field(default_factory=list)

    @property
    def path(self) -> str:
        return self.new_path or self.old_path or ""


def _path(raw: str) -> str | None:
    raw = raw.split("\t")[0].strip()
    if raw == DEV_NULL:
        return None
    if raw.startswith(("a/", "b/")):
        raw = raw[2:]
    if not raw or raw.startswith("/") or ".." in raw.split("/") or "\\" in raw:
        raise DiffError(f"invalid path in diff: {raw!r}")
    return raw


def parse(diff: str) -> list[FilePatch]:
    """The file patches of a unified diff; DiffError when it is not a well-formed one."""
    files: list[FilePatch] = []
    lines = diff.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("--- ") and i + 1 < len(lines) and lines[i + 1].startswith("+++ "):
            current = FilePatch(_path(line[4:]), _path(lines[i + 1][4:]))
            if current.old_path is None and current.new_path is None:
                raise DiffError("a file section names /dev/null twice")
            files.append(current)
            i += 2
            while i < len(lines) and lines[i].startswith("@@"):
                match = _HUNK.match(lines[i])
                if not match:
                    raise DiffError(f"malformed hunk header: {lines[i]!r}")
                hunk = Hunk(int(match[1]), int(match[2] if match[2] is not None else 1), int(match[3]),
                            int(match[4] if match[4] is not None else 1))
                i += 1
                old = new = 0
                while i < len(lines) and (old < hunk.old_len or new < hunk.new_len):
                    body = lines[i]
                    if body.startswith("\\"):
                        i += 1
                        continue
                    tag = body[:1] or " "  # an empty line is an empty context line
                    if tag not in " -+":
                        break
                    hunk.lines.append(tag + body[1:])
                    old += tag in " -"
                    new += tag in " +"
                    i += 1
                while i < len(lines) and lines[i].startswith("\\"):
                    i += 1
                if (old, new) != (hunk.old_len, hunk.new_len):
                    raise DiffError(f"hunk line counts do not match its header in {current.path}")
                current.hunks.append(hunk)
            if not current.hunks:
                raise DiffError(f"no hunks for {current.path}")
            continue
        i += 1
    if not files:
        raise DiffError("the diff touches no files")
    return files


def verify(summary: str | None, diff: str | None) -> list[str]:
    """The files a verified proposal touches; DiffError with the reason otherwise."""
    if not isinstance(summary, str) or not summary.strip():
        raise DiffError("the patch summary is empty")
    if not isinstance(diff, str) or not diff.strip():
        raise DiffError("the diff is empty")
    return [f.path for f in parse(diff)]


def apply(patch: FilePatch, text: str | None) -> str | None:
    """The file's new text (None: deleted); DiffError when a hunk does not match."""
    if patch.new_path is None:
        return None
    source = (text or "").splitlines()
    trailing_newline = text is None or text == "" or text.endswith("\n")
    out: list[str] = []
    position = 0  # index into source
    for hunk in patch.hunks:
        start = max(hunk.old_start - 1, 0) if hunk.old_len else hunk.old_start
        if start < position or start > len(source):
            raise DiffError(f"patch does not apply to {patch.path}")
        out.extend(source[position:start])
        position = start
        for line in hunk.lines:
            tag, content = line[0], line[1:]
            if tag in " -":
                if position >= len(source) or source[position] != content:
                    raise DiffError(f"patch does not apply to {patch.path}")
                position += 1
            if tag in " +":
                out.append(content)
    out.extend(source[position:])
    return "\n".join(out) + ("\n" if trailing_newline and out else "")
