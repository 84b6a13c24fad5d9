"""CPU of a process tree from /proc (Linux), the figure the machine's other load disturbs least. Not a
bench itself."""

from __future__ import annotations

import os
from pathlib import Path


def cpu_seconds(pid: int) -> float:
    """User and system CPU of a process and its children (gunicorn's worker); NaN where /proc cannot
    tell (not Linux, or the process is gone), so a figure is left out rather than made up."""
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    own = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return own + sum(cpu_seconds(int(child)) for child in children)
