"""Wiring from strings: the route table and the event handler table name their handlers as
`"module:attribute"`, so the wiring imports nothing until a function builds its table (cold start),
and no package below the tables imports the handlers above it."""

from __future__ import annotations

import importlib
from typing import Any


def load(path: str) -> Any:
    """The object a `"package.module:attribute"` string names."""
    module, _, attr = path.partition(":")
    return getattr(importlib.import_module(module), attr)
