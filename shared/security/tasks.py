"""Creating the engine tasks of security work (scan slices, validations, patches) and recognising them.

Every task carries the label `orka.ai/security-repository` and annotations saying what it is for,
so the `task.finished` handler finds its way back without any other index.
"""

from __future__ import annotations

import contextlib
import hashlib
from typing import Any

from shared.auth.principal import Principal
from shared.store import AlreadyExists
from shared.tasks.service import create_task

REPO_LABEL = "orka.ai/security-repository"
KIND = "orka.ai/security-task"           # scan | validate | patch
RUN = "orka.ai/security-scan-run"
SLICE = "orka.ai/security-slice"
FINDING = "orka.ai/security-finding"
PATCH = "orka.ai/security-patch"
UID = "orka.ai/security-repository-uid"
PRINCIPAL = Principal(kind="system", subject="system:shoal:security", username="security")


def task_name(prefix: str, repo: str, *parts: str) -> str:
    """A deterministic name (a retried step never creates a second task), at most 52 characters."""
    digest = hashlib.sha256("#".join((repo, *parts)).encode()).hexdigest()[:12]
    return f"{prefix}-{repo[:30].rstrip('-')}-{digest}"


def workspace(spec: dict[str, Any]) -> dict[str, Any]:
    """A read-only checkout: `ref` when set (tag, branch or SHA), else the branch."""
    ws: dict[str, Any] = {"gitRepo": f"https://github.com/{spec['owner']}/{spec['repository']}.git",
                          "branch": spec.get("ref") or spec.get("branch") or "main"}
    return ws


def create(namespace: str, name: str, spec: dict[str, Any], prompt: str, repo: str,
           annotations: dict[str, str]) -> str:
    """Create an agent task for the repository's analysis agent; an existing one (a retry) is kept."""
    body = {"name": name, "namespace": namespace, "spec": {
        "type": "agent", "agentRef": {"name": spec["analysisAgentRef"]["name"]}, "prompt": prompt,
        "workspace": workspace(spec)}}
    principal = Principal(kind=PRINCIPAL.kind, subject=PRINCIPAL.subject, username=PRINCIPAL.username,
                          namespace=namespace)
    with contextlib.suppress(AlreadyExists):
        create_task(body, principal, server_labels={REPO_LABEL: repo}, server_annotations=annotations)
    return name
