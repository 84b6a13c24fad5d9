"""Shoal's shared code (every function and the worker import it first)."""

import sys

# httpx's package __init__ imports its command-line tool (`httpx._main`: rich, pygments, click) whenever
# those are installed, and they are (the `shoal` CLI uses rich and click): 100+ ms of every cold start
# for a tool no function runs. Marked absent, httpx takes its own ImportError fallback (a `main` stub).
if "httpx" not in sys.modules:
    sys.modules.setdefault("httpx._main", None)  # type: ignore[assignment]
