"""Sandboxed execution: a task with `spec.execution.workspace.enabled: true` runs its worker pod inside an
agent-sandbox `Sandbox` (kubernetes-sigs/agent-sandbox), never as a plain Job.

- The Sandbox (`agents.x-k8s.io/v1beta1`, named like the Job would be, `<task>-<attempt>`) carries the pod
  spec `build_job` builds for the attempt: same containers, env, volumes, `orka.ai/*` labels, plus
  `orka.ai/workspace-provider: agent-sandbox`. The Job's deadline moves onto the pod
  (`activeDeadlineSeconds`): a Sandbox has no job-level deadline.
- The SandboxTemplate (`templateRef`, else SHOAL_WORKSPACE_DEFAULT_TEMPLATE) is read through the API: its
  pod-level settings (runtimeClassName, nodeSelector, tolerations, securityContext, ...) and pod labels stay,
  its workload (containers, volumes, ServiceAccount) gives way to Shoal's worker. A SandboxClaim cannot do
  this: it only adds env values and pod metadata to the template's own containers.
- A template whose NetworkPolicy is Managed is refused: the controller applies that policy only to pods of
  claimed Sandboxes (by a label a Sandbox's own podTemplate cannot set), so the task would run outside it.
- The controller names the pod after the Sandbox (or its `agents.x-k8s.io/pod-name` annotation) and reports
  the pod's end in the `Finished` condition (reason PodSucceeded / PodFailed).
- `cleanupPolicy` is a label on the Sandbox. At the task's own end `delete` deletes it and `retain` keeps it;
  stopping a running task deletes it, or with `retain` suspends it (`operatingMode: Suspended`: the pod
  ends, the object stays).
- Provider `substrate` and `reusePolicy: session` are refused at dispatch: the task fails with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shared.config import get_settings
from shared.executor.base import ExecutorError
from shared.executor.kube_common import LOG_LINES, TASK_LABEL, api_error, label_value
from shared.kube import core_v1, custom_objects
from shared.store import Record

PROVIDER = "agent-sandbox"
GROUP, VERSION, PLURAL = "agents.x-k8s.io", "v1beta1", "sandboxes"
TEMPLATE_GROUP, TEMPLATE_PLURAL = "extensions.agents.x-k8s.io", "sandboxtemplates"
PROVIDER_LABEL = "orka.ai/workspace-provider"
CLEANUP_LABEL = "orka.ai/workspace-cleanup"
POD_NAME_ANNOTATION = "agents.x-k8s.io/pod-name"
# What of a template's pod gives way to the worker. Its ServiceAccount settings too: the worker reports
# with the projected token of Shoal's worker ServiceAccount.
TEMPLATE_WORKLOAD = frozenset({"containers", "initContainers", "ephemeralContainers", "volumes", "serviceAccount",
                               "serviceAccountName", "automountServiceAccountToken"})


@dataclass(frozen=True)
class Workspace:
    """A task's enabled `spec.execution.workspace`, with the platform's defaults filled in."""

    provider: str
    template: str | None
    template_namespace: str
    cleanup: str
    reuse: str


def requested(task: Record) -> Workspace | None:
    """The task's workspace request when it is enabled; None when the task runs without one."""
    ws = ((task.doc.get("spec", {}).get("execution") or {}).get("workspace")) or {}
    if ws.get("enabled") is not True:
        return None
    settings = get_settings()
    ref = ws.get("templateRef") or {}
    return Workspace(provider=ws.get("provider") or settings.workspace_default_provider,
                     template=ref.get("name") or settings.workspace_default_template,
                     template_namespace=ref.get("namespace") or task.namespace,
                     cleanup=ws.get("cleanupPolicy") or settings.workspace_default_cleanup,
                     reuse=ws.get("reusePolicy") or "none")


def unsupported(provider: str) -> str:
    """Why a request for `provider` cannot run here (the task's failure message)."""
    return (f'workspace provider "{provider}" is not supported by Shoal\'s executors (only {PROVIDER}, with '
            "SHOAL_EXECUTOR=kubernetes); the task was not run without its sandbox")


def build_sandbox(job: dict[str, Any], ws: Workspace, template: dict[str, Any] | None = None) -> dict[str, Any]:
    """The Sandbox for one attempt: the pod of `job` (from `build_job`), inside the template's pod settings."""
    labels = {**job["spec"]["template"]["metadata"]["labels"], PROVIDER_LABEL: PROVIDER}
    pod = dict(job["spec"]["template"]["spec"])
    if "activeDeadlineSeconds" in job["spec"]:
        pod["activeDeadlineSeconds"] = job["spec"]["activeDeadlineSeconds"]
    metadata: dict[str, Any] = {"labels": labels}
    if template is not None:
        pod, metadata = _merge_template(template, pod, labels)
    return {"apiVersion": f"{GROUP}/{VERSION}", "kind": "Sandbox",
            "metadata": {"name": job["metadata"]["name"], "namespace": job["metadata"]["namespace"],
                         "labels": {**labels, CLEANUP_LABEL: ws.cleanup}},
            "spec": {"podTemplate": {"metadata": metadata, "spec": pod}}}


def _merge_template(template: dict[str, Any], pod: dict[str, Any],
                    labels: dict[str, str]) -> tuple[dict[str, Any], dict[str, Any]]:
    meta = template.get("metadata") or {}
    spec = template.get("spec") or {}
    # Absent means Managed: the API server defaults it so on read.
    if spec.get("networkPolicyManagement", "Managed") != "Unmanaged":
        raise ExecutorError(
            f"SandboxTemplate {meta.get('namespace')}/{meta.get('name')} has a Managed NetworkPolicy, which "
            "agent-sandbox applies only to the pods of claimed Sandboxes (and which by default denies the "
            "in-cluster traffic the worker reports over); Shoal creates the Sandbox itself, so the task would "
            "run outside that policy: set networkPolicyManagement: Unmanaged and select the pods with your own "
            f"NetworkPolicy (they carry {PROVIDER_LABEL}={PROVIDER} and the template's pod labels)")
    base = spec.get("podTemplate") or {}
    merged = {key: value for key, value in (base.get("spec") or {}).items() if key not in TEMPLATE_WORKLOAD}
    merged.update(pod)
    base_meta = base.get("metadata") or {}
    metadata: dict[str, Any] = {"labels": {**(base_meta.get("labels") or {}), **labels}}
    if base_meta.get("annotations"):
        metadata["annotations"] = dict(base_meta["annotations"])
    return merged, metadata


def start(task: Record, ws: Workspace, job: dict[str, Any]) -> str:
    """Create the attempt's Sandbox instead of `job`; its name is the task's job name."""
    if ws.provider != PROVIDER:
        raise ExecutorError(unsupported(ws.provider))
    if not _enabled():  # disabled since the task was accepted: stop() would no longer look for its Sandbox
        raise ExecutorError(f'workspace provider "{PROVIDER}" is not enabled on this platform '
                            "(SHOAL_WORKSPACE_PROVIDERS); the task was not run without its sandbox")
    if ws.reuse != "none":
        # Running in a fresh Sandbox would silently drop the session's workspace the task asked for.
        raise ExecutorError(f"workspace reusePolicy {ws.reuse} is not supported by {PROVIDER} execution yet; "
                            "the task was not run")
    if not ws.template:  # the API requires one; the platform's default was unset since
        raise ExecutorError("the workspace request names no templateRef and SHOAL_WORKSPACE_DEFAULT_TEMPLATE is "
                            "not set; the task was not run without its sandbox")
    body = build_sandbox(job, ws, _read_template(ws))
    name = body["metadata"]["name"]
    try:
        custom_objects().create_namespaced_custom_object(GROUP, VERSION, task.namespace, PLURAL, body)
    except Exception as exc:
        status, message = api_error(exc)
        if status == 409:  # an earlier delivery created it: starting is idempotent
            return name
        hint = f" (is agent-sandbox v0.5 or later installed? it serves {GROUP}/{VERSION})" if status == 404 else ""
        raise ExecutorError(f"could not create Sandbox {name}: {message}{hint}") from None
    return name


def _read_template(ws: Workspace) -> dict[str, Any]:
    try:
        return custom_objects().get_namespaced_custom_object(TEMPLATE_GROUP, VERSION, ws.template_namespace,
                                                             TEMPLATE_PLURAL, str(ws.template))
    except Exception as exc:
        raise ExecutorError(f"could not read SandboxTemplate {ws.template_namespace}/{ws.template}: "
                            f"{api_error(exc)[1]}") from None


def _enabled() -> bool:
    """Shoal creates Sandboxes only where the provider is enabled; elsewhere there are none to look for."""
    return PROVIDER in {p.strip() for p in get_settings().workspace_providers.split(",")}


def _sandboxes(namespace: str, name: str) -> list[dict[str, Any]]:
    try:
        found = custom_objects().list_namespaced_custom_object(
            GROUP, VERSION, namespace, PLURAL, label_selector=f"{TASK_LABEL}={label_value(name)}")
    except Exception as exc:
        status, message = api_error(exc)
        if status == 404:  # agent-sandbox is not installed: no Sandbox can exist
            return []
        raise ExecutorError(f"could not list the Sandboxes of task {name}: {message}") from None
    return found.get("items") or []


def _delete(sandbox: dict[str, Any]) -> None:
    meta = sandbox["metadata"]
    try:  # its pod goes with it: the controller made the Sandbox the pod's owner
        custom_objects().delete_namespaced_custom_object(GROUP, VERSION, meta["namespace"], PLURAL, meta["name"],
                                                         propagation_policy="Background")
    except Exception as exc:
        status, message = api_error(exc)
        if status != 404:
            raise ExecutorError(f"could not delete Sandbox {meta['name']}: {message}") from None


def _suspend(sandbox: dict[str, Any]) -> None:
    meta = sandbox["metadata"]
    try:
        custom_objects().patch_namespaced_custom_object(GROUP, VERSION, meta["namespace"], PLURAL, meta["name"],
                                                        {"spec": {"operatingMode": "Suspended"}})
    except Exception as exc:
        status, message = api_error(exc)
        if status != 404:
            raise ExecutorError(f"could not suspend Sandbox {meta['name']}: {message}") from None


def _retained(sandbox: dict[str, Any]) -> bool:
    return (sandbox["metadata"].get("labels") or {}).get(CLEANUP_LABEL) == "retain"


def stop(namespace: str, name: str) -> None:
    """Stop the task's work: delete its Sandboxes, or suspend the running ones whose cleanupPolicy is retain."""
    if not _enabled():
        return
    for sandbox in _sandboxes(namespace, name):
        if not _retained(sandbox):
            _delete(sandbox)
        elif outcome(sandbox) is None:  # its pod still runs: end it, keep the Sandbox
            _suspend(sandbox)


def release(namespace: str, name: str) -> None:
    """The task ended on its own: delete its Sandboxes unless their cleanupPolicy is retain (no TTL does it)."""
    if not _enabled():
        return
    for sandbox in _sandboxes(namespace, name):
        if not _retained(sandbox):
            _delete(sandbox)


def _reason(sandbox: dict[str, Any]) -> str | None:
    conditions = {c.get("type"): c for c in (sandbox.get("status") or {}).get("conditions") or []}
    finished, ready = conditions.get("Finished") or {}, conditions.get("Ready") or {}
    # Finished records the pod's end; the Ready reason says the same (and is all controllers before v0.5 set).
    return finished.get("reason") if finished.get("status") == "True" else ready.get("reason")


def outcome(sandbox: dict[str, Any]) -> tuple[str, str] | None:
    """(phase, message) once the Sandbox's pod has ended or can no longer run; None while it may still run."""
    name = sandbox["metadata"]["name"]
    reason = _reason(sandbox)
    if reason == "PodSucceeded":
        return "Succeeded", f"sandbox {name} completed"
    if reason == "PodFailed":
        return "Failed", f"sandbox {name} failed"
    if reason == "SandboxExpired":
        return "Failed", f"sandbox {name} expired"
    if reason == "SandboxSuspended":  # its pod was ended from outside Shoal
        return "Failed", f"sandbox {name} was suspended"
    return None


def _pod_name(sandbox: dict[str, Any]) -> str:
    return (sandbox["metadata"].get("annotations") or {}).get(POD_NAME_ANNOTATION) or sandbox["metadata"]["name"]


def _read(namespace: str, name: str) -> dict[str, Any]:
    return custom_objects().get_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, name)


def poll(task: Record) -> tuple[str, str] | None:
    """(phase, message) once the task's Sandbox has finished or is gone; None while it runs."""
    name = task.doc.get("status", {}).get("jobName")
    if not name:
        return None
    try:
        sandbox = _read(task.namespace, name)
    except Exception as exc:
        status, message = api_error(exc)
        if status == 404:
            return "Failed", f"sandbox {name} disappeared"
        raise ExecutorError(f"could not read Sandbox {name}: {message}") from None
    result = outcome(sandbox)
    if _reason(sandbox) == "PodFailed" and (why := _pod_failure(task.namespace, sandbox)):
        return "Failed", f"sandbox {name} failed: {why}"
    return result


def _pod_failure(namespace: str, sandbox: dict[str, Any]) -> str:
    """Why the Sandbox's pod failed (its reason, else its container's exit); "" when that cannot be read."""
    try:
        status = core_v1().read_namespaced_pod(_pod_name(sandbox), namespace).status
    except Exception:
        return ""
    if status is None:
        return ""
    if status.reason or status.message:
        return f"{status.reason or ''} {status.message or ''}".strip()
    for container in status.container_statuses or []:
        terminated = container.state.terminated if container.state else None
        if terminated is not None:
            return f"{terminated.reason or 'Error'} (exit code {terminated.exit_code})"
    return ""


def logs(task: Record) -> str | None:
    """The last lines of the Sandbox pod's log; None when there is no Sandbox or pod (yet, or any more)."""
    name = task.doc.get("status", {}).get("jobName")
    if not name:
        return None
    try:
        sandbox = _read(task.namespace, name)
        return core_v1().read_namespaced_pod_log(_pod_name(sandbox), task.namespace, tail_lines=LOG_LINES)
    except Exception as exc:
        status, message = api_error(exc)
        if status == 404:
            return None
        raise ExecutorError(f"could not read logs: {message}") from None
