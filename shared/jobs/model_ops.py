"""Model file operations of the labrats dialect: scan, download and delete as Kubernetes Jobs.

Each operation is one Job in the caller's namespace mounting the models PVC (SHOAL_MODELS_PVC) at
/models, running SHOAL_MODELS_JOB_IMAGE. Values reach the shell only through environment
variables (never interpolated into the script), and a download is only for a URL configured in the
defaults' provider settings. Jobs are labelled so `GET /api/models/jobs` lists downloads and
deletes (not scans) with one equality selector.
"""

from __future__ import annotations

import re
import secrets
import time
from typing import Any

from shared.config import get_settings
from shared.errors import Invalid, NotFound, UpstreamError
from shared.kube import batch_v1, core_v1

MOUNT = "/models"
OP_LABEL = "shoal.dev/model-operation"
LISTED_LABEL = "shoal.dev/model-job"  # "true" on download and delete Jobs
PROVIDER_LABEL = "shoal.dev/model-provider"
_SEGMENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
SCRIPTS = {
    "scan": 'find "$MODELS_DIR" -type f ! -name "*.part" -exec stat -c "%s %n" {} +',
    "download": 'set -e; mkdir -p "$(dirname "$TARGET")"; wget -q -O "$TARGET.part" "$SOURCE_URL"; '
                'mv "$TARGET.part" "$TARGET"; echo "downloaded $TARGET"',
    "delete": 'set -e; rm -f "$TARGET"; echo "deleted $TARGET"',
}


def segment(value: Any, field: str) -> str:
    """A provider or file name: one safe path segment (no slash, no leading dot)."""
    if not isinstance(value, str) or not _SEGMENT.match(value):
        raise Invalid(f"{field} must be a file name (letters, digits, '.', '_', '-')")
    return value


def build_job(namespace: str, operation: str, env: dict[str, str], labels: dict[str, str] | None = None
              ) -> dict[str, Any]:
    settings = get_settings()
    name = f"model-{operation}-{secrets.token_hex(4)}"
    all_labels = {"app.kubernetes.io/managed-by": "shoal", "app.kubernetes.io/component": "model-operation",
                  OP_LABEL: operation, **(labels or {})}
    if operation != "scan":
        all_labels[LISTED_LABEL] = "true"
    container = {"name": operation, "image": settings.models_job_image, "command": ["sh", "-c", SCRIPTS[operation]],
                 "env": [{"name": "MODELS_DIR", "value": MOUNT}] + [{"name": k, "value": v} for k, v in env.items()],
                 "volumeMounts": [{"name": "models", "mountPath": MOUNT}]}
    return {"apiVersion": "batch/v1", "kind": "Job",
            "metadata": {"name": name, "namespace": namespace, "labels": all_labels},
            "spec": {"backoffLimit": 0, "ttlSecondsAfterFinished": 3600,
                     "template": {"metadata": {"labels": all_labels}, "spec": {
                         "restartPolicy": "Never", "containers": [container],
                         "volumes": [{"name": "models", "persistentVolumeClaim": {"claimName": settings.models_pvc}}]}}}}


def create(body: dict[str, Any]) -> str:
    try:
        batch_v1().create_namespaced_job(body["metadata"]["namespace"], body)
    except Exception as exc:
        raise UpstreamError(f"could not create Job {body['metadata']['name']}: "
                            f"{getattr(exc, 'reason', None) or type(exc).__name__}") from None
    return body["metadata"]["name"]


def configured_url(defaults: dict[str, Any], provider: str, model: str, url: str) -> bool:
    """The URL is the one configured for this provider and model (exact match: nothing else is fetched)."""
    settings = (defaults.get("providers") or {}).get(provider)
    return isinstance(settings, dict) and settings.get("model") == model and settings.get("url") == url


def file_name(url: str) -> str:
    from urllib.parse import unquote, urlsplit

    return segment(unquote(urlsplit(url).path.rsplit("/", 1)[-1]), "url file name")


def job_status(job: Any) -> str:
    status = job.status
    if status is None:
        return "pending"
    for condition in status.conditions or []:
        if condition.status == "True" and condition.type == "Complete":
            return "completed"
        if condition.status == "True" and condition.type == "Failed":
            return "failed"
    if status.succeeded:
        return "completed"
    if status.failed:
        return "failed"
    return "running" if status.active else "pending"


def view(job: Any) -> dict[str, Any]:
    labels = job.metadata.labels or {}
    created = job.metadata.creation_timestamp
    return {"name": job.metadata.name, "operation": labels.get(OP_LABEL), "provider": labels.get(PROVIDER_LABEL),
            "status": job_status(job), "createdAt": created.isoformat() if hasattr(created, "isoformat") else created}


def list_jobs(namespace: str) -> list[dict[str, Any]]:
    try:
        items = batch_v1().list_namespaced_job(namespace, label_selector=f"{LISTED_LABEL}=true").items
    except Exception as exc:
        raise UpstreamError(f"could not list model jobs: {getattr(exc, 'reason', None) or type(exc).__name__}") \
            from None
    return sorted((view(j) for j in items), key=lambda v: str(v["createdAt"] or ""), reverse=True)


def read_job(namespace: str, name: str, *, listed_only: bool) -> Any:
    try:
        job = batch_v1().read_namespaced_job(name, namespace)
    except Exception as exc:
        if getattr(exc, "status", None) == 404:
            raise NotFound("Model job not found") from None
        raise UpstreamError(f"could not read Job {name}: {getattr(exc, 'reason', None) or type(exc).__name__}") \
            from None
    labels = job.metadata.labels or {}
    if OP_LABEL not in labels or (listed_only and labels.get(LISTED_LABEL) != "true"):
        raise NotFound("Model job not found")  # only our model operations, never an arbitrary Job
    return job


def logs(namespace: str, name: str) -> str:
    try:
        pods = core_v1().list_namespaced_pod(namespace, label_selector=f"job-name={name}").items
        if not pods:
            return ""
        newest = max(pods, key=lambda p: str(p.metadata.creation_timestamp or ""))
        return core_v1().read_namespaced_pod_log(newest.metadata.name, namespace, tail_lines=500) or ""
    except Exception as exc:
        raise UpstreamError(f"could not read logs: {getattr(exc, 'reason', None) or type(exc).__name__}") from None


def scan_files(text: str) -> list[dict[str, Any]]:
    """`<size> /models/<provider>/<file>` lines of a scan Job's log."""
    files = []
    for line in text.splitlines():
        size, _, path = line.strip().partition(" ")
        if size.isdigit() and path.startswith(MOUNT + "/"):
            relative = path[len(MOUNT) + 1:]
            provider, _, name = relative.partition("/")
            files.append({"provider": provider if name else None, "file": name or provider, "path": relative,
                          "size": int(size)})
    return files


def now() -> float:
    return time.time()
