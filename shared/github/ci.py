"""The CI state of a commit: GitHub check runs and commit statuses, folded into one verdict.

- `failure`: a check concluded failure, cancelled, timed_out, action_required, stale or
  startup_failure, or a status is failure/error;
- `pending`: otherwise, a check has not completed or a status is pending;
- `success`: every check and status passed (success, neutral, skipped);
- `none`: no checks and no statuses (no CI reports on this commit).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

PASSED = frozenset({"success", "neutral", "skipped"})


@dataclass
class CIState:
    state: str
    passed: list[str] = field(default_factory=list)
    pending: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)

    def view(self) -> dict[str, Any]:
        return {"state": self.state, "passed": self.passed, "pending": self.pending, "failed": self.failed}


def ci_state(check_runs: list[dict[str, Any]], statuses: list[dict[str, Any]]) -> CIState:
    result = CIState("none")
    for run in check_runs:
        name = str(run.get("name") or run.get("id"))
        if run.get("status") != "completed":
            result.pending.append(name)
        elif run.get("conclusion") in PASSED:
            result.passed.append(name)
        else:
            result.failed.append(name)
    for status in statuses:
        name = str(status.get("context") or "status")
        {"success": result.passed, "pending": result.pending}.get(status.get("state"), result.failed).append(name)
    if result.failed:
        result.state = "failure"
    elif result.pending:
        result.state = "pending"
    elif result.passed:
        result.state = "success"
    return result
