"""Where security-scan state lives (objects table; every access pattern is a key lookup or a Query).

- repository scans: kind `repositoryscans`, partition = namespace, sort = name;
- per-repository children, partition = `<namespace>/<name>/<uid>` (the scope: a deleted and
  re-created RepositoryScan starts with no children, and a deleted one lists none):
  scan runs (kind `securityscanruns`, sort `scan_<nanos>`, time order), review slices
  (`securityslices`, sort sliceID), findings (`securityfindings`, sort finding id) and dropped
  model output (`securitydropped`, sort `<scanRunID>#<sliceID>#<nnnn>`);
- finding pointers: kind `securityfindingrefs`, partition = namespace, sort = finding id →
  `{repository, uid}` (the `/findings/:id` routes name no repository);
- threat models: kind `securitythreatmodels`, partition = namespace, sort = repository name;
- patch proposals: kind `securitypatches`, partition = `<namespace>/<finding id>`, sort `patch_<nanos>`;
- schedule index: kind `securityschedules` (see shared.security.schedule);
- deleted repositories whose children are still being swept: kind `securitytombstones`
  (see shared.security.retention).
"""

from __future__ import annotations

from typing import Any

from shared.errors import NotFound
from shared.store import ObjectStore, Record

SCAN_NOT_FOUND = "repository scan not found"
FINDING_NOT_FOUND = "finding not found"
repositories = ObjectStore("repositoryscans")
runs = ObjectStore("securityscanruns")
slices = ObjectStore("securityslices")
findings = ObjectStore("securityfindings")
finding_refs = ObjectStore("securityfindingrefs")
dropped = ObjectStore("securitydropped")
threat_models = ObjectStore("securitythreatmodels")
patches = ObjectStore("securitypatches")
ACTIVE_PHASES = ("queued", "running")


def scope(namespace: str, name: str, uid: str) -> str:
    return f"{namespace}/{name}/{uid}"


def repo_scope(record: Record) -> str:
    return scope(record.namespace, record.name, record.doc["metadata"]["uid"])


def patch_scope(namespace: str, finding_id: str) -> str:
    return f"{namespace}/{finding_id}"


def require_repository(namespace: str, name: str) -> Record:
    return repositories.require(namespace, name, SCAN_NOT_FOUND)


def require_finding(namespace: str, finding_id: str) -> tuple[Record, Record]:
    """(repository, finding) of a finding id; 404 when either is gone (a deleted repository's findings too)."""
    ref = finding_refs.get(namespace, finding_id)
    if ref is None:
        raise NotFound(FINDING_NOT_FOUND)
    repo = repositories.get(namespace, ref.doc["repository"])
    if repo is None or repo.doc["metadata"]["uid"] != ref.doc["uid"]:
        raise NotFound(FINDING_NOT_FOUND)
    finding = findings.get(repo_scope(repo), finding_id)
    if finding is None:
        raise NotFound(FINDING_NOT_FOUND)
    return repo, finding


def resource_view(record: Record) -> dict[str, Any]:
    doc = dict(record.doc)
    doc["metadata"] = {**doc["metadata"], "namespace": record.namespace, "resourceVersion": str(record.version)}
    return doc
