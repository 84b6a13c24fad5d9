"""Deterministic review slices: the partition of one repository's review work into scan tasks.

- With `spec.paths`: one slice per path (sorted, de-duplicated); nothing else is reviewed.
- Without: from the repository tree at the scan's ref, one slice per top-level directory (sorted, at
  most MAX_DIR_SLICES), plus the root slice (path "") covering every other path: top-level files and
  the directories beyond the cap.
- A directory holding more than SLICE_BYTES of files is split, largest first, into its
  subdirectories, each its own slice, while the plan stays within MAX_SLICES; the directory's slice
  then covers only what is left (its own files and anything not split off).
- A slice's `excludes` lists the paths under it that other slices review.
A slice's id depends only on its path, so the same slice keeps its id across runs and spec
updates (findings, dropped output and slice status refer to it).
"""

from __future__ import annotations

import hashlib
import posixpath
from typing import Any

MAX_DIR_SLICES = 15
MAX_SLICES = 30
SLICE_BYTES = 1_000_000


def slice_id(path: str) -> str:
    return "slice-" + hashlib.sha256(("/" + path).encode()).hexdigest()[:12]


def needs_tree(spec: dict[str, Any]) -> bool:
    return not spec.get("paths")


def plan(spec: dict[str, Any], tree: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    """The slices of a scan; `tree` is the repository's entries (`{path, type, size?}`)."""
    if spec.get("paths"):
        return [{"sliceID": slice_id(p), "path": p, "title": p} for p in sorted(set(spec["paths"]))]
    dirs, sizes = _directories(tree or [])
    chosen = set(sorted(d for d in dirs if "/" not in d)[:MAX_DIR_SLICES])
    _split_large(chosen, dirs, sizes)
    out = []
    for path in ["", *sorted(chosen)]:
        entry: dict[str, Any] = {"sliceID": slice_id(path), "path": path, "title": path or "(repository root)"}
        excludes = sorted(d for d in chosen if _nearest_chosen_parent(d, chosen) == path)
        if excludes:
            entry["excludes"] = excludes
        out.append(entry)
    return out


def _directories(tree: list[dict[str, Any]]) -> tuple[set[str], dict[str, int]]:
    """Every directory (explicit or implied by a file's path) and the bytes of files beneath each."""
    dirs: set[str] = set()
    sizes: dict[str, int] = {}
    for entry in tree:
        path = entry["path"].strip("/")
        if not path:
            continue
        parent = posixpath.dirname(path)
        while parent:
            dirs.add(parent)
            parent = posixpath.dirname(parent)
        if entry.get("type") == "tree":
            dirs.add(path)
        elif isinstance(entry.get("size"), int):
            parent = posixpath.dirname(path)
            while parent:
                sizes[parent] = sizes.get(parent, 0) + entry["size"]
                parent = posixpath.dirname(parent)
    return dirs, sizes


def _split_large(chosen: set[str], dirs: set[str], sizes: dict[str, int]) -> None:
    """Split chosen directories over SLICE_BYTES into their subdirectories, largest first."""
    done: set[str] = set()
    while True:
        large = sorted((d for d in chosen if d not in done and sizes.get(d, 0) > SLICE_BYTES),
                       key=lambda d: (-sizes[d], d))
        if not large:
            return
        directory = large[0]
        done.add(directory)
        children = {d for d in dirs if posixpath.dirname(d) == directory}
        if children and 1 + len(chosen) + len(children) <= MAX_SLICES:  # +1: the root slice
            chosen |= children


def _nearest_chosen_parent(path: str, chosen: set[str]) -> str:
    parent = posixpath.dirname(path)
    while parent and parent not in chosen:
        parent = posixpath.dirname(parent)
    return parent
