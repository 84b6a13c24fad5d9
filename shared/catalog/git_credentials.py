"""Which Secret holds a task's git credential, and how the worker receives it.

The spec's rule: `workspace.gitSecretRef` (or `gitSecretRef`), else the first of the default names
that exists, using its `token`, `password` or `GITHUB_TOKEN` key (and `username` if present). The
worker gets the keys as environment variables that only git's credential helper reads
(`shared.runtimes.git_workspace.credential_from_env`, which names the variables): in a cluster as `secretKeyRef`s of the Job
(no literal value in the Job), locally as values the executor read.
"""

from __future__ import annotations

from typing import Any

from shared.errors import ShoalError
from shared.models.worker_contract import GIT_CREDENTIAL_ENV
from shared.runtimes.git_workspace import SECRET_KEYS as GIT_SECRET_KEYS

GIT_SECRET_NAMES = ("git-credentials", "github-credentials", "copilot-token", "github-token", "git-token")


def explicit_ref(spec: dict[str, Any]) -> str | None:
    ref = (spec.get("workspace") or {}).get("gitSecretRef") or spec.get("gitSecretRef") or {}
    return ref.get("name") if isinstance(ref, dict) and ref.get("name") else None


def _values(namespace: str, name: str) -> dict[str, str]:
    from shared.catalog.secrets import read_secret_data  # the kubernetes client: only when a Secret is read

    try:
        data = read_secret_data(namespace, name)
    except LookupError:
        return {}
    return {key: data[key].strip() for key in GIT_CREDENTIAL_ENV if (data.get(key) or "").strip()}


def find_git_secret(namespace: str, spec: dict[str, Any]) -> tuple[str, dict[str, str]] | None:
    """(name, non-empty keys) of the task's git credential Secret, or None when there is none."""
    names = [explicit_ref(spec)] if explicit_ref(spec) else list(GIT_SECRET_NAMES)
    for name in names:
        try:
            values = _values(namespace, name)
        except Exception:  # no Kubernetes API (make run without one): no credential
            return None
        if any(key in values for key in GIT_SECRET_KEYS):
            return name, values
    return None


class GitSecretUnreadable(ShoalError):
    """The Secret a spec names by `gitSecretRef` cannot be read: 409 (missing or refused), 503 (no API)."""

    status = 409
    code = "git_secret_unreadable"


def git_token(namespace: str, spec: dict[str, Any], *, default_names: bool) -> str | None:
    """The git credential's token (`token`, `password` or `GITHUB_TOKEN`), or None when there is none.

    A Secret named by `gitSecretRef` that cannot be read raises GitSecretUnreadable: a caller that
    named its credential never goes on unauthenticated or with another Secret. `default_names`
    applies only when no Secret is named: True tries `GIT_SECRET_NAMES` (a task's workspace rule, for
    the server-side GitHub tools); False means no token (monitors and scans name theirs or use a setting).
    """
    name = explicit_ref(spec)
    if name is None:
        found = find_git_secret(namespace, spec) if default_names else None
        return next(found[1][key] for key in GIT_SECRET_KEYS if key in found[1]) if found else None
    from shared.catalog.secrets import read_secret_data  # the kubernetes client: only when a Secret is read

    try:
        data = read_secret_data(namespace, name)
    except LookupError as exc:  # not found, or refused: the message names the Secret and the status
        raise GitSecretUnreadable(f'git {exc}') from None
    except Exception:  # no Kubernetes API: an outage, never a reason to go on without the credential
        raise GitSecretUnreadable(f'git secret "{name}" could not be read: the Kubernetes API is unreachable',
                                  status=503, code="unavailable") from None
    return next((data[key].strip() for key in GIT_SECRET_KEYS if (data.get(key) or "").strip()), None)


def local_env(namespace: str, spec: dict[str, Any]) -> dict[str, str]:
    """The credential as the local worker's environment (values)."""
    found = find_git_secret(namespace, spec) if (spec.get("workspace") or {}).get("gitRepo") else None
    return {GIT_CREDENTIAL_ENV[key]: value for key, value in (found[1] if found else {}).items()}


def job_env(namespace: str, spec: dict[str, Any]) -> list[dict[str, Any]]:
    """The credential as a Job's environment: `secretKeyRef`s, each optional."""
    if not (spec.get("workspace") or {}).get("gitRepo"):
        return []
    name = explicit_ref(spec)
    if name is None:
        found = find_git_secret(namespace, spec)
        name = found[0] if found else None
    if name is None:
        return []
    return [{"name": env, "valueFrom": {"secretKeyRef": {"name": name, "key": key, "optional": True}}}
            for key, env in GIT_CREDENTIAL_ENV.items()]
