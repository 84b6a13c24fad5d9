"""moto's per-request work that cannot change its answers, done once instead of on every request.

moto is the one process every function's store calls queue on locally (`make run`, the benches, the
tests' servers), so its CPU per call bounds how fast the platform runs there (docs/performance.md):
- each request lists the public methods of its response class with `inspect.getmembers` (about a
  seventh of moto's CPU per DynamoDB call) to ask whether the action is one of them; a class's
  methods do not change while moto runs, so the answer is kept per class.
"""

from __future__ import annotations

import functools


def install() -> None:
    """Patch moto's response dispatch (idempotent)."""
    import moto.core.responses as responses

    original = responses.method_names_from_class
    if getattr(original, "_cached", False):
        return

    @functools.cache
    def method_names_from_class(clazz: object) -> frozenset[str]:
        return frozenset(original(clazz))  # only asked `action in names`

    method_names_from_class._cached = True  # type: ignore[attr-defined]
    responses.method_names_from_class = method_names_from_class  # type: ignore[assignment]
