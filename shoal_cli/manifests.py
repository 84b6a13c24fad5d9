"""Reading `-f` manifests: YAML or JSON, several documents per file, `-` for stdin, `List` kinds expanded."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click
import yaml

from shared import yaml_files


def load_manifests(filename: str) -> list[dict[str, Any]]:
    try:
        text = sys.stdin.read() if filename == "-" else Path(filename).read_text()
    except OSError as exc:
        raise click.UsageError(f"cannot read {filename}: {exc.strerror}") from exc
    try:
        docs = [d for d in yaml_files.load_all(text) if d is not None]
    except yaml.YAMLError as exc:
        raise click.UsageError(f"{filename}: not valid YAML: {exc}") from exc
    out: list[dict[str, Any]] = []
    for doc in docs:
        if not isinstance(doc, dict):
            raise click.UsageError(f"{filename}: every document must be a mapping")
        if doc.get("kind") == "List" or (isinstance(doc.get("items"), list) and "kind" not in doc):
            out.extend(doc.get("items") or [])
        else:
            out.append(doc)
    if not out:
        raise click.UsageError(f"{filename}: no manifests")
    return out
