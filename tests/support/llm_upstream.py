"""The scripted LLM (tests.support.llm_wire) in a process of its own, keeping connections alive as a
model API does (benches).

werkzeug's dev server, which `ScriptedLLM` runs in a thread, closes every connection after one answer
(`Connection: close`), so a client behind it connects per request, which no hosted model API makes
its clients do. Here the same WSGI app is served by the gunicorn worker Shoal's functions run on
(shared.local.serve.serve_wsgi: HTTP/1.1 keep-alive), in its own process so that it takes no time
from the bench's clients.

`python -m tests.support.llm_upstream --latency SECONDS --port P` with SHOAL_LISTEN_FD set; start it
with `spawn_upstream`.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def spawn_upstream(latency: float = 0.0) -> tuple[subprocess.Popen, str]:
    """Start the upstream (each completion answers after `latency` seconds); (process, url) once it answers."""
    from shared.local.serve import spawn, wait_http

    process, port = spawn(["tests.support.llm_upstream", "--latency", str(latency)], dict(os.environ), cwd=ROOT,
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    wait_http(url + "/v1/models", process=process)
    return process, url


def main(argv: list[str]) -> None:
    from shared.forking import die_with_parent
    from shared.local.serve import inherited_fd, serve_wsgi
    from tests.support.llm_wire import ScriptedLLM

    options = dict(zip(argv[::2], argv[1::2], strict=True))
    die_with_parent()
    fd = inherited_fd()
    if fd is None:
        raise SystemExit("SHOAL_LISTEN_FD is not set: start this with spawn_upstream")
    llm = ScriptedLLM(record=False, latency=float(options.get("--latency", "0")), listen=False)
    serve_wsgi(llm.wsgi, "127.0.0.1", int(options["--port"]), fd)


if __name__ == "__main__":
    main(sys.argv[1:])
