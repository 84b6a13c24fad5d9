"""`/api/v1/skills/**`: Skill CRUD and the raw markdown (Orka dialect).

The markdown of `spec.content.inline` lives in the bucket, keyed by its digest (so a replaced
skill never points at a half-written object); the stored document keeps `spec.content.size` and
`spec.content.sha256` and the API puts `inline` back when it returns one skill.
"""

from __future__ import annotations

import contextlib
import hashlib
from typing import Any

from flask import Response

from shared.catalog import crd
from shared.catalog.stores import skills
from shared.errors import Conflict, Invalid, NotFound
from shared.http import RequestContext, Router
from shared.http.models import Reply
from shared.store import Record
from shared.store.blobs import delete_blob, get_blob, put_blob

router = Router("/api/v1/skills", dialect="orka", tag="skills")

NOT_FOUND = "skill not found"
CONFLICT = "skill was modified concurrently"


def _content_key(namespace: str, name: str, digest: str) -> str:
    return f"skills/{namespace}/{name}/{digest}.md"


def _validate(spec: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
    """(spec without the inline markdown, the markdown or None)."""
    from pydantic import ValidationError

    from shared.models.skill import SkillSpec

    if isinstance(spec.get("content"), str):  # a bare string is the inline markdown
        spec = {**spec, "content": {"inline": spec["content"]}}
    crd.reject_unknown(spec, SkillSpec)
    try:
        clean = SkillSpec.model_validate(spec).model_dump(exclude_none=True)
    except ValidationError as exc:
        raise Invalid(crd.pydantic_message(exc)) from None
    content = clean.get("content") or {}
    markdown = content.pop("inline", None)
    if markdown is not None:
        content["size"] = len(markdown.encode())
        content["sha256"] = hashlib.sha256(markdown.encode()).hexdigest()
        clean["content"] = content
    return clean, markdown


def _store_markdown(namespace: str, name: str, spec: dict[str, Any], markdown: str | None) -> str | None:
    if markdown is None:
        return None
    key = _content_key(namespace, name, spec["content"]["sha256"])
    put_blob(key, markdown.encode(), "text/markdown; charset=utf-8")
    return key


def _drop_markdown(namespace: str, name: str, spec: dict[str, Any]) -> None:
    digest = (spec.get("content") or {}).get("sha256")
    if digest:
        with contextlib.suppress(Exception):  # an orphaned object is garbage, not an error
            delete_blob(_content_key(namespace, name, digest))


def _markdown(record: Record) -> str | None:
    digest = (record.doc["spec"].get("content") or {}).get("sha256")
    if not digest:
        return None
    data = get_blob(_content_key(record.namespace, record.name, digest))
    return None if data is None else data.decode("utf-8", errors="replace")


def skill_view(record: Record) -> dict[str, Any]:
    view = crd.view(record)
    markdown = _markdown(record)
    if markdown is not None:
        view["spec"] = {**view["spec"], "content": {**view["spec"]["content"], "inline": markdown}}
    return view


def skill_summary(record: Record) -> dict[str, Any]:
    spec = record.doc.get("spec", {})
    return {"name": record.name, "namespace": record.namespace, "displayName": spec.get("displayName", ""),
            "description": spec.get("description", ""), "version": spec.get("version", ""),
            "author": spec.get("author", ""), "tags": spec.get("tags") or [],
            "phase": record.doc.get("status", {}).get("phase", "")}


@router.route("", ["POST"], summary="Create a skill", body="shared.catalog.resources:SkillBody",
              query="shared.http.common_models:NamespaceQuery",
              responses={201: Reply("The created Skill (`spec.content.inline` back)",
                                    "shared.catalog.resources:Skill"), 409: "Duplicate"})
def create_skill(ctx: RequestContext):
    parsed = crd.read_body(ctx)
    name = crd.check_name(parsed.name)
    spec, markdown = _validate(parsed.spec)
    namespace = ctx.namespace(parsed.namespace)
    if skills.get(namespace, name) is not None:  # a duplicate never touches the bucket
        raise Conflict("skill already exists")
    # Markdown first, record second: a record never points at a missing object. (Losing a create
    # race leaves the object behind; the winner may share its digest, so it is not deleted.)
    _store_markdown(namespace, name, spec, markdown)
    doc = crd.new_document("Skill", parsed, name, spec, {"phase": "Ready"})
    record = skills.create(namespace, name, doc, exists_message="skill already exists")
    return skill_view(record), 201


@router.route("", ["GET"], summary="List skills", query="shared.http.common_models:PageQuery",
              responses={200: Reply("A page of skill summaries", "shared.catalog.resources:SkillList")})
def list_skills(ctx: RequestContext):
    return crd.list_page(ctx, skills, skill_summary)


@router.route("/<name>", ["GET"], summary="Get skill details",
              query="shared.http.common_models:NamespaceQuery",
              responses={200: Reply("The skill", "shared.catalog.resources:Skill"), 404: NOT_FOUND})
def get_skill(ctx: RequestContext, name: str):
    namespace = ctx.namespace()
    return skill_view(skills.require(namespace, name, NOT_FOUND))


@router.route("/<name>/content", ["GET"], summary="Get raw spec.content.inline markdown",
              query="shared.http.common_models:NamespaceQuery",
              responses={200: Reply("The markdown", media="text/markdown"), 404: "Unknown skill, or no inline content"})
def get_skill_content(ctx: RequestContext, name: str):
    namespace = ctx.namespace()
    markdown = _markdown(skills.require(namespace, name, NOT_FOUND))
    if markdown is None:
        raise NotFound("skill has no inline content")
    return Response(markdown, status=200, content_type="text/markdown; charset=utf-8")


@router.route("/<name>", ["PUT"], summary="Update a skill", body="shared.catalog.resources:SkillBody",
              query="shared.http.common_models:NamespaceQuery",
              responses={200: Reply("The updated skill", "shared.catalog.resources:Skill"), 404: NOT_FOUND,
                         409: CONFLICT})
def update_skill(ctx: RequestContext, name: str):
    parsed = crd.read_body(ctx, spec_required=True)
    crd.check_path_name(parsed, name)
    spec, markdown = _validate(parsed.spec)
    namespace = ctx.namespace(parsed.namespace)
    record = skills.require(namespace, name, NOT_FOUND)
    version = crd.expected_version(parsed, record, CONFLICT)
    _store_markdown(namespace, name, spec, markdown)
    doc = crd.replaced_document(record.doc, parsed, spec)
    updated = skills.replace(namespace, name, doc, expected_version=version, conflict_message=CONFLICT)
    old_digest = (record.doc["spec"].get("content") or {}).get("sha256")
    if old_digest and old_digest != (spec.get("content") or {}).get("sha256"):
        _drop_markdown(namespace, name, record.doc["spec"])
    return skill_view(updated)


@router.route("/<name>", ["DELETE"], summary="Delete a skill",
              query="shared.http.common_models:NamespaceQuery",
              responses={204: "Deleted", 404: NOT_FOUND})
def delete_skill(ctx: RequestContext, name: str):
    namespace = ctx.namespace()
    record = skills.require(namespace, name, NOT_FOUND)
    if not skills.delete(namespace, name):
        raise NotFound(NOT_FOUND)
    _drop_markdown(namespace, name, record.doc["spec"])
    return None
