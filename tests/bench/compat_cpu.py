"""The compat proxy's CPU per proxied call, in process: the figure the machine's other load disturbs least.

The compat app is built as its container builds it (functions-framework's `create_app`) and called as
a WSGI server calls it, in this thread, against the keep-alive scripted upstream in a process of its
own (tests.support.llm_upstream); no HTTP server and no client in between. For each same-wire case
(`X-Orka-Tools: disabled`, the dev token) it prints this thread's CPU per call, split where a WSGI
server splits it:
- to the last byte: from the call of the app to the body's last piece (what the client waits for);
- in all: that plus the response's close() (what runs after the answer is sent: the request's log
  line and metrics, a task token's usage).

`python tests/bench/compat_cpu.py` (run by `compat_proxy`; reported, not gated). BENCH_CPU_CALLS
calls per round (default 300), BENCH_CPU_ROUNDS rounds (3), BENCH_CPU_LATENCY_MS the upstream's
time to answer (0: instant).
"""

from __future__ import annotations

import io
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

CALLS = int(os.environ.get("BENCH_CPU_CALLS", "300"))
ROUNDS = int(os.environ.get("BENCH_CPU_ROUNDS", "3"))
LATENCY_MS = float(os.environ.get("BENCH_CPU_LATENCY_MS", "0"))
TOKEN = "bench-token"
MESSAGES = [{"role": "user", "content": "hello"}]
CASES = {
    "openai → openai": ("/openai/v1/chat/completions", {"model": "m", "messages": MESSAGES}),
    "openai → openai, stream": ("/openai/v1/chat/completions", {"model": "m", "messages": MESSAGES, "stream": True}),
    "anthropic → anthropic": ("/anthropic/v1/messages", {"model": "claude/m", "max_tokens": 64, "messages": MESSAGES}),
    "anthropic → anthropic, stream": ("/anthropic/v1/messages", {"model": "claude/m", "max_tokens": 64,
                                                                  "messages": MESSAGES, "stream": True}),
}


def environ(path: str, body: bytes) -> dict:
    return {"REQUEST_METHOD": "POST", "PATH_INFO": path, "SCRIPT_NAME": "", "QUERY_STRING": "",
            "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "8080", "SERVER_PROTOCOL": "HTTP/1.1",
            "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(body), "wsgi.errors": sys.stderr,
            "wsgi.multithread": True, "wsgi.multiprocess": False, "wsgi.run_once": False, "wsgi.version": (1, 0),
            "CONTENT_TYPE": "application/json", "CONTENT_LENGTH": str(len(body)),
            "HTTP_AUTHORIZATION": f"Bearer {TOKEN}", "HTTP_X_ORKA_TOOLS": "disabled"}


def call(app, path: str, body: bytes) -> tuple[int, int]:
    """(ns of this thread's CPU to the body's last piece, ns for the close after it)."""
    statuses = []
    started = time.thread_time_ns()
    answer = app(environ(path, body), lambda status, headers, exc_info=None: statuses.append(status))
    for _ in answer:
        pass
    sent = time.thread_time_ns()
    answer.close()
    closed = time.thread_time_ns()
    if not statuses[0].startswith("200"):
        raise SystemExit(f"{path}: {statuses[0]}")
    return sent - started, closed - sent


def main() -> int:
    from tests.support.llm_upstream import spawn_upstream

    process, upstream = spawn_upstream(LATENCY_MS / 1000)
    try:
        os.environ.update({
            "SHOAL_PLATFORM": "local", "SHOAL_DEV_TOKEN": TOKEN, "SHOAL_LLM_PROVIDER": "openai",
            "OPENAI_API_KEY": "sk-bench", "SHOAL_LLM_BASE_URL": upstream + "/v1", "BENCH_ANTHROPIC_KEY": "sk-ant-bench",
            "SHOAL_LLM_PROVIDERS": json.dumps({"claude": {"type": "anthropic", "baseURL": upstream,
                                                          "apiKeyEnv": "BENCH_ANTHROPIC_KEY"}})})
        from functions_framework import create_app

        app = create_app("compat", str(ROOT / "functions" / "compat" / "main.py"), "http")
        logging_off()
        print(f"  compat CPU per call in process (upstream {LATENCY_MS:.0f} ms; µs to the last byte + after it, "
              f"{ROUNDS} rounds of {CALLS})")
        for name, (path, doc) in CASES.items():
            body = json.dumps(doc).encode()
            for _ in range(20):
                call(app, path, body)  # imports, the pooled connection
            rounds = []
            for _ in range(ROUNDS):
                sums = [0, 0]
                for _ in range(CALLS):
                    sent, closed = call(app, path, body)
                    sums[0] += sent
                    sums[1] += closed
                rounds.append(f"{sums[0] / CALLS / 1000:5.0f} + {sums[1] / CALLS / 1000:4.0f}")
            print(f"    {name:32s} " + "   ".join(rounds))
    finally:
        process.terminate()
        process.wait(timeout=10)
    return 0


def logging_off() -> None:
    """The request lines go to /dev/null instead of the terminal; the work of writing them stays."""
    import logging

    from shared.logs import get_logger

    get_logger("http")  # the handler exists
    for handler in logging.getLogger("shoal").handlers:
        if isinstance(handler, logging.StreamHandler):
            handler.setStream(open(os.devnull, "w"))  # noqa: SIM115  (for the process's life)


if __name__ == "__main__":
    sys.exit(main())
