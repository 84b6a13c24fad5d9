"""The local executor: `ai` and `agent` tasks run the worker as a subprocess.

A watcher thread waits for each worker; a worker that exits without reporting a terminal phase
fails its task with the exit code and the tail of its output, so no task hangs in Running.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

from shared.config import get_settings
from shared.executor.base import ExecutorError, resolved_agent_json
from shared.logs import get_logger
from shared.store import Record

log = get_logger("executor")
WORKER = Path(__file__).resolve().parents[2] / "functions" / "worker" / "main.py"
# The worker inherits only what it needs: no cloud credentials of the platform itself.
_PASS_ENV = ("PATH", "HOME", "LANG", "PYTHONPATH", "SHOAL_LLM_PROVIDER", "SHOAL_LLM_MODEL", "SHOAL_LLM_BASE_URL",
             "OPENAI_API_KEY", "ANTHROPIC_API_KEY", "SHOAL_MOCK_SCRIPT", "SHOAL_LLM_TIMEOUT_SECONDS",
             "SHOAL_AGENT_MAX_ITERATIONS", "SHOAL_TOOL_TIMEOUT_SECONDS",
             "SHOAL_RUNTIMES_DIR", "SHOAL_OUTBOUND_ALLOW", "SHOAL_GITHUB_GIT_URL", "SHOAL_GIT_AUTHOR_NAME",
             "SHOAL_GIT_AUTHOR_EMAIL")


class LocalExecutor:
    name = "local"
    _instance: LocalExecutor | None = None
    _lock = threading.Lock()

    def __init__(self) -> None:
        self._procs: dict[tuple[str, str], subprocess.Popen] = {}
        self._logs = Path(tempfile.gettempdir()) / "shoal-worker-logs"
        self._logs.mkdir(exist_ok=True)

    @classmethod
    def instance(cls) -> LocalExecutor:
        with cls._lock:
            if cls._instance is None:
                cls._instance = cls()
            return cls._instance

    def start(self, task: Record) -> str:
        from shared.executor.sandbox import PROVIDER, requested, unsupported

        workspace = requested(task)
        if workspace is not None:  # never run a sandbox request unsandboxed
            raise ExecutorError(unsupported(workspace.provider) if workspace.provider != PROVIDER else
                                f"sandboxed execution ({PROVIDER}) needs the Kubernetes executor "
                                "(SHOAL_EXECUTOR=kubernetes)")
        spec = task.doc.get("spec", {})
        kind = spec.get("type")
        job = f"{task.name}-{task.doc.get('status', {}).get('attempts', 1)}"
        if kind == "container":
            engine = shutil.which("docker") or shutil.which("podman")
            raise ExecutorError("container tasks need the Kubernetes executor (SHOAL_EXECUTOR=kubernetes)"
                                + ("" if engine else "; no docker or podman found for local runs"))
        settings = get_settings()
        env = {k: os.environ[k] for k in _PASS_ENV if k in os.environ}
        env.update({"SHOAL_TASK_NAMESPACE": task.namespace, "SHOAL_TASK_NAME": task.name,
                    "SHOAL_TASK_SPEC": json.dumps(spec), "SHOAL_INTERNAL_URL": settings.internal_url,
                    "SHOAL_WORKER_TOKEN": settings.dev_token or "", "PYTHONUNBUFFERED": "1"})
        agent = resolved_agent_json(task)
        if agent is not None:
            env["SHOAL_TASK_AGENT"] = agent
        from shared.runtimes.git_secret import local_env

        env.update(local_env(task.namespace, spec))  # read only by git's credential helper in the worker
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(WORKER.parents[2]), env.get("PYTHONPATH")]))
        workspace = self._workspace(task)
        if workspace:
            env["SHOAL_WORKSPACE"] = workspace
        log_path = self._logs / f"{task.namespace}.{job}.log"
        out = open(log_path, "wb")  # noqa: SIM115 - handed to the child, closed by the watcher
        try:
            proc = subprocess.Popen([sys.executable, str(WORKER)], env=env, stdout=out, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, start_new_session=True)
        except OSError as exc:
            out.close()
            raise ExecutorError(f"could not start worker: {exc}") from None
        self._procs[(task.namespace, task.name)] = proc
        threading.Thread(target=self._watch, args=(task.namespace, task.name, proc, out, log_path),
                         daemon=True).start()
        return job

    @staticmethod
    def _workspace(task: Record) -> str | None:
        """A labrats job's workspaceFiles/workspaceUploads, written into a fresh workspace directory."""
        from shared.jobs.workspace_inputs import has_inputs, materialise

        if not has_inputs(task):
            return None
        directory = Path(tempfile.mkdtemp(prefix=f"shoal-{task.name}-"))
        try:
            materialise(task, directory)
        except Exception as exc:
            shutil.rmtree(directory, ignore_errors=True)
            raise ExecutorError(f"could not prepare the workspace: {getattr(exc, 'message', None) or exc}") from None
        return str(directory)

    def _watch(self, namespace: str, name: str, proc: subprocess.Popen, out, log_path: Path) -> None:
        code = proc.wait()
        out.close()
        self._procs.pop((namespace, name), None)
        from shared.models.task import TERMINAL_PHASES
        from shared.tasks.lifecycle import transition
        from shared.tasks.repository import tasks

        record = tasks.get(namespace, name)
        if record is None or record.doc.get("status", {}).get("phase") in TERMINAL_PHASES:
            return
        tail = log_path.read_text(errors="replace")[-500:].strip() if log_path.exists() else ""
        message = f"worker exited with code {code} without reporting" + (f": {tail}" if tail else "")
        try:
            transition(namespace, name, "Failed", message=message)
        except Exception:
            log.exception("could not fail task after worker exit", extra={"fields": {"task": name}})

    def logs(self, task: Record) -> str | None:
        job = task.doc.get("status", {}).get("jobName")
        path = self._logs / f"{task.namespace}.{job}.log"
        if not job or not path.exists():
            return None
        return "\n".join(path.read_text(errors="replace").splitlines()[-100:])

    def poll(self, task: Record) -> tuple[str, str] | None:
        return None  # the watcher thread of the process that started the worker reports its exit

    def stop(self, namespace: str, name: str) -> None:
        proc = self._procs.get((namespace, name))
        if proc and proc.poll() is None:
            proc.terminate()

    def release(self, namespace: str, name: str) -> None:
        return None  # a finished worker process holds nothing
