"""Shoal as a Model Context Protocol server (the official `mcp` SDK's FastMCP), over Shoal's own REST API.

Every tool is a call of `shared.apiclient.ShoalClient` with the caller's credential, so it acts as
the caller with the caller's authorization: over stdio (`shoal mcp`) that is the CLI context's
credential; over streamable HTTP (`/mcp`, `shared.mcp_http`) it is the `Authorization: Bearer` of each
request, authenticated by Shoal's route pipeline first and then forwarded to the API, which refuses
what the caller may not do (the tool then answers an error naming the refusal).

The server is stateless over HTTP (no session affinity: any replica answers any request), and long
calls (waiting for a task or an investigation) send MCP progress notifications while they poll.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Annotated, Any, Literal

import anyio
import httpx
from mcp.server.fastmcp import Context, FastMCP
from mcp.server.fastmcp.exceptions import ToolError
from pydantic import Field, ValidationError

from shared.apiclient import INCIDENT_TERMINAL, TERMINAL_PHASES, ApiError, ShoalClient, agent_model, phase_of
from shared.http.models import field_invalid
from shared.models.base import Model
from shared.net.pool import pooled
from shared.version import shoal_version

INSTRUCTIONS = (
    "Shoal runs AI tasks and coding agents on Kubernetes and investigates incidents. Create a task with "
    "create_task, follow it with wait_for_task, read its output with get_task_result or get_task_logs. "
    "Use analyze_incident for a failing workload. Everything runs with your own permissions.")
MAX_WAIT_SECONDS = 600.0
# Module-level so FastMCP can evaluate the tools' (string) annotations into their JSON schemas.
NS = Annotated[str | None, Field(description="Namespace (default: the caller's own).")]
NAME = Annotated[str, Field(description="The task's name.")]


class TaskSummary(Model):
    name: str
    namespace: str | None = None
    type: str | None = None
    phase: str
    message: str | None = None
    agent: str | None = None
    attempts: int | None = None
    created: str | None = None
    completed: str | None = None
    resultAvailable: bool = False


class TaskList(Model):
    tasks: list[TaskSummary]
    continueToken: str | None = Field(None, description="Pass as `continue_token` for the next page.")


class TaskOutput(Model):
    name: str
    output: str
    truncated: bool = False


class IncidentOutcome(Model):
    session_id: str
    status: str
    result: dict[str, Any] | None = Field(None, description="The IncidentResponse once completed.")


class MemoryItem(Model):
    id: str
    content: str
    tags: list[str] = []
    source: str | None = None
    updatedAt: str | None = None


class AgentItem(Model):
    name: str
    namespace: str | None = None
    description: str | None = None
    model: str | None = None
    runtime: str | None = None


class ChatReply(Model):
    sessionId: str
    message: str
    toolCalls: list[dict[str, Any]] = []


def summarize(task: dict[str, Any]) -> TaskSummary:
    meta, spec, status = task.get("metadata") or {}, task.get("spec") or {}, task.get("status") or {}
    return TaskSummary(name=meta.get("name", ""), namespace=meta.get("namespace"), type=spec.get("type"),
                       phase=phase_of(task), message=status.get("message"),
                       agent=(spec.get("agentRef") or {}).get("name"), attempts=status.get("attempts"),
                       created=meta.get("creationTimestamp"), completed=status.get("completionTime"),
                       resultAvailable=bool((status.get("resultRef") or {}).get("available")))


async def watch(ctx: Context | None, read: Callable[[], Any], done: Callable[[dict], bool],
                describe: Callable[[dict], str], timeout: float) -> dict:
    """Poll `read` until `done` or `timeout`, sending an MCP progress notification after each read."""
    start = time.monotonic()
    while True:
        current = await read()
        elapsed = time.monotonic() - start
        if ctx is not None:
            await ctx.report_progress(min(elapsed, timeout), timeout, describe(current))
        if done(current) or elapsed >= timeout:
            return current
        await anyio.sleep(0.5)


class StrictFastMCP(FastMCP):
    """FastMCP, except that a tool call naming an argument the tool does not take is an error naming it.

    FastMCP validates arguments with a model that ignores unknown keys, so `namespace` given to a tool
    whose parameter is `resource_namespace` ran silently in the default namespace. Each tool's input
    schema also says `additionalProperties: false`, so clients can know before calling.
    """

    def strict_schemas(self) -> None:
        for tool in self._tool_manager.list_tools():
            tool.parameters["additionalProperties"] = False

    async def call_tool(self, name: str, arguments: dict[str, Any]) -> Any:
        tool = self._tool_manager.get_tool(name)
        if tool is not None:
            known = tool.parameters.get("properties", {})
            unknown = sorted(set(arguments or {}) - set(known))
            if unknown:
                raise ToolError(f"unknown argument {unknown[0]!r} for tool {name!r}; it takes: "
                                + ", ".join(sorted(known)))
            # FastMCP's own failure is pydantic's multi-line dump ("1 validation error for
            # create_taskArguments … For further information visit …"): name the argument instead.
            meta = tool.fn_metadata
            try:
                meta.arg_model.model_validate(meta.pre_parse_json(arguments or {}))
            except ValidationError as exc:
                raise ToolError(f"invalid arguments for tool {name!r}: {field_invalid(exc).message}") from None
        return await super().call_tool(name, arguments)


def build_server(api_url: str, *, token: str | None = None, namespace: str | None = None,
                 forward_auth: bool = False) -> FastMCP:
    """The MCP server over the API at `api_url`.

    `token`: the credential of every call (stdio, one user). `forward_auth`: streamable HTTP behind
    Shoal's own authentication (`shared.mcp_http`): each call uses the `Authorization` header of the
    HTTP request that carried it, so two callers of one replica never share a credential.
    """
    def make_client(tok: str | None, ns: str | None) -> ShoalClient:
        # One pooled connection pool per process; each call brings its own credential.
        http = pooled(f"mcp-api:{api_url}", lambda: httpx.Client(base_url=api_url.rstrip("/"), timeout=30.0))
        return ShoalClient(api_url, tok, namespace=ns, http=http)

    security = None
    if forward_auth:
        from mcp.server.transport_security import TransportSecuritySettings

        # Bearer tokens, never cookies: a DNS-rebound browser page has no credential to send, and the
        # public host name behind the gateway is not known here.
        security = TransportSecuritySettings(enable_dns_rebinding_protection=False)
    mcp = StrictFastMCP("shoal", instructions=INSTRUCTIONS, stateless_http=True, log_level="WARNING",
                  transport_security=security)
    # FastMCP takes no version and the low-level server then reports the SDK's own: say Shoal's.
    mcp._mcp_server.version = shoal_version()

    def caller_token(ctx: Context | None) -> str | None:
        if not forward_auth:
            return token
        request = getattr(ctx.request_context, "request", None) if ctx is not None else None
        header = request.headers.get("authorization", "") if request is not None else ""
        return header[7:].strip() if header[:7].lower() == "bearer " else None

    async def call(ctx: Context | None, ns: str | None, fn: Callable[[ShoalClient], Any]) -> Any:
        """Run one blocking API call in a worker thread, turning refusals into tool errors."""

        def run() -> Any:
            with make_client(caller_token(ctx), ns or namespace) as client:
                return fn(client)

        try:
            return await anyio.to_thread.run_sync(run)
        except ApiError as exc:
            raise ToolError(str(exc)) from exc

    @mcp.tool(description="Create a Shoal task: an `ai` task runs the agent loop on a prompt; an `agent` task "
                          "runs an Agent (e.g. a coding agent) named by `agent`.")
    async def create_task(
        name: Annotated[str, Field(description="Lowercase RFC 1123 name, unique in the namespace.")],
        prompt: Annotated[str, Field(description="What the task should do.")],
        type: Annotated[Literal["ai", "agent"], Field(description="Task type.")] = "ai",
        agent: Annotated[str | None, Field(description="Agent to run (spec.agentRef).")] = None,
        timeout: Annotated[str | None, Field(description="Go duration, e.g. 10m.")] = None,
        namespace: NS = None, ctx: Context | None = None) -> TaskSummary:
        spec: dict[str, Any] = {"type": type, "prompt": prompt}
        if agent:
            spec["agentRef"] = {"name": agent}
        if timeout:
            spec["timeout"] = timeout
        return summarize(await call(ctx, namespace, lambda c: c.create_task({"name": name, "spec": spec})))

    @mcp.tool(description="Get a task's phase and status.")
    async def get_task(name: NAME, namespace: NS = None, ctx: Context | None = None) -> TaskSummary:
        return summarize(await call(ctx, namespace, lambda c: c.get_task(name)))

    @mcp.tool(description="List tasks in a namespace (a page at a time).")
    async def list_tasks(
        label_selector: Annotated[str | None, Field(description="k=v, k!=v, k, !k; comma-separated.")] = None,
        limit: Annotated[int, Field(ge=1, le=500)] = 50,
        continue_token: Annotated[str | None, Field(description="From the previous page.")] = None,
        namespace: NS = None, ctx: Context | None = None) -> TaskList:
        page = await call(ctx, namespace, lambda c: c.list_tasks(limit=limit, label_selector=label_selector,
                                                                 cont=continue_token))
        return TaskList(tasks=[summarize(t) for t in page.get("items") or []],
                        continueToken=(page.get("metadata") or {}).get("continue"))

    @mcp.tool(description="Cancel a running or pending task.")
    async def cancel_task(name: NAME, reason: str | None = None, namespace: NS = None,
                          ctx: Context | None = None) -> TaskSummary:
        await call(ctx, namespace, lambda c: c.cancel_task(name, reason))
        return summarize(await call(ctx, namespace, lambda c: c.get_task(name)))

    @mcp.tool(description="Wait until a task finishes (Succeeded, Failed or Cancelled) or the timeout passes; "
                          "reports progress while waiting.")
    async def wait_for_task(
        name: NAME,
        timeout_seconds: Annotated[float, Field(gt=0, le=MAX_WAIT_SECONDS)] = 120.0,
        namespace: NS = None, ctx: Context | None = None) -> TaskSummary:
        task = await watch(ctx, lambda: call(ctx, namespace, lambda c: c.get_task(name)),
                           lambda t: phase_of(t) in TERMINAL_PHASES, lambda t: f"task {name}: {phase_of(t)}",
                           timeout_seconds)
        return summarize(task)

    @mcp.tool(description="Read a finished task's result.")
    async def get_task_result(name: NAME, max_chars: Annotated[int, Field(ge=1)] = 20000,
                              namespace: NS = None, ctx: Context | None = None) -> TaskOutput:
        value = await call(ctx, namespace, lambda c: c.task_result(name))
        text = value if isinstance(value, str) else str(value)
        return TaskOutput(name=name, output=text[:max_chars], truncated=len(text) > max_chars)

    @mcp.tool(description="Read a task's logs (its result once it has one, else the job's last lines).")
    async def get_task_logs(name: NAME, max_chars: Annotated[int, Field(ge=1)] = 20000,
                            namespace: NS = None, ctx: Context | None = None) -> TaskOutput:
        text = str(await call(ctx, namespace, lambda c: c.task_logs(name)))
        return TaskOutput(name=name, output=text[-max_chars:], truncated=len(text) > max_chars)

    @mcp.tool(description="Investigate a failing Kubernetes resource (Kubernaut incident analysis); waits for "
                          "the result with progress unless wait is false.")
    async def analyze_incident(
        resource_kind: Annotated[str, Field(description="e.g. Deployment, Pod.")],
        resource_name: str,
        resource_namespace: str = "default",
        error_message: Annotated[str, Field(description="What is going wrong.")] = "",
        signal_name: str = "ManualInvestigation",
        severity: Literal["critical", "high", "warning", "info", "unknown"] = "warning",
        wait: bool = True,
        timeout_seconds: Annotated[float, Field(gt=0, le=MAX_WAIT_SECONDS)] = 300.0,
        ctx: Context | None = None) -> IncidentOutcome:
        import secrets

        incident = f"inc-{secrets.token_hex(4)}"
        body = {"incident_id": incident, "remediation_id": f"rem-{incident[4:]}", "signal_name": signal_name,
                "severity": severity, "signal_source": "shoal-mcp", "resource_namespace": resource_namespace,
                "resource_kind": resource_kind, "resource_name": resource_name,
                "resource_api_version": "v1" if resource_kind in ("Pod", "Service", "Node") else "apps/v1",
                "error_message": error_message or f"{signal_name} on {resource_kind}/{resource_name}",
                "environment": "unknown", "priority": "P3", "risk_tolerance": "medium",
                "business_category": "unknown", "cluster_name": "default"}
        session_id = (await call(ctx, None, lambda c: c.analyze_incident(body)))["session_id"]
        if not wait:
            return IncidentOutcome(session_id=session_id, status="pending")
        return await _wait_incident(ctx, session_id, timeout_seconds)

    async def _wait_incident(ctx: Context | None, session_id: str, timeout_seconds: float) -> IncidentOutcome:
        session = await watch(ctx, lambda: call(ctx, None, lambda c: c.incident(session_id)),
                              lambda s: s.get("status") in INCIDENT_TERMINAL,
                              lambda s: f"incident {session_id}: {s.get('status')}", timeout_seconds)
        status = session.get("status", "unknown")
        result = None
        if status in INCIDENT_TERMINAL:
            result = await call(ctx, None, lambda c: c.incident_result(session_id))
        return IncidentOutcome(session_id=session_id, status=status, result=result)

    @mcp.tool(description="Get an incident investigation's status, and its result once it is finished.")
    async def get_incident(session_id: str, ctx: Context | None = None) -> IncidentOutcome:
        session = await call(ctx, None, lambda c: c.incident(session_id))
        status = session.get("status", "unknown")
        result = await call(ctx, None, lambda c: c.incident_result(session_id)) if status in INCIDENT_TERMINAL else None
        return IncidentOutcome(session_id=session_id, status=status, result=result)

    @mcp.tool(description="Search durable memories (facts Shoal's agents learnt) by text and tags.")
    async def search_memories(
        query: Annotated[str | None, Field(description="Substring of the content or a tag.")] = None,
        tags: Annotated[list[str] | None, Field(description="All must match.")] = None,
        limit: Annotated[int, Field(ge=1, le=200)] = 20,
        namespace: NS = None, ctx: Context | None = None) -> list[MemoryItem]:
        params = {"q": query, "tags": ",".join(tags) if tags else None, "limit": limit}
        page = await call(ctx, namespace, lambda c: c.call("GET", "/api/v1/memories", params=params))
        return [MemoryItem(id=m["id"], content=m.get("content", ""), tags=m.get("tags") or [],
                           source=m.get("source"), updatedAt=m.get("updatedAt")) for m in page.get("items") or []]

    @mcp.tool(description="List the Agents a task can run.")
    async def list_agents(namespace: NS = None, ctx: Context | None = None) -> list[AgentItem]:
        page = await call(ctx, namespace, lambda c: c.call("GET", "/api/v1/agents", params={"limit": 500}))
        out = []
        for agent in page.get("items") or []:
            spec, meta = agent.get("spec") or {}, agent.get("metadata") or {}
            out.append(AgentItem(name=meta.get("name", ""), namespace=meta.get("namespace"),
                                 description=spec.get("description"), model=agent_model(agent),
                                 runtime=(spec.get("runtime") or {}).get("type")))
        return out

    @mcp.tool(description="One turn with Shoal's chat orchestrator (it can create and watch tasks); pass "
                          "session_id to continue a conversation.")
    async def chat(message: str, session_id: str | None = None, namespace: NS = None,
                   ctx: Context | None = None) -> ChatReply:
        reply = await call(ctx, namespace, lambda c: c.chat(message, session_id=session_id))
        return ChatReply(sessionId=reply["sessionId"], message=reply.get("message", ""),
                         toolCalls=reply.get("toolCalls") or [])

    # -- resources ----------------------------------------------------------------------------------

    @mcp.resource("shoal://tasks/{namespace}/{name}/result", mime_type="text/plain",
                  description="A finished task's result.")
    async def task_result(namespace: str, name: str) -> str:
        value = await call(mcp.get_context(), namespace, lambda c: c.task_result(name))
        return value if isinstance(value, str) else str(value)

    @mcp.resource("shoal://tasks/{namespace}/{name}/artifacts", mime_type="application/json",
                  description="The list of a task's artifacts (filename, contentType, size, createdAt).")
    async def task_artifacts(namespace: str, name: str) -> list[dict[str, Any]]:
        return await call(mcp.get_context(), namespace, lambda c: c.artifacts(name))

    @mcp.resource("shoal://tasks/{namespace}/{name}/artifacts/{filename}", mime_type="application/octet-stream",
                  description="One artifact's bytes.")
    async def task_artifact(namespace: str, name: str, filename: str) -> bytes:
        return await call(mcp.get_context(), namespace,
                          lambda c: c.artifact(name, filename))

    # -- prompts ------------------------------------------------------------------------------------

    @mcp.prompt(description="Delegate a piece of work to Shoal and report the outcome.")
    def run_task(goal: str, agent: str | None = None) -> str:
        who = f" with the agent `{agent}` (type agent)" if agent else " (type ai)"
        return (f"Create a Shoal task{who} whose prompt is:\n\n{goal}\n\nThen call wait_for_task until it "
                "finishes, read the outcome with get_task_result (or get_task_logs if it failed), and summarise it.")

    @mcp.prompt(description="Investigate a failing workload and propose a fix.")
    def investigate_incident(kind: str, name: str, namespace: str = "default", symptom: str = "") -> str:
        return (f"Call analyze_incident for {kind}/{name} in namespace {namespace}"
                + (f" with error_message {symptom!r}" if symptom else "")
                + ". Explain the root cause it found, its confidence, and the remediation it recommends; say "
                  "plainly when it needs human review.")

    @mcp.prompt(description="Review what a task did.")
    def review_task(name: str, namespace: str = "default") -> str:
        return (f"Get the Shoal task {name} in namespace {namespace} with get_task, then its result with "
                "get_task_result (or its logs). Summarise what it did, whether it succeeded, and any follow-up.")

    mcp.strict_schemas()
    return mcp
