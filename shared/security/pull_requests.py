"""Opening a remediation pull request from a finding's verified patch proposal (GitHub REST API).

Steps (each one safe to repeat, so a retried request finishes the job and never opens a second PR):
1. an open or closed PR from the fix branch `shoal/security-<finding id>` already exists → that PR;
2. the fix branch is created from the base branch head (already existing: kept);
3. each file of the diff: the base branch's text is patched, and written to the fix branch through
   the contents API unless the branch already holds exactly that text;
4. the PR is opened (base = spec.branch or main).
Calls go through the guarded outbound client (SSRF guard); the token (spec.gitSecretRef, else
SHOAL_SECURITY_GITHUB_TOKEN) is only ever sent as the Authorization header.
"""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import quote

from shared.clock import now_rfc3339
from shared.config import get_settings
from shared.errors import Conflict, UpstreamError
from shared.security.store import findings, patch_scope, patches, repo_scope
from shared.store import Record

NO_RECEIPT = "no verified patch proposal exists for this finding"


class _GitHub:
    def __init__(self, token: str | None) -> None:
        from shared.github.client import API_VERSION

        self.base_url = get_settings().github_api_url.rstrip("/")
        self.headers = {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": API_VERSION,
                        "User-Agent": "shoal"}
        if token:
            self.headers["Authorization"] = f"Bearer {token}"

    def call(self, method: str, path: str, *, params: dict[str, Any] | None = None, body: Any = None,
             ok: tuple[int, ...] = (200, 201), tolerate: tuple[int, ...] = ()) -> tuple[int, Any]:
        from shared.net.outbound import outbound_client

        with outbound_client(timeout=30.0, headers=self.headers) as http:
            response = http.request(method, self.base_url + path, params=params, json=body)
        if response.status_code in tolerate:
            return response.status_code, None
        if response.status_code not in ok:
            raise UpstreamError(f"GitHub answered {response.status_code} for {path}")
        return response.status_code, response.json() if response.content else None


def _token(namespace: str, spec: dict[str, Any]) -> str | None:
    if spec.get("gitSecretRef"):
        from shared.monitors.execute import _git_token

        token = _git_token(namespace, spec)
        if token:
            return token
    return get_settings().security_github_token


def branch_name(finding_id: str) -> str:
    return f"shoal/security-{finding_id}"


def _content(gh: _GitHub, repo_path: str, path: str, ref: str) -> tuple[str | None, str | None]:
    """(text, blob sha) of a file at a ref; (None, None) when it does not exist there."""
    status, body = gh.call("GET", f"{repo_path}/contents/{quote(path)}", params={"ref": ref}, tolerate=(404,))
    if status == 404 or not isinstance(body, dict):
        return None, None
    return base64.b64decode(body.get("content") or "").decode("utf-8"), body.get("sha")


def open_pull_request(repo: Record, finding: Record) -> dict[str, Any]:
    from shared.security.diffs import DiffError, apply, parse

    remediation = finding.doc.get("remediation") or {}
    existing = remediation.get("pullRequest")
    if existing:
        return {k: existing[k] for k in ("prNumber", "prURL", "status")}
    receipt = remediation.get("receipt")
    if not receipt:
        raise Conflict(NO_RECEIPT)
    proposal = patches.get(patch_scope(repo.namespace, finding.name), receipt["patchID"])
    if proposal is None or proposal.doc.get("status") != "succeeded":
        raise Conflict(NO_RECEIPT)
    spec = repo.doc["spec"]
    owner, name = spec["owner"], spec["repository"]
    repo_path = f"/repos/{owner}/{name}"
    base = spec.get("branch") or "main"
    head = branch_name(finding.name)
    gh = _GitHub(_token(repo.namespace, spec))
    _, pulls = gh.call("GET", f"{repo_path}/pulls", params={"head": f"{owner}:{head}", "state": "all"})
    if isinstance(pulls, list) and pulls:
        return _remember(repo, finding, pulls[0])
    _, ref = gh.call("GET", f"{repo_path}/git/ref/heads/{quote(base)}")
    gh.call("POST", f"{repo_path}/git/refs", body={"ref": f"refs/heads/{head}", "sha": ref["object"]["sha"]},
            tolerate=(422,))  # 422: the branch exists (an earlier attempt)
    title = f"Fix {finding.doc.get('severity', '')} {finding.doc.get('category', '')}: {finding.doc.get('title', '')}"
    message = f"security: {finding.doc.get('title', 'fix')} ({finding.name})"
    try:
        for file_patch in parse(proposal.doc["diff"]):
            path = file_patch.path
            original, _ = _content(gh, repo_path, file_patch.old_path or path, base) \
                if file_patch.old_path else (None, None)
            wanted = apply(file_patch, original)
            current, current_sha = _content(gh, repo_path, path, head)
            if wanted is None:
                if current_sha:
                    gh.call("DELETE", f"{repo_path}/contents/{quote(path)}",
                            body={"message": message, "sha": current_sha, "branch": head})
                continue
            if current == wanted:
                continue
            body = {"message": message, "content": base64.b64encode(wanted.encode()).decode(), "branch": head}
            if current_sha:
                body["sha"] = current_sha
            gh.call("PUT", f"{repo_path}/contents/{quote(path)}", body=body)
    except DiffError as exc:
        raise Conflict(f"the verified patch no longer applies to {base}: {exc}") from None
    _, pr = gh.call("POST", f"{repo_path}/pulls", body={
        "title": " ".join(title.split())[:250], "head": head, "base": base,
        "body": f"{proposal.doc.get('summary', '')}\n\nFinding: {finding.name} (generated by a Shoal security scan)"})
    return _remember(repo, finding, pr)


def _remember(repo: Record, finding: Record, pr: dict[str, Any]) -> dict[str, Any]:
    view = {"prNumber": pr["number"], "prURL": pr["html_url"], "status": "Open"}

    def store(doc: dict[str, Any]) -> bool:
        remediation = doc.setdefault("remediation", {})
        if remediation.get("pullRequest"):
            return False
        remediation["pullRequest"] = {**view, "branch": branch_name(finding.name), "createdAt": now_rfc3339()}
        doc["updatedAt"] = now_rfc3339()
        return True

    record = findings.update(repo_scope(repo), finding.name, store)
    stored = record.doc["remediation"]["pullRequest"]
    return {"prNumber": stored["prNumber"], "prURL": stored["prURL"], "status": stored["status"]}
