"""The labrats list answers as OpenAPI components: models only `/openapi.json` uses.

A route names them as strings (`Reply("…", "shared.jobs.doc_models:ApiKeyList")`), so this module,
and pydantic's RootModel with it, loads when the document is built, never at a function's cold start
(a RootModel is built at import, and the first built model scans every installed distribution for
pydantic plugins).
"""

from __future__ import annotations

from pydantic import RootModel

from shared.jobs.admin_models import Upload
from shared.jobs.job_models import ApiKey, Instruction, LabratsAgent, WebhookSource


class LabratsAgentList(RootModel[list[LabratsAgent]]):
    pass


class InstructionList(RootModel[list[Instruction]]):
    pass


class ApiKeyList(RootModel[list[ApiKey]]):
    pass


class WebhookSourceList(RootModel[list[WebhookSource]]):
    pass


class UploadList(RootModel[list[Upload]]):
    pass
