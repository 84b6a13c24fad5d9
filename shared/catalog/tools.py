"""`/api/v1/tools/**`: built-in tool metadata plus stored Tool CRDs (Orka dialect).

The list is the 6 built-ins `{name,builtin:true,description,parameters}` followed by the
namespace's Tools `{name,namespace,builtin:false,description,available,url}`; built-ins lead the
first page only, so the cursor pages the stored tools.
"""

from __future__ import annotations

import re
from typing import Any

from shared.catalog import crd
from shared.catalog.builtins import BUILTIN_NAMES, BUILTIN_TOOLS, builtin
from shared.catalog.stores import tools
from shared.catalog.tool_spec import tool_status, validate_tool_spec
from shared.errors import Conflict, NotFound
from shared.http import RequestContext, Router
from shared.http.models import Reply
from shared.store import Record

router = Router("/api/v1/tools", dialect="orka", tag="tools")

NOT_FOUND = "tool not found"
# A tool's name is the function name the model calls (and the MCP tool name): no dots.
TOOL_NAME = re.compile(r"^[a-z0-9]([-a-z0-9_]*[a-z0-9])?$")
TOOL_NAME_RULE = 'must be lowercase letters, digits, "-" or "_", at most 63 characters'

CONFLICT = "tool was modified concurrently"


def _builtin_conflict(name: str) -> None:
    if name in BUILTIN_NAMES:
        raise Conflict(f'tool "{name}" is a built-in tool')


def tool_summary(record: Record) -> dict[str, Any]:
    spec, status = record.doc.get("spec", {}), record.doc.get("status", {})
    return {"name": record.name, "namespace": record.namespace, "builtin": False,
            "description": spec.get("description", ""), "available": bool(status.get("available")),
            "url": status.get("endpoint", "")}


def provision_tool(namespace: str, name: str, spec: dict[str, Any], *, labels: dict[str, str] | None = None) -> Record:
    """Store a Tool outside the REST API (an operator's path, e.g. a deployment job): the only way to
    create one that injects a Secret (`spec.http.authSecretRef`), which REST callers may not."""
    _builtin_conflict(name)
    name = crd.check_name(name, TOOL_NAME, 63, TOOL_NAME_RULE)
    spec = validate_tool_spec(spec, rest=False)
    parsed = crd.parse_body({"metadata": {"name": name, "namespace": namespace, "labels": labels or {}},
                             "spec": spec})
    doc = crd.new_document("Tool", parsed, name, spec, tool_status(namespace, name, spec))
    return tools.create(namespace, name, doc, exists_message="tool already exists")


@router.route("", ["GET"], summary="List tools (built-in + CRDs)",
              query="shared.http.common_models:PageQuery",
              responses={200: Reply("The built-ins (first page only), then a page of Tools",
                                    "shared.catalog.resources:ToolList")})
def list_tools(ctx: RequestContext):
    return crd.list_page(ctx, tools, tool_summary, first=[builtin(t["name"]) for t in BUILTIN_TOOLS])


@router.route("/<name>", ["GET"], summary="Get tool details",
              query="shared.http.common_models:NamespaceQuery",
              responses={200: Reply("A built-in's metadata, or the Tool", "shared.catalog.doc_models:ToolDetails"), 404: NOT_FOUND})
def get_tool(ctx: RequestContext, name: str):
    namespace = ctx.namespace()
    meta = builtin(name)
    if meta is not None:
        return meta
    return crd.view(tools.require(namespace, name, NOT_FOUND))


@router.route("", ["POST"], summary="Create a tool", body="shared.catalog.resources:ToolBody",
              query="shared.http.common_models:NamespaceQuery",
              responses={201: Reply("The created Tool", "shared.catalog.resources:Tool"),
                         409: "Duplicate, or a built-in's name"})
def create_tool(ctx: RequestContext):
    parsed = crd.read_body(ctx)
    if parsed.name:
        _builtin_conflict(parsed.name)
    name = crd.check_name(parsed.name, TOOL_NAME, 63, TOOL_NAME_RULE)
    spec = validate_tool_spec(parsed.spec)
    namespace = ctx.namespace(parsed.namespace)
    doc = crd.new_document("Tool", parsed, name, spec, tool_status(namespace, name, spec))
    return crd.view(tools.create(namespace, name, doc, exists_message="tool already exists")), 201


@router.route("/<name>", ["PUT"], summary="Update a tool", body="shared.catalog.resources:ToolBody",
              query="shared.http.common_models:NamespaceQuery",
              responses={200: Reply("The updated Tool", "shared.catalog.resources:Tool"), 404: NOT_FOUND,
                         409: CONFLICT})
def update_tool(ctx: RequestContext, name: str):
    _builtin_conflict(name)
    parsed = crd.read_body(ctx, spec_required=True)
    crd.check_path_name(parsed, name)
    spec = validate_tool_spec(parsed.spec)
    namespace = ctx.namespace(parsed.namespace)
    record = tools.require(namespace, name, NOT_FOUND)
    version = crd.expected_version(parsed, record, CONFLICT)
    doc = crd.replaced_document(record.doc, parsed, spec)
    doc["status"] = tool_status(namespace, name, spec)
    return crd.view(tools.replace(namespace, name, doc, expected_version=version, conflict_message=CONFLICT))


@router.route("/<name>", ["DELETE"], summary="Delete a tool",
              query="shared.http.common_models:NamespaceQuery",
              responses={204: "Deleted", 404: NOT_FOUND, 409: "A built-in tool"})
def delete_tool(ctx: RequestContext, name: str):
    _builtin_conflict(name)
    namespace = ctx.namespace()
    if not tools.delete(namespace, name):
        raise NotFound(NOT_FOUND)
    return None
