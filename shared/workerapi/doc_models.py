"""Worker API answers as OpenAPI components: models only `/openapi.json` uses, named as strings by
the routes so they load with the document, not at cold start (see shared.jobs.doc_models)."""

from __future__ import annotations

from pydantic import RootModel

from shared.workerapi.models import Message


class MessageList(RootModel[list[Message]]):
    pass
