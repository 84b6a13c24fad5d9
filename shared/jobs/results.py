"""A job's result text (the task's result blob) and log lines."""

from __future__ import annotations

from shared.executor.factory import job_output
from shared.logs import parse_record
from shared.store import Record
from shared.tasks.repository import result_text


def read_result(record: Record, *, limit: int | None = None) -> str | None:
    text = result_text(record)
    return text[:limit] if limit and text is not None else text


def user_lines(output: str) -> list[str]:
    """What the job printed for a person (the runtime's or the tool loop's lines), without the worker's
    structured records; those stay in the platform's logs (the pod's, or the local worker log)."""
    return [line for line in output.splitlines() if parse_record(line) is None]


def live_log_lines(record: Record) -> list[str]:
    """The spec's source order: the executor's live output of the job's task when it has any, else
    status.logs[] (the RWX log file of pipeline jobs does not exist here)."""
    return user_lines(job_output(record)) or log_lines(record)


def log_lines(record: Record) -> list[str]:
    """status.logs[] (the spec's fallback source); a terminal message when no logs were recorded."""
    status = record.doc.get("status", {})
    lines = [str(x) for x in status.get("logs") or []]
    if not lines and status.get("phase") in ("Succeeded", "Failed", "Cancelled") and status.get("message"):
        lines.append(str(status["message"]))
    return lines
