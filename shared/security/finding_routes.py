"""`/api/v1/security/findings/**` (Orka dialect): one finding, its triage, validation, patches and PR."""

from __future__ import annotations

from typing import Any

from shared.clock import now_rfc3339
from shared.http import RequestContext, Router
from shared.http.models import Reply
from shared.security.pull_requests import open_pull_request
from shared.security.remediation import start_patch, start_validation
from shared.security.results import recommended
from shared.security.routes import filtered_page
from shared.security.store import findings, patch_scope, patches, repo_scope, require_finding

router = Router("/api/v1/security/findings", dialect="orka", tag="security")


def _lookup(ctx: RequestContext, finding_id: str):
    namespace = ctx.namespace(ctx.query().namespace)
    return require_finding(namespace, finding_id)


def _set_state(ctx: RequestContext, finding_id: str, state: str) -> None:
    reason = ctx.body(allow_empty=True).reason
    principal = ctx.require_principal()
    repo, finding = _lookup(ctx, finding_id)

    def mutate(doc: dict[str, Any]) -> bool:
        if doc.get("state") == state:
            return False  # idempotent
        doc["state"] = state
        doc["updatedAt"] = now_rfc3339()
        if state == "dismissed":
            doc.update({"dismissedAt": now_rfc3339(), "dismissedBy": principal.subject})
            if reason:
                doc["dismissReason"] = reason
        else:
            for key in ("dismissedAt", "dismissedBy", "dismissReason"):
                doc.pop(key, None)
        doc["recommended"] = recommended(doc)
        return True

    findings.update(repo_scope(repo), finding.name, mutate)


@router.route("/<finding_id>", ["GET"], summary="Get finding details",
              query="shared.http.common_models:NamespaceQuery",
              responses={200: Reply("The finding", "shared.security.answers:Finding")})
def get_finding(ctx: RequestContext, finding_id: str):
    return _lookup(ctx, finding_id)[1].doc


@router.route("/<finding_id>/dismiss", ["POST"], summary="Dismiss finding",
              body="shared.security.models:StateChange",
              query="shared.http.common_models:NamespaceQuery", responses={204: "Dismissed"})
def dismiss(ctx: RequestContext, finding_id: str):
    _set_state(ctx, finding_id, "dismissed")


@router.route("/<finding_id>/reopen", ["POST"], summary="Reopen finding",
              body="shared.security.models:StateChange",
              query="shared.http.common_models:NamespaceQuery", responses={204: "Reopened"})
def reopen(ctx: RequestContext, finding_id: str):
    _set_state(ctx, finding_id, "open")


@router.route("/<finding_id>/validate", ["POST"], summary="Trigger validation",
              body="shared.security.models:NoBody", query="shared.http.common_models:NamespaceQuery",
              responses={202: Reply("The finding, now validating", "shared.security.answers:Finding"),
                         409: "A validation is already running"})
def validate(ctx: RequestContext, finding_id: str):
    ctx.body(allow_empty=True)
    repo, finding = _lookup(ctx, finding_id)
    return start_validation(repo, finding).doc, 202


@router.route("/<finding_id>/patch", ["POST"], summary="Generate patch proposal",
              body="shared.security.models:NoBody",
              query="shared.http.common_models:NamespaceQuery",
              responses={201: Reply("The pending patch proposal", "shared.security.answers:PatchProposal"),
                         409: "A proposal is already being generated"})
def patch(ctx: RequestContext, finding_id: str):
    ctx.body(allow_empty=True)
    repo, finding = _lookup(ctx, finding_id)
    return start_patch(repo, finding).doc, 201


@router.route("/<finding_id>/patches", ["GET"], summary="List patch proposals",
              query="shared.security.models:PageQuery",
              responses={200: Reply("A page of patch proposals",
                                    "shared.security.answers:PatchProposalList")})
def list_patches(ctx: RequestContext, finding_id: str):
    repo, finding = _lookup(ctx, finding_id)
    return filtered_page(patches, patch_scope(repo.namespace, finding.name), ctx, {})


@router.route("/<finding_id>/pull-request", ["POST"], summary="Create remediation PR",
              body="shared.security.models:NoBody",
              query="shared.http.common_models:NamespaceQuery",
              responses={200: Reply("The pull request (the same one on every call)",
                                    "shared.security.answers:RemediationPullRequest"),
                         409: "No verified patch proposal (receipt) yet"})
def pull_request(ctx: RequestContext, finding_id: str):
    ctx.body(allow_empty=True)
    repo, finding = _lookup(ctx, finding_id)
    return open_pull_request(repo, finding)
