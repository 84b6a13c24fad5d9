"""The worker memory routes' list answers (bare JSON arrays) as OpenAPI components: models only
`/openapi.json` uses, named by string on the routes so pydantic's RootModel never loads at a
function's cold start (as shared.jobs.doc_models)."""

from __future__ import annotations

from pydantic import RootModel

from shared.memory.models import Memory, Proposal, TranscriptHit


class MemoryArray(RootModel[list[Memory]]):
    pass


class ProposalArray(RootModel[list[Proposal]]):
    pass


class TranscriptHits(RootModel[list[TranscriptHit]]):
    pass
