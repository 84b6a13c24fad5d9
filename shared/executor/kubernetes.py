"""The Kubernetes Jobs executor: one Job per task attempt, read back and deleted through the API.

- `container` tasks run the spec's image/command/args/env/resources;
- `ai` and `agent` tasks run the worker (`python /app/functions/worker/main.py`) in the Shoal image with
  SHOAL_TASK_NAMESPACE/NAME/ATTEMPT in its environment (it reads its spec and resolved agent through
  the worker API: no size limit from the Job object or the environment); LLM keys come from the
  optional Secret `shoal-llm`, never as literal values in the Job;
- a Job that vanished, or whose pod failed before the worker reported, is a lost worker
  (reason WorkerLost, retried per `retryPolicy` like a lapsed lease);
- `activeDeadlineSeconds` comes from `spec.timeout`; `backoffLimit` is 0 because retries are the
  scheduler's (per `retryPolicy`), so a failed pod is a failed attempt;
- a worker task's `spec.executorImage` (a labrats job's `config.executorImage`) replaces the worker's
  image only when SHOAL_JOBS_EXECUTOR_IMAGES allows it (shared/executor/images.py); otherwise the
  attempt fails to start with the reason, never runs the image;
- a `spec.workspace.gitRepo` is cloned by an init container into an emptyDir mounted at /workspace;
- every object carries `orka.ai/*` labels, so a task's Jobs and pods are found by label;
- a task with an enabled `spec.execution.workspace` runs the same pod in an agent-sandbox Sandbox
  instead, never as a Job (`shared/executor/sandbox.py`).
"""

from __future__ import annotations

import hashlib
from typing import Any

from shared.catalog.git_credentials import job_env
from shared.config import get_settings
from shared.duration import parse_go_duration
from shared.executor import sandbox
from shared.executor.base import ExecutorError, JobOutcome, WorkerExit
from shared.executor.images import refusal
from shared.executor.kube_common import LOG_LINES, TASK_LABEL, api_error, label_value
from shared.executor.workspace_inputs import has_inputs
from shared.kube import batch_v1, core_v1
from shared.llm.registry import worker_environment
from shared.logs import get_logger
from shared.models.worker_contract import (
    INTERNAL_URL_ENV,
    RESOLVED_AGENT_KIND,
    TASK_ATTEMPT_ENV,
    TASK_LEASE_SECONDS_ENV,
    TASK_NAME_ENV,
    TASK_NAMESPACE_ENV,
    WORKER_LOST,
    WORKER_TYPES,
    WORKSPACE_ENV,
    runtime_type,
)
from shared.observability import tracing
from shared.store import ObjectStore, Record

log = get_logger("executor")
# Absolute: a git workspace sets the container's workingDir to /workspace (see the Dockerfile for /app).
WORKER_COMMAND = ["python", "/app/functions/worker/main.py"]
FETCH_COMMAND = ["python", "-m", "shared.worker.workspace_fetch"]
GIT_IMAGE = "alpine/git:2.45.2"
WORKSPACE = "/workspace"
LLM_SECRET = "shoal-llm"


def job_name(task: str, attempt: int) -> str:
    """`<task>-<attempt>`, shortened with a hash to the 63 characters a Job's pod label allows."""
    name = f"{task}-{attempt}"
    if len(name) <= 63:
        return name
    digest = hashlib.sha256(task.encode()).hexdigest()[:8]
    return f"{task[:63 - len(digest) - len(str(attempt)) - 2].rstrip('-.')}-{digest}-{attempt}"


def _labels(task: Record, attempt: int) -> dict[str, str]:
    spec = task.doc.get("spec", {})
    labels = {"app.kubernetes.io/managed-by": "shoal", "app.kubernetes.io/component": "task-worker",
              TASK_LABEL: label_value(task.name), "orka.ai/task-type": spec.get("type", ""),
              "orka.ai/attempt": str(attempt)}
    agent = (spec.get("agentRef") or {}).get("name")
    if agent:
        labels["orka.ai/agent"] = label_value(agent)
    parent = task.doc.get("metadata", {}).get("labels", {}).get("orka.ai/parent-task")
    if parent:
        labels["orka.ai/parent-task"] = label_value(parent)
    return labels


def _env(spec: dict[str, Any]) -> list[dict[str, Any]]:
    return [{k: v for k, v in var.items() if v is not None} for var in spec.get("env") or []]


def _worker_env(task: Record, attempt: int) -> list[dict[str, Any]]:
    settings = get_settings()
    env = [{"name": TASK_NAMESPACE_ENV, "value": task.namespace},
           {"name": TASK_NAME_ENV, "value": task.name},
           {"name": TASK_ATTEMPT_ENV, "value": str(attempt)},
           {"name": TASK_LEASE_SECONDS_ENV, "value": str(settings.task_lease_seconds)},
           {"name": INTERNAL_URL_ENV, "value": settings.internal_url},
           {"name": "SHOAL_PLATFORM", "value": "cluster"},
           {"name": "SHOAL_LLM_PROVIDER", "value": settings.llm_provider}]
    for name, value in (("SHOAL_LLM_MODEL", settings.llm_model), ("SHOAL_LLM_BASE_URL", settings.llm_base_url),
                        ("SHOAL_LLM_PROVIDERS", settings.llm_providers)):
        if value:
            env.append({"name": name, "value": value})
    # The configured providers' settings and keys (gemini, azure-openai, vertex-anthropic, … too): keys only
    # as optional references into the `shoal-llm` Secret, never as values in the Job.
    values, secret_keys = worker_environment(settings)
    env += [{"name": name, "value": value} for name, value in values]
    for key in secret_keys:
        env.append({"name": key, "valueFrom": {"secretKeyRef": {"name": LLM_SECRET, "key": key, "optional": True}}})
    # With tracing on: the dispatch span's context and the exporter settings, so the worker's span joins the trace.
    env += [{"name": k, "value": v} for k, v in tracing.worker_env().items()]
    return env + _env(task.doc.get("spec", {}))


def _add_workspace_inputs(task: Record, pod: dict[str, Any], container: dict[str, Any]) -> None:
    """A labrats job's workspaceFiles/workspaceUploads: an init container downloads them into /workspace."""
    if not has_inputs(task):
        return
    settings = get_settings()
    mount = {"name": "workspace", "mountPath": WORKSPACE}
    pod.setdefault("volumes", [{"name": "workspace", "emptyDir": {}}])
    # After any git checkout (which needs an empty directory); same image and credential as the worker.
    pod.setdefault("initContainers", []).append({
        "name": "workspace-inputs", "image": settings.worker_image, "command": list(FETCH_COMMAND),
        "env": [{"name": TASK_NAMESPACE_ENV, "value": task.namespace},
                {"name": TASK_NAME_ENV, "value": task.name},
                {"name": INTERNAL_URL_ENV, "value": settings.internal_url},
                {"name": WORKSPACE_ENV, "value": WORKSPACE}],
        "volumeMounts": [mount]})
    container.setdefault("volumeMounts", [mount])
    if not any(var.get("name") == WORKSPACE_ENV for var in container["env"]):
        container["env"].append({"name": WORKSPACE_ENV, "value": WORKSPACE})


def _resolved_runtime(task: Record) -> str | None:
    """The runtime type (claude, codex, …) of the Agent resolved for the task's current attempt, if any."""
    record = ObjectStore(RESOLVED_AGENT_KIND).get(task.namespace, task.name)
    return runtime_type(record.doc.get("agent") if record else None)


def _add_worker_workspace(task: Record, pod: dict[str, Any], container: dict[str, Any]) -> None:
    """`ai`/`agent` tasks: the worker clones `workspace.gitRepo` itself (ref, depth, credential helper)
    into an emptyDir; the git credential arrives as optional `secretKeyRef`s, nothing else is mounted.
    A coding-agent runtime runs in the runtimes image, as a non-root user with its home on an emptyDir."""
    settings = get_settings()
    spec = task.doc.get("spec", {})
    mounts = [{"name": "workspace", "mountPath": WORKSPACE}]
    volumes = [{"name": "workspace", "emptyDir": {}}]
    if spec.get("type") == "agent" and _resolved_runtime(task):
        container["image"] = settings.runtime_image
        mounts.append({"name": "home", "mountPath": "/home/shoal"})
        volumes.append({"name": "home", "emptyDir": {}})
        container["env"].append({"name": "HOME", "value": "/home/shoal"})
        container["securityContext"] = {"runAsNonRoot": True, "runAsUser": 10001, "allowPrivilegeEscalation": False,
                                        "capabilities": {"drop": ["ALL"]}}
    if not (spec.get("workspace") or {}).get("gitRepo") and container["image"] == settings.worker_image:
        return
    pod["volumes"] = volumes
    container["volumeMounts"] = mounts
    container["workingDir"] = WORKSPACE
    container["env"] += [{"name": WORKSPACE_ENV, "value": WORKSPACE}, *job_env(task.namespace, spec)]


def _override_image(spec: dict[str, Any], container: dict[str, Any]) -> None:
    """The allowed `spec.executorImage` in place of the worker (or runtimes) image; checked again here,
    whoever wrote the spec, because the policy is the executor's."""
    image = spec.get("executorImage")
    if not image:
        return
    reason = refusal(str(image))
    if reason:
        raise ExecutorError(f"executorImage {reason}")
    container["image"] = str(image)


def build_job(task: Record, attempt: int) -> dict[str, Any]:
    """The Job for one attempt of a task (a plain dict: exactly what is sent to the API)."""
    settings = get_settings()
    spec = task.doc.get("spec", {})
    kind = spec.get("type")
    labels = _labels(task, attempt)
    if kind == "container":
        container: dict[str, Any] = {"name": "task", "image": spec["image"]}
        if spec.get("command"):
            container["command"] = list(spec["command"])
        if spec.get("args"):
            container["args"] = list(spec["args"])
        if spec.get("env"):
            container["env"] = _env(spec)
    else:
        container = {"name": "worker", "image": settings.worker_image, "command": list(WORKER_COMMAND),
                     "env": _worker_env(task, attempt)}
    if spec.get("resources"):
        container["resources"] = spec["resources"]
    pod: dict[str, Any] = {"restartPolicy": "Never", "serviceAccountName": settings.worker_service_account,
                           "containers": [container]}
    workspace = spec.get("workspace") or {}
    if kind != "container":
        _add_worker_workspace(task, pod, container)
        _override_image(spec, container)
    elif workspace.get("gitRepo"):
        clone = ["clone", "--depth", str(int(workspace.get("depth") or 1))]
        if workspace.get("branch"):
            clone += ["--branch", str(workspace["branch"])]
        pod["initContainers"] = [{"name": "git-checkout", "image": GIT_IMAGE,
                                  "args": [*clone, str(workspace["gitRepo"]), WORKSPACE],
                                  "volumeMounts": [{"name": "workspace", "mountPath": WORKSPACE}]}]
        pod["volumes"] = [{"name": "workspace", "emptyDir": {}}]
        container["volumeMounts"] = [{"name": "workspace", "mountPath": WORKSPACE}]
        container["workingDir"] = WORKSPACE
    if kind != "container":
        _add_workspace_inputs(task, pod, container)
    job_spec: dict[str, Any] = {"backoffLimit": 0, "ttlSecondsAfterFinished": 3600,
                                "template": {"metadata": {"labels": labels}, "spec": pod}}
    if spec.get("timeout"):
        seconds = int(parse_go_duration(spec["timeout"]))
        if seconds > 0:
            job_spec["activeDeadlineSeconds"] = seconds
    return {"apiVersion": "batch/v1", "kind": "Job",
            "metadata": {"name": job_name(task.name, attempt), "namespace": task.namespace, "labels": labels},
            "spec": job_spec}


class KubernetesExecutor:
    name = "kubernetes"

    def start(self, task: Record, on_worker_exit: WorkerExit) -> str:
        attempt = int(task.doc.get("status", {}).get("attempts", 1)) or 1
        workspace = sandbox.requested(task)
        if workspace is not None:  # a sandbox request never runs as a plain Job
            return sandbox.start(task, workspace, build_job(task, attempt))
        body = build_job(task, attempt)
        try:
            batch_v1().create_namespaced_job(task.namespace, body)
        except Exception as exc:
            status, message = api_error(exc)
            if status == 409:  # an earlier delivery created it: starting is idempotent
                return body["metadata"]["name"]
            raise ExecutorError(f"could not create Job {body['metadata']['name']}: {message}") from None
        return body["metadata"]["name"]

    def _jobs(self, namespace: str, name: str) -> list[Any]:
        return batch_v1().list_namespaced_job(namespace, label_selector=f"{TASK_LABEL}={label_value(name)}").items

    def stop(self, namespace: str, name: str) -> None:
        try:
            for job in self._jobs(namespace, name):
                batch_v1().delete_namespaced_job(job.metadata.name, namespace, propagation_policy="Background")
        except Exception as exc:
            status, message = api_error(exc)
            if status != 404:
                raise ExecutorError(f"could not delete the Jobs of task {name}: {message}") from None
        finally:
            sandbox.stop(namespace, name)

    def release(self, namespace: str, name: str) -> None:
        sandbox.release(namespace, name)  # finished Jobs expire by their TTL; Sandboxes have none

    def forget(self, namespace: str, name: str) -> None:
        return None  # `stop` deleted its Jobs, and its Sandboxes but those its cleanupPolicy retains

    def logs(self, task: Record) -> str | None:
        if sandbox.requested(task) is not None:
            return sandbox.logs(task)
        job = task.doc.get("status", {}).get("jobName")
        if not job:
            return None
        try:
            pods = core_v1().list_namespaced_pod(task.namespace, label_selector=f"job-name={job}").items
            if not pods:
                return None
            newest = max(pods, key=lambda p: str(p.metadata.creation_timestamp or ""))
            return core_v1().read_namespaced_pod_log(newest.metadata.name, task.namespace, tail_lines=LOG_LINES)
        except Exception as exc:
            raise ExecutorError(f"could not read logs: {api_error(exc)[1]}") from None

    def poll(self, task: Record) -> JobOutcome | None:
        """How the task's Job ended; None while it runs (or has no Job).

        The task is still Running when this is asked, so its worker never reported: for a worker
        task (`ai`/`agent`) a failed pod or a vanished Job is a lost worker (WorkerLost), except a
        deadline, which is the task's own timeout. A container task's failure is its own.
        """
        if sandbox.requested(task) is not None:
            ended = sandbox.poll(task)
            if ended is None:
                return None
            lost = ended[0] == "Failed" and task.doc.get("spec", {}).get("type") in WORKER_TYPES
            return JobOutcome(*ended, reason=WORKER_LOST if lost else None)
        job = task.doc.get("status", {}).get("jobName")
        if not job:
            return None
        worker = task.doc.get("spec", {}).get("type") in WORKER_TYPES
        try:
            found = batch_v1().read_namespaced_job(job, task.namespace)
        except Exception as exc:
            status, message = api_error(exc)
            if status == 404:
                return JobOutcome("Failed", f"job {job} disappeared", WORKER_LOST)
            raise ExecutorError(f"could not read Job {job}: {message}") from None
        status = found.status
        if status is None:
            return None
        for condition in status.conditions or []:
            if condition.status == "True" and condition.type == "Failed":
                lost = worker and condition.reason != "DeadlineExceeded"
                return JobOutcome("Failed", f"job {job} failed: {condition.reason or ''} {condition.message or ''}".strip(),
                                  WORKER_LOST if lost else None)
            if condition.status == "True" and condition.type == "Complete":
                return JobOutcome("Succeeded", f"job {job} completed")
        if status.succeeded:
            return JobOutcome("Succeeded", f"job {job} completed")
        if status.failed:
            return JobOutcome("Failed", f"job {job} failed", WORKER_LOST if worker else None)
        return None
