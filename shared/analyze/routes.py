"""The operator–LLM contract (operator-llm-contract.txt; peers.md §2.2), FastAPI-style errors.

`POST /analyze` runs one investigation synchronously (the contract is request/response) and
answers summary, root_cause, recommendation and an allow-listed k8s_patch action or null.
No silent mock: with the mock provider and no explicit opt-in it answers 503.
"""

from __future__ import annotations

import time
from typing import Any

from shared.analyze import records
from shared.analyze.operator_keys import authenticate_operator, is_operator, operator_namespace
from shared.auth.namespaces import resolve_namespace
from shared.clock import now_rfc3339
from shared.config import get_settings
from shared.errors import ShoalError, Unavailable, UpstreamError
from shared.http.api import RequestContext, Router, json_response
from shared.http.models import Reply
from shared.investigation import metrics
from shared.investigation.audit import emit_audit
from shared.investigation.patch_filter import PATCH_TYPE, filter_patch
from shared.llm.base import ProviderError
from shared.llm.registry import resolve
from shared.logs import get_logger

log = get_logger("analyze")
# An operator key (shared.analyze.operator_keys) fits LogJedi's one static LLM_SERVICE_AUTH_HEADER;
# every other identity goes through the shared resolver.
router = Router(dialect="fastapi", tag="analyze", authenticator=authenticate_operator)
FACADE = "operator"
NO_PROVIDER = ("no LLM provider is configured: set SHOAL_LLM_PROVIDER to a real provider "
               "(or SHOAL_ANALYZE_ALLOW_MOCK=true to use the mock provider explicitly)")


def _provider():
    settings = get_settings()
    if settings.llm_provider == "mock" and not settings.analyze_allow_mock:
        raise Unavailable(NO_PROVIDER)
    try:
        return resolve(None)
    except ShoalError as exc:  # configured but unusable (e.g. a missing key): still no provider
        raise Unavailable(f"no usable LLM provider: {exc.message}") from None


def _action(request: Any, finding: Any) -> tuple[dict[str, Any] | None, str, list[str]]:
    """(action or None, note for the recommendation, dropped paths) after the target and allow-list checks."""
    if finding.patch is None:
        return None, "", []
    target = {"kind": request.resource_kind, "namespace": request.namespace, "name": request.resource_name}
    proposed = finding.patch.target
    got = {"kind": proposed.kind, "namespace": proposed.namespace or request.namespace, "name": proposed.name}
    if got != target:
        return None, (f"No patch is returned: the proposed patch targets {got['kind']} "
                      f"{got['namespace']}/{got['name']}, not the analysed resource."), ["(all)"]
    filtered = filter_patch(request.resource_kind, finding.patch.patch)
    if filtered.patch is None:
        return None, f"No patch is returned: {filtered.reason}.", filtered.dropped
    note = ""
    if request.resource_kind == "Job":
        note = "A Job's pod template is immutable: recreate the Job with this change rather than patching it."
    return ({"type": "k8s_patch", "target": target, "patch_type": PATCH_TYPE, "patch": filtered.patch},
            note, filtered.dropped)


def _namespace(principal: Any, requested: str) -> str:
    """Where the analysis runs: an operator key's namespaces, else Shoal's namespace rules; none
    requested (upstream's default "") = the caller's own or the default namespace."""
    if is_operator(principal):
        return operator_namespace(principal, requested, get_settings().default_namespace)
    return resolve_namespace(principal, requested or None)


def _scope(principal: Any) -> str:
    """The partition of a caller's analyses and reports: an operator's own, else its namespace scope."""
    return principal.subject if is_operator(principal) else records.scope(principal.namespace)


def _numbered(steps: list[tuple[str, str, str]]) -> list[dict[str, Any]]:
    return [{"step": n, "timestamp": ts, "message": message, "title": title}
            for n, (title, ts, message) in enumerate(steps, start=1)]


def _patch_step(action: dict[str, Any] | None) -> str:
    import json

    if action is None:
        return "No k8s patch suggested (manual remediation only)."
    return "Suggested patch: " + json.dumps(action["patch"], separators=(",", ":"))[:500]


# FastAPI's 422 lists the validation errors; other errors are the dialect's `{"detail": "…"}`.
_INVALID = Reply("Validation Error (FastAPI's list: type, loc, msg, input)",
                 "shared.http.common_models:HTTPValidationError")


@router.route("/analyze", methods=("POST",), summary="Analyse a failed workload; optional allow-listed patch",
              body="shared.analyze.models:AnalyzeRequest",
              responses={200: Reply("The analysis, with an allow-listed patch or null",
                                    "shared.analyze.models:AnalyzeResponse"),
                         422: _INVALID, 503: "No LLM provider configured", 502: "LLM provider failed"})
def analyze(ctx: RequestContext):
    # The investigation (agent loop, Finding) and the answer model load with the first analysis.
    from shared.analyze.models import AnalyzeResponse, prompt_context
    from shared.investigation.engine import InvestigationFailed, investigate
    from shared.investigation.schema import Subject

    request = ctx.body()
    principal = ctx.require_principal()
    namespace = _namespace(principal, request.namespace)
    provider = _provider()
    key = records.new_key()
    steps: list[tuple[str, str, str]] = [(
        "Request received", now_rfc3339(), f"Received analysis request for {request.resource_kind} "
        f"'{request.resource_name}' in namespace '{request.namespace}' (reason: {request.reason}).")]

    def observe(kind: str, data: dict[str, Any]) -> None:
        if kind == "tool_call":
            steps.append((f"Tool call: {data['name']}", now_rfc3339(), str(data["args"])[:500]))
        elif kind == "message":
            steps.append(("LLM reasoning", now_rfc3339(), data["content"][:2000]))

    started = time.monotonic()
    subject = Subject(kind=request.resource_kind, name=request.resource_name, namespace=namespace,
                      reason=request.reason, context=prompt_context(request))
    try:
        outcome = investigate(subject, provider, observe=observe)
    except (ProviderError, InvestigationFailed) as exc:
        usage = getattr(exc, "usage", None)
        metrics.record_investigation(FACADE, "failed", time.monotonic() - started,
                                     usage.input_tokens if usage else 0, usage.output_tokens if usage else 0)
        metrics.record_request(FACADE, "failed")
        emit_audit(namespace=request.namespace, name=key, facade=FACADE, status="failed",
                   prompt_tokens=usage.input_tokens if usage else 0,
                   completion_tokens=usage.output_tokens if usage else 0, model=provider.model)
        if isinstance(exc, ProviderError):
            log.warning("provider failed", extra={"fields": {"status": exc.status, "error": str(exc)[:300]}})
            raise UpstreamError(f"LLM provider {provider.kind} failed"
                                + (f" with status {exc.status}" if exc.status else "")) from None
        raise UpstreamError(str(exc)) from None
    finding = outcome.finding
    action, note, dropped = _action(request, finding)
    recommendation = " ".join(p for p in (finding.recommendation or finding.summary, note) if p)
    body = AnalyzeResponse(summary=finding.summary, root_cause=finding.root_cause,
                           recommendation=recommendation, action=action).model_dump(mode="json")
    steps.append(("Root cause", now_rfc3339(), f"Root cause: {finding.root_cause or '(none)'}"))
    steps.append(("Recommendation", now_rfc3339(), f"Recommendation: {recommendation or '(none)'}"))
    if dropped:
        steps.append(("Patch filtered", now_rfc3339(), "Removed by the allow-list: " + ", ".join(dropped)))
    steps.append(("Suggested patch", now_rfc3339(), _patch_step(action)))
    steps.append(("Analysis complete", now_rfc3339(),
                  f"{outcome.llm_calls} LLM call(s), {len(outcome.tool_calls)} tool call(s), "
                  f"{outcome.usage.input_tokens}+{outcome.usage.output_tokens} tokens."))
    analysis = {"timestamp": now_rfc3339(), "resource_kind": request.resource_kind,
                "resource_name": request.resource_name, "namespace": request.namespace,
                "reason": request.reason, **body}
    records.save(_scope(principal), key, analysis, _numbered(steps))
    metrics.record_investigation(FACADE, "completed", time.monotonic() - started, outcome.usage.input_tokens,
                                 outcome.usage.output_tokens, len(outcome.tool_calls))
    metrics.record_request(FACADE, "completed")
    emit_audit(namespace=request.namespace, name=key, facade=FACADE, status="completed",
               prompt_tokens=outcome.usage.input_tokens, completion_tokens=outcome.usage.output_tokens,
               llm_calls=outcome.llm_calls, tool_calls=len(outcome.tool_calls), model=outcome.model)
    return body


def _listing(ctx: RequestContext, store_name: str):
    from flask import Response

    store = records.analyses if store_name == "analyses" else records.reports
    query = ctx.query()
    items, cursor = records.page(store, _scope(ctx.require_principal()), query.limit, query.continue_ or None)
    response: Response = json_response(items)
    if cursor:
        response.headers["X-Continue"] = cursor  # the body stays the original's plain list
    return response


_PAGE = {"X-Continue": "The next page's cursor (pass it as `continue`); absent on the last page"}


@router.route("/analyses", summary="Recent analyses, newest first (limit 1..100, default 50)",
              query="shared.analyze.models:ListQuery", responses={200: Reply("Analyses, newest first",
                                                                             headers=_PAGE), 422: _INVALID},
              response_model="shared.analyze.models:AnalysisList")
def list_analyses(ctx: RequestContext):
    return _listing(ctx, "analyses")


@router.route("/reports", summary="Step-by-step reports (LLM steps and operator outcome), newest first",
              query="shared.analyze.models:ListQuery", responses={200: Reply("Reports, newest first",
                                                                             headers=_PAGE), 422: _INVALID},
              response_model="shared.analyze.models:ReportList")
def list_reports(ctx: RequestContext):
    return _listing(ctx, "reports")


@router.route("/report-outcome", methods=("POST",), summary="Operator callback after applying a patch",
              body="shared.analyze.models:OutcomeRequest",
              responses={200: Reply("Whether a report took the operator's step",
                                    "shared.analyze.models:OutcomeResponse"),
                         422: _INVALID})
def report_outcome(ctx: RequestContext):
    body = ctx.body()
    principal = ctx.require_principal()
    if records.record_outcome(_scope(principal), body.resource_kind, body.namespace, body.resource_name,
                              body.outcome):
        return {"status": "ok", "message": "Appended operator step to report"}
    return {"status": "not_found", "message": "No matching report found to append operator step"}


@router.route("/health", public=True, summary="Liveness",
              responses={200: Reply("Alive", "shared.analyze.models:Status")})
def health(ctx: RequestContext):
    return {"status": "ok"}


@router.route("/ready", public=True, summary="Readiness (upstream's answer)",
              responses={200: Reply("Ready", "shared.analyze.models:Status")})
def ready(ctx: RequestContext):
    return {"status": "ready"}
