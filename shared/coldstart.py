"""Loading a function at cold start, without the cyclic garbage collector's work.

Importing a function's modules allocates some 50 000 long-lived objects (classes, functions, pydantic
fields), and every 700 allocations the collector walks the young ones, every tenth time the older ones
too: about 120 collections and 20-40 ms of CPU per cold start, which find next to nothing to free. So
the first table a process builds (`build_api`, `build_handlers`) loads its modules with the collector
paused, then freezes what it loaded (`gc.freeze()`: kept out of every later collection, and pages
left unwritten, shared with a forked gunicorn worker), and turns the collector back on.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

_loaded = False


@contextmanager
def loading() -> Iterator[None]:
    """Pause the collector for the first load of a process (later ones, e.g. the OpenAPI document's
    tables or a test's, run as usual)."""
    global _loaded
    if _loaded or not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        _loaded = True
        gc.freeze()
        gc.enable()
