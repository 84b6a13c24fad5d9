"""The base of Shoal's pydantic models: validators built at first use, not at import.

A process imports more models than it validates with (an event function its handlers' models at
cold start; an HTTP function names its route models by import path and imports each module at first
use, shared.http.models.resolve). pydantic builds a model's validator and serializer when the class is
created unless `defer_build` is set, and the first build also scans every installed distribution for
pydantic plugins: together about a third of a function's start (docs/performance.md). With this base
the build happens at a model's first validation, dump or schema. A subclass's own `model_config`
is merged with this one, so it keeps `defer_build`. `tests/unit/test_cold_imports.py` fails when a
function has built any model by the time it answers `/healthz`.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Model(BaseModel):
    """A pydantic model built at first use."""

    model_config = ConfigDict(defer_build=True)
