"""Catalog answers as OpenAPI components: models only `/openapi.json` uses, named as strings by the
routes so they load with the document, not at cold start (see shared.jobs.doc_models)."""

from __future__ import annotations

from pydantic import RootModel

from shared.catalog.resources import Tool, ToolSummary


class ToolDetails(RootModel[Tool | ToolSummary]):  # type: ignore[valid-type]
    """A built-in's metadata, or the Tool resource."""
