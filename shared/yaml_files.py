"""YAML reading, with libyaml's C loader when PyYAML has it (5–10× the pure-Python one on the
hundreds-of-kilobytes CRDs and manifests Shoal reads), and the same safe semantics either way."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import yaml

SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load(text: str | bytes | Any) -> Any:
    """One document (text or an open file), as yaml.safe_load reads it."""
    return yaml.load(text, Loader=SafeLoader)  # noqa: S506 - a safe loader, C or Python


def load_all(text: str | bytes | Any) -> Iterator[Any]:
    """Every document of a stream, as yaml.safe_load_all reads them."""
    return yaml.load_all(text, Loader=SafeLoader)  # noqa: S506 - a safe loader, C or Python
