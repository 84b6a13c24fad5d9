"""Keep the server's filesystem out of task messages.

An executor's error or a worker's dying output ends up in `status.message`, which any API client
reads; absolute paths there (`/work/...`, `/app/...`, a virtualenv) tell them how the server is laid
out and mean nothing to them. Each path keeps only its last component, enough to recognise a file.
"""

from __future__ import annotations

import re

# A slash that does not continue a word, a URL or another path, then two or more path segments:
# "/work/x/.venv/bin/python" or 'File "/app/shared/worker/run.py"', never "http://host/a/b" or "and/or".
_ABSOLUTE_PATH = re.compile(r"(?<![\w.:/~@-])/(?:[\w.@+-]+/)+([\w.@+-]*)")


def scrub_paths(text: str) -> str:
    """`text` with every absolute path cut to its last component."""
    return _ABSOLUTE_PATH.sub(lambda m: m.group(1) or "…", text)
