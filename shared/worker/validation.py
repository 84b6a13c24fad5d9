"""Validation commands (a repository monitor's `validation.commands`, carried to its review task as
`spec.workspace.validationCommands`): run by the worker in the cloned workspace before the agent, so
the reviewer sees real results and the monitor can gate the review on them (docs/github.md).

Each command runs with `sh -c` in the workspace, in its own process group, under
SHOAL_VALIDATION_COMMAND_TIMEOUT_SECONDS; the worker's own credentials stay out of its environment.
A command that exits non-zero, times out or cannot start has failed.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

OUTPUT_TAIL = 4000
# What a validation command inherits from the worker: enough to build and test, no tokens.
_KEPT_ENV = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "GOPATH", "GOCACHE", "PIP_CACHE_DIR", "npm_config_cache")


def run_validation(commands: list[str], workspace: Path, timeout: float) -> list[dict[str, Any]]:
    env = {k: os.environ[k] for k in _KEPT_ENV if k in os.environ}
    env.setdefault("PATH", "/usr/local/bin:/usr/bin:/bin")
    results = []
    for command in commands:
        print(f"[validation] {command}", flush=True)
        try:
            done = subprocess.run(["/bin/sh", "-c", command], cwd=workspace, env=env, capture_output=True,
                                  timeout=timeout, start_new_session=True, check=False)
            code, output = done.returncode, (done.stdout + done.stderr).decode("utf-8", errors="replace")
        except subprocess.TimeoutExpired as exc:
            code = None
            output = ((exc.stdout or b"") + (exc.stderr or b"")).decode("utf-8", errors="replace")
            output += f"\n[timed out after {timeout:g}s]"
        except OSError as exc:
            code, output = None, f"[could not start: {exc}]"
        results.append({"command": command, "exitCode": code, "passed": code == 0, "output": output[-OUTPUT_TAIL:]})
        print(f"[validation] {'passed' if code == 0 else 'failed'} (exit {code})", flush=True)
    return results


def validation_prompt(results: list[dict[str, Any]]) -> str:
    """The section the reviewer reads before its instructions."""
    failed = [r for r in results if not r["passed"]]
    lines = ["Validation commands ran in the workspace before this review"
             + (f"; {len(failed)} failed, so the review must not pass:" if failed else "; all passed:")]
    for r in results:
        lines.append(f"- `{r['command']}`: {'passed' if r['passed'] else 'FAILED'} (exit {r['exitCode']})")
        if not r["passed"] and r["output"].strip():
            lines.append("  output (tail):\n" + "\n".join("    " + line for line in r["output"].splitlines()[-40:]))
    return "\n".join(lines)
