"""One JSON log line per request and per event, on stderr, with the stdlib logger; inside a traced
span each line also names its `trace_id` (shared.observability.tracing)."""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import Any

from shared.observability import tracing
from shared.redact import redact_text

_configured = False
RECORD_KEYS = frozenset({"ts", "level", "logger", "msg"})  # every line JsonFormatter writes has these


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = {"ts": round(time.time(), 3), "level": record.levelname.lower(), "logger": record.name,
                "msg": record.getMessage()}
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            line.update(fields)
        trace_id = tracing.trace_id()  # None unless tracing is on and this line is written inside a span
        if trace_id:
            line.setdefault("trace_id", trace_id)
        if record.exc_info:
            line["traceback"] = self.formatException(record.exc_info)
        # Last, over the whole line: a token in a message, a field or a traceback is masked alike.
        return redact_text(json.dumps(line, default=str))


def get_logger(name: str) -> logging.Logger:
    """A logger writing JSON lines; configures the root handler once per process."""
    global _configured
    if not _configured:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(JsonFormatter())
        root = logging.getLogger("shoal")
        root.addHandler(handler)
        root.setLevel(logging.INFO)
        root.propagate = False
        _configured = True
    return logging.getLogger(f"shoal.{name}")


def parse_record(line: str) -> dict[str, Any] | None:
    """The record of a line this module wrote (one JSON object with ts, level, logger and msg), else
    None: how a reader tells a worker's own records from the rest of its job's output."""
    if not line.startswith("{"):
        return None
    try:
        record = json.loads(line)
    except ValueError:
        return None
    return record if isinstance(record, dict) and record.keys() >= RECORD_KEYS else None
