"""code_exec: run python, javascript or bash in a separate, limited process.

Sandbox (in this process's reach; in a cluster a separate sandbox pod is the stronger boundary):
a fresh empty temporary directory as cwd and HOME, an environment with nothing but PATH/LANG (no
credentials of the worker), its own session (the whole process group is killed on timeout),
rlimits on CPU seconds, address space, file size, open files and process count, a wall-clock
cap of 60 s, and stdout/stderr each capped.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from typing import Any

from shared.agent.tools import Tool, fail, ok
from shared.llm.base import ToolSpec

MAX_TIMEOUT = 60
OUTPUT_CAP = 64 * 1024
MEMORY_BYTES = 512 * 1024 * 1024
FILE_BYTES = 16 * 1024 * 1024
MAX_PROCESSES = 64


def _interpreter(language: str) -> list[str] | None:
    if language == "python":
        return [sys.executable, "-I", "-S"]
    if language == "javascript":
        node = shutil.which("node")
        return [node] if node else None
    if language == "bash":
        bash = shutil.which("bash")
        return [bash, "--noprofile", "--norc"] if bash else None
    return None


def _user_processes() -> int:
    """Processes this user runs now: RLIMIT_NPROC counts them all, not just the sandbox's."""
    uid, count = os.getuid(), 0
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError):
                count += os.stat(f"/proc/{entry}").st_uid == uid
    return count


def _limits(cpu_seconds: int):
    processes = _user_processes() + MAX_PROCESSES

    def apply() -> None:
        import resource

        resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + 1))
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_BYTES, MEMORY_BYTES))
        resource.setrlimit(resource.RLIMIT_FSIZE, (FILE_BYTES, FILE_BYTES))
        resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))
        resource.setrlimit(resource.RLIMIT_NPROC, (processes, processes))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    return apply


def _cap(data: bytes) -> tuple[str, bool]:
    return data[:OUTPUT_CAP].decode("utf-8", errors="replace"), len(data) > OUTPUT_CAP


def run_code(args: dict[str, Any]) -> dict:
    language, code = args.get("language"), args.get("code")
    if language not in ("python", "javascript", "bash"):
        return fail("language must be one of python, javascript, bash")
    if not isinstance(code, str) or not code:
        return fail("code is required")
    try:
        timeout = min(MAX_TIMEOUT, max(1, int(args.get("timeout", MAX_TIMEOUT))))
    except (TypeError, ValueError):
        return fail("timeout must be a number of seconds")
    command = _interpreter(language)
    if command is None:
        return fail(f"no {language} runtime is available on this worker", "internal_error")
    with tempfile.TemporaryDirectory(prefix="code-exec-") as sandbox:
        script = os.path.join(sandbox, {"python": "main.py", "javascript": "main.js", "bash": "main.sh"}[language])
        with open(script, "w") as handle:
            handle.write(code)
        env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": sandbox, "TMPDIR": sandbox, "LANG": "C.UTF-8"}
        proc = subprocess.Popen([*command, script], cwd=sandbox, env=env, stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
                                preexec_fn=_limits(timeout))
        timed_out = False
        try:
            stdout, stderr = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            os.killpg(proc.pid, signal.SIGKILL)
            stdout, stderr = proc.communicate()
    out, out_cut = _cap(stdout)
    err, err_cut = _cap(stderr)
    return ok({"exitCode": proc.returncode, "stdout": out, "stderr": err, "timedOut": timed_out,
               "truncated": out_cut or err_cut})


def code_exec_tool() -> Tool:
    return Tool(ToolSpec("code_exec", "Execute code in a sandboxed environment", {
        "type": "object", "required": ["language", "code"], "properties": {
            "language": {"type": "string", "enum": ["python", "javascript", "bash"]},
            "code": {"type": "string"},
            "timeout": {"type": "integer", "description": "Seconds (max 60)", "default": MAX_TIMEOUT}}}), run_code)
