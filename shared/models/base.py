"""The base of Shoal's pydantic models: validators built at first use, not at import.

A function imports its route, request, response and record models at cold start, but validates with
few of them per process. pydantic builds a model's validator and serializer when the class is
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
