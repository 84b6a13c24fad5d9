"""Deterministic review slices: the partition of one repository's review work into scan tasks.

- With `spec.paths`: one slice per path (sorted, de-duplicated); nothing else is reviewed.
- Without: one slice per top-level directory of the repository at the scan's ref (sorted, at most
  MAX_DIR_SLICES), plus the root slice (path "") covering every other path: top-level files and
  the directories beyond the cap (its `excludes` lists the directories reviewed separately).
A slice's id depends only on its path, so the same slice keeps its id across runs and spec
updates (findings, dropped output and slice status refer to it).
"""

from __future__ import annotations

import hashlib
from typing import Any

MAX_DIR_SLICES = 15


def slice_id(path: str) -> str:
    return "slice-" + hashlib.sha256(("/" + path).encode()).hexdigest()[:12]


def needs_tree(spec: dict[str, Any]) -> bool:
    return not spec.get("paths")


def plan(spec: dict[str, Any], top_level_dirs: list[str] | None = None) -> list[dict[str, Any]]:
    if spec.get("paths"):
        return [{"sliceID": slice_id(p), "path": p, "title": p} for p in sorted(set(spec["paths"]))]
    own = sorted(set(top_level_dirs or []))[:MAX_DIR_SLICES]
    root: dict[str, Any] = {"sliceID": slice_id(""), "path": "", "title": "(repository root)"}
    if own:
        root["excludes"] = own
    return [root, *({"sliceID": slice_id(d), "path": d, "title": d} for d in own)]
