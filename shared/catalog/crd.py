"""CRD-shaped documents shared by agents, skills and tools: parse a create/update body, render a view.

Stored documents keep the Kubernetes shape {apiVersion, kind, metadata, spec, status}; the API adds
`metadata.namespace` and `metadata.resourceVersion` (the store version) when it returns one.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from shared.clock import now_rfc3339
from shared.errors import Conflict, Invalid
from shared.http.params import string_map
from shared.store import Record

if TYPE_CHECKING:  # the routes' models are in shared.catalog.resources, loaded at first use
    from pydantic import BaseModel

API_VERSION = "core.orka.ai/v1alpha1"
_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_NAMESPACE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
# Keys of a flat create body that are not spec fields.
_ENVELOPE = {"name", "namespace", "metadata", "spec", "status", "apiVersion", "kind", "labels", "annotations"}


@dataclass
class Parsed:
    name: str | None
    namespace: str | None
    labels: dict[str, str]
    annotations: dict[str, str]
    spec: dict[str, Any]
    resource_version: str | None = None


def parse_body(body: Any, *, spec_required: bool = False) -> Parsed:
    """`name`/`namespace` or `metadata.{name,namespace,labels,annotations}`, and `spec` (or flat fields)."""
    if not isinstance(body, dict):
        raise Invalid("invalid request body")
    metadata = body.get("metadata") or {}
    if not isinstance(metadata, dict):
        raise Invalid("invalid request body")
    name = body.get("name") or metadata.get("name")
    namespace = body.get("namespace") or metadata.get("namespace")
    version = metadata.get("resourceVersion")
    if any(v is not None and not isinstance(v, str) for v in (name, namespace, version)):
        raise Invalid("invalid request body")
    spec = body.get("spec")
    if spec is None:
        if spec_required:
            raise Invalid("spec is required")
        spec = {k: v for k, v in body.items() if k not in _ENVELOPE}
    if not isinstance(spec, dict):
        raise Invalid("invalid request body")
    labels = {**string_map(metadata.get("labels")), **string_map(body.get("labels"))}
    annotations = {**string_map(metadata.get("annotations")), **string_map(body.get("annotations"))}
    if namespace is not None and (len(namespace) > 63 or not _NAMESPACE.match(namespace)):
        raise Invalid(f'invalid namespace "{namespace}"')
    return Parsed(name, namespace, labels, annotations, spec, version)


def check_name(name: str | None, pattern: re.Pattern[str] = _NAME, max_length: int = 253,
               rule: str = "must be a lowercase RFC 1123 subdomain") -> str:
    if not name:
        raise Invalid("name is required")
    if len(name) > max_length or not pattern.match(name):
        raise Invalid(f'invalid name "{name}": {rule}')
    return name


def check_path_name(parsed: Parsed, name: str) -> None:
    """An update body may repeat the name, never change it."""
    if parsed.name is not None and parsed.name != name:
        raise Invalid(f'name "{parsed.name}" does not match the path')


def new_document(kind: str, parsed: Parsed, name: str, spec: dict[str, Any],
                 status: dict[str, Any] | None = None) -> dict[str, Any]:
    now = now_rfc3339()
    return {
        "apiVersion": API_VERSION,
        "kind": kind,
        "metadata": {"name": name, "uid": str(uuid.uuid4()), "labels": parsed.labels,
                     "annotations": parsed.annotations, "creationTimestamp": now, "generation": 1},
        "spec": spec,
        "status": status or {},
    }


def replaced_document(doc: dict[str, Any], parsed: Parsed, spec: dict[str, Any]) -> dict[str, Any]:
    """`doc` with a new spec (and labels/annotations when the body sends them); generation + 1."""
    metadata = dict(doc["metadata"])
    if parsed.labels:
        metadata["labels"] = parsed.labels
    if parsed.annotations:
        metadata["annotations"] = parsed.annotations
    metadata["generation"] = int(metadata.get("generation", 1)) + 1
    return {**doc, "metadata": metadata, "spec": spec}


def expected_version(parsed: Parsed, record: Record, conflict_message: str) -> int:
    """The version a PUT may replace: the client's resourceVersion when it sends one."""
    if parsed.resource_version is None:
        return record.version
    if parsed.resource_version != str(record.version):
        raise Conflict(conflict_message)
    return record.version


def view(record: Record) -> dict[str, Any]:
    doc = dict(record.doc)
    doc["metadata"] = {**doc["metadata"], "namespace": record.namespace, "resourceVersion": str(record.version)}
    return doc


def page(items: list[Any], cursor: str | None) -> dict[str, Any]:
    return {"items": items, "metadata": {"continue": cursor} if cursor else {}}


def pydantic_message(exc: Any, prefix: str = "spec") -> str:
    """The first error of a pydantic ValidationError as `invalid <prefix>.<field>: <message>`."""
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first["loc"])
    if first["type"] == "extra_forbidden":  # the wording of reject_unknown, at any depth
        return f"{prefix}.{where}: unknown field"
    # A custom validator's message is the user's message; pydantic's "Value error, " prefix is noise.
    message = first["msg"].removeprefix("Value error, ")
    return f"invalid {prefix}.{where}: {message}" if where else f"invalid {prefix}: {message}"


def read_body(ctx: Any, *, spec_required: bool = False) -> Parsed:
    """The route's `<kind>Body` (a wrong type is a 400 naming the field), then Orka's checks."""
    return parse_body(ctx.body().model_dump(exclude_unset=True), spec_required=spec_required)


def reject_unknown(spec: dict[str, Any], model: type[BaseModel], prefix: str = "spec") -> None:
    """An unknown spec field is a 400 naming it (Kubernetes' strict field validation; never stored)."""
    unknown = sorted(set(spec) - set(model.model_fields))
    if unknown:
        raise Invalid("; ".join(f"{prefix}.{name}: unknown field" for name in unknown))


def list_page(ctx: Any, store: Any, render: Any, *, first: list[Any] | None = None) -> dict[str, Any]:
    """`GET /<kind>` of every catalog kind: the route's PageQuery, a page of `store` in the caller's
    namespace, each record rendered; `first` (e.g. the built-in tools) leads the first page only."""
    query = ctx.query()
    cursor = query.continue_ or None
    records, next_cursor = store.list_page(ctx.namespace(), limit=query.limit, cursor=cursor)
    return page(([] if cursor else list(first or [])) + [render(r) for r in records], next_cursor)
