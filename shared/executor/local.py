"""The local executor: `ai` and `agent` tasks run the worker as a process of its own.

Workers are forked from a fork server that has the worker's modules imported (shared/worker/forkserver.py,
one per dispatcher process, started with its first task): a fresh interpreter per task cost about
0.3 s of CPU in imports, which at a few tasks a second was most of a 2-core machine and delayed
every other task's start (docs/performance.md). Each worker still has its own process, session,
environment (only what a worker needs) and output file, as `python functions/worker/main.py` had.

A watcher thread waits for each worker; a worker that exits without reporting a terminal phase
fails its attempt (reason WorkerLost) with the exit code and the tail of its output. The watcher
lives in the dispatcher's process: when that process (or its fork server) dies the workers live on
(their own session) and keep heartbeating, and a worker that dies meanwhile is reclaimed by the
scheduler once its lease lapses (shared/tasks/leases.py), so no task hangs in Running either way.
"""

from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path
from typing import BinaryIO

from shared.catalog.git_credentials import local_env
from shared.config import get_settings
from shared.executor import local_files as files
from shared.executor.base import ExecutorError, JobOutcome, WorkerExit
from shared.executor.images import LOCAL_NOTE
from shared.executor.redact import scrub_paths
from shared.executor.sandbox import PROVIDER, requested, unsupported
from shared.executor.workspace_inputs import has_inputs, materialise
from shared.forking import Forked, ForkServer
from shared.llm.registry import worker_environment
from shared.logs import get_logger
from shared.models.worker_contract import (
    INTERNAL_URL_ENV,
    TASK_ATTEMPT_ENV,
    TASK_LEASE_SECONDS_ENV,
    TASK_NAME_ENV,
    TASK_NAMESPACE_ENV,
    WORKER_TOKEN_ENV,
    WORKSPACE_ENV,
)
from shared.observability import tracing
from shared.store import Record

log = get_logger("executor")
WORKER = Path(__file__).resolve().parents[2] / "functions" / "worker" / "main.py"
# The worker inherits only what it needs: no cloud credentials of the platform itself.
_PASS_ENV = ("PATH", "HOME", "LANG", "PYTHONPATH", "SHOAL_LLM_PROVIDER", "SHOAL_LLM_MODEL", "SHOAL_LLM_BASE_URL",
             "OPENAI_API_KEY", "ANTHROPIC_API_KEY", "SHOAL_MOCK_SCRIPT", "SHOAL_LLM_TIMEOUT_SECONDS",
             "SHOAL_AGENT_MAX_ITERATIONS", "SHOAL_TOOL_TIMEOUT_SECONDS",
             "SHOAL_RUNTIMES_DIR", "SHOAL_OUTBOUND_ALLOW", "SHOAL_GITHUB_GIT_URL", "SHOAL_GIT_AUTHOR_NAME",
             "SHOAL_GIT_AUTHOR_EMAIL", "SHOAL_LLM_PROVIDERS")


class LocalExecutor:
    name = "local"
    _instance: LocalExecutor | None = None
    _lock = threading.Lock()

    def __init__(self) -> None:
        self._procs: dict[tuple[str, str], Forked] = {}
        self._live: set[Path] = set()  # logs of the workers this process starts or watches: never pruned
        self._swept: set[Path] = set()  # the workers' directories swept since this process started
        self._forker: ForkServer | None = None
        self._forker_lock = threading.Lock()

    def _fork_server(self, env: dict[str, str]) -> ForkServer:
        """The fork server of this process's workers, started (again, if it died) with the environment
        every worker shares: only the variables a worker is passed, no credentials of the platform."""
        with self._forker_lock:
            if self._forker is None or not self._forker.alive():
                shared = {k: v for k, v in env.items() if k in _PASS_ENV or k.startswith("OTEL_")}
                # named, not imported: the worker's package imports this one's
                self._forker = ForkServer({**shared, "PYTHONUNBUFFERED": "1"}, "shared.worker.forkserver")
            return self._forker

    @classmethod
    def instance(cls) -> LocalExecutor:
        with cls._lock:
            if cls._instance is None:
                cls._instance = cls()
            return cls._instance

    def start(self, task: Record, on_worker_exit: WorkerExit) -> str:
        workspace = requested(task)
        if workspace is not None:  # never run a sandbox request unsandboxed
            raise ExecutorError(unsupported(workspace.provider) if workspace.provider != PROVIDER else
                                f"sandboxed execution ({PROVIDER}) needs the Kubernetes executor "
                                "(SHOAL_EXECUTOR=kubernetes)")
        spec = task.doc.get("spec", {})
        kind = spec.get("type")
        attempt = int(task.doc.get("status", {}).get("attempts", 1)) or 1
        job = f"{task.name}-{attempt}"
        if kind == "container":
            engine = shutil.which("docker") or shutil.which("podman")
            raise ExecutorError("container tasks need the Kubernetes executor (SHOAL_EXECUTOR=kubernetes)"
                                + ("" if engine else "; no docker or podman found for local runs"))
        settings = get_settings()
        env = {k: v for k, v in os.environ.items() if k in _PASS_ENV or k.startswith("OTEL_")}
        # The configured providers' settings and keys (shared/llm/registry.py worker_environment), as in a Job.
        values, secret_keys = worker_environment(settings)
        env.update(dict(values))
        env.update({k: os.environ[k] for k in secret_keys if k in os.environ})
        env.update(tracing.worker_env())  # the dispatch span's context, for the worker's own span
        # The spec (up to the API's 15 MiB) and the resolved agent are read through the worker API:
        # one environment variable holds at most 128 KiB.
        env.update({TASK_NAMESPACE_ENV: task.namespace, TASK_NAME_ENV: task.name,
                    TASK_ATTEMPT_ENV: str(attempt), TASK_LEASE_SECONDS_ENV: str(settings.task_lease_seconds),
                    INTERNAL_URL_ENV: settings.internal_url,
                    WORKER_TOKEN_ENV: settings.dev_token or "", "PYTHONUNBUFFERED": "1"})

        env.update(local_env(task.namespace, spec))  # read only by git's credential helper in the worker
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(WORKER.parents[2]), env.get("PYTHONPATH")]))
        self._sweep_once()
        log_path = files.log_path(task.namespace, task.name, job)
        log_path.parent.mkdir(parents=True, exist_ok=True)
        workspace = self._workspace(task)
        if workspace:
            env[WORKSPACE_ENV] = workspace
        self._live.add(log_path)
        try:
            proc, out = self._fork(env, log_path, spec)
        except BaseException:
            self._live.discard(log_path)
            files.remove_workspace(workspace)  # no worker will use it
            raise
        files.record_run(log_path, proc.pid, workspace)
        self._procs[(task.namespace, task.name)] = proc
        threading.Thread(target=self._watch, args=(task.namespace, task.name, attempt, proc, out, log_path, workspace,
                                                   on_worker_exit), daemon=True).start()
        return job

    def _fork(self, env: dict[str, str], log_path: Path, spec: dict) -> tuple[Forked, BinaryIO]:
        """Fork the worker with `log_path` as its output: the process, and the output file the watcher closes."""
        out = open(log_path, "wb")  # noqa: SIM115 - handed to the child, closed by the watcher
        if spec.get("executorImage"):  # recorded where the job's reader looks: its logs
            out.write(f"[executor] executorImage {spec['executorImage']} is not applied: {LOCAL_NOTE}\n".encode())
            out.flush()
        try:
            return self._fork_server(env).ask({"env": env, "cwd": os.getcwd(), "detached": True}, out.fileno(),
                                              "the worker"), out
        except OSError as exc:
            out.close()  # strerror only: str(exc) names the server's interpreter path
            raise ExecutorError(f"could not start worker: {exc.strerror or type(exc).__name__}") from None
        except RuntimeError as exc:  # the fork server's own words: it exited, or did not answer
            out.close()
            raise ExecutorError(f"could not start worker: {exc}") from None

    def _sweep_once(self) -> None:
        """On this process's first start in a state directory: finish the workers an earlier dispatcher
        lost and that have exited since (their workspaces), and hold the directory to its bound."""
        base = files.root()
        if base not in self._swept:
            self._swept.add(base)
            files.sweep(base)
            files.prune(self._live)

    @staticmethod
    def _workspace(task: Record) -> str | None:
        """A labrats job's workspaceFiles/workspaceUploads, written into a fresh workspace directory."""
        if not has_inputs(task):
            return None
        directory = files.new_workspace(task.name)
        try:
            materialise(task, directory)
        except Exception as exc:
            files.remove_workspace(str(directory))
            raise ExecutorError(f"could not prepare the workspace: {getattr(exc, 'message', None) or exc}") from None
        return str(directory)

    def _watch(self, namespace: str, name: str, attempt: int, proc: Forked, out: BinaryIO, log_path: Path,
               workspace: str | None, on_worker_exit: WorkerExit) -> None:
        code = proc.wait()
        out.close()
        if self._procs.get((namespace, name)) is proc:
            self._procs.pop((namespace, name), None)
        # code None: the fork server died first; whether and how the worker ended, its lease tells (and its
        # workspace goes once its process has: local_files.sweep, forget or prune).
        if code is not None:
            self._report_exit(namespace, name, attempt, code, log_path, on_worker_exit)
            files.finished(log_path, workspace)
        self._live.discard(log_path)  # a run file left keeps its log from `prune` while the worker may run
        files.prune(self._live)

    @staticmethod
    def _report_exit(namespace: str, name: str, attempt: int, code: int, log_path: Path,
                     on_worker_exit: WorkerExit) -> None:
        try:
            tail = scrub_paths(log_path.read_text(errors="replace")[-500:].strip()) if log_path.exists() else ""
            message = f"worker exited with code {code} without reporting" + (f": {tail}" if tail else "")
            on_worker_exit(namespace, name, attempt, message)  # a no-op when the worker had reported
        except Exception:  # the store unreachable: the attempt's lease lapses and the scheduler reclaims it
            log.exception("could not fail task after worker exit", extra={"fields": {"task": name}})

    def logs(self, task: Record) -> str | None:
        job = task.doc.get("status", {}).get("jobName")
        if not job:
            return None
        path = files.log_path(task.namespace, task.name, job)
        if not path.exists():
            return None
        return "\n".join(path.read_text(errors="replace").splitlines()[-100:])

    def poll(self, task: Record) -> JobOutcome | None:
        # The watcher thread of the process that started the worker reports its exit; when that
        # process is gone too, the worker's lapsed lease does (the scheduler reclaims it).
        return None

    def stop(self, namespace: str, name: str) -> None:
        proc = self._procs.get((namespace, name))
        if proc and proc.poll() is None:
            proc.terminate()

    def release(self, namespace: str, name: str) -> None:
        return None  # a finished worker's files stay for `logs()` until the task is deleted (`forget`)

    def forget(self, namespace: str, name: str) -> None:
        files.forget(namespace, name)
