"""Deterministic review slices: the partition of one repository's review work into scan tasks.

A slice is one top-level path of `spec.paths` (sorted, de-duplicated), or the whole repository
(path "") when no paths are given. A slice's id depends only on its path, so the same slice keeps
its id across runs and spec updates (findings, dropped output and slice status refer to it).
"""

from __future__ import annotations

import hashlib
from typing import Any


def slice_id(path: str) -> str:
    return "slice-" + hashlib.sha256(("/" + path).encode()).hexdigest()[:12]


def plan(spec: dict[str, Any]) -> list[dict[str, str]]:
    paths = spec.get("paths") or [""]
    return [{"sliceID": slice_id(p), "path": p, "title": p or "(repository root)"} for p in sorted(set(paths))]
