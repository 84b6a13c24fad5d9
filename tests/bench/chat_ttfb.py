"""Chat: time to the first SSE byte with the mock provider (target ≤ 50 ms), and orchestration
overhead per loop iteration (a chat turn vs the bare agent loop with the same scripted model).

Run with `make bench`. State is moto in process, so the numbers measure Shoal's own work. Prints
the first byte as a ratio to its target (≤ 1.00 passes) and exits non-zero when it is missed.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

RUNS = int(os.environ.get("BENCH_RUNS", "15"))
ITERATIONS = 10
TARGET_MS = 50.0


def _sink(environ, start_response):
    """The broker's answer to an event (202), so a turn's events are delivered, not parked for redelivery."""
    environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
    start_response("202 Accepted", [("Content-Length", "0")])
    return [b""]


def main() -> int:
    import logging

    from tests.support.servers import BackgroundServer

    for name in ("werkzeug", "shoal.http"):  # each request's log line: the figures are what this prints
        logging.getLogger(name).setLevel(logging.WARNING)
    sink = BackgroundServer(_sink).__enter__()
    os.environ.update({"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_DEFAULT_REGION": "us-east-1",
                       "SHOAL_PLATFORM": "local", "SHOAL_DEV_TOKEN": "bench", "K_SINK": sink.url + "/"})
    script = Path(tempfile.mkdtemp()) / "script.json"
    script.write_text(json.dumps([{"tool_calls": [{"name": "list_agents", "arguments": {"i": i}}]}
                                  for i in range(ITERATIONS)] + [{"text": "done"}]))
    os.environ["SHOAL_MOCK_SCRIPT"] = str(script)
    import httpx
    from functions_framework import create_app
    from moto import mock_aws

    from shared.agent.loop import run_agent
    from shared.agent.tools import Tool, ToolRegistry
    from shared.llm.base import Message, ToolSpec
    from shared.llm.mock import MockProvider
    from shared.store.bootstrap import ensure_state

    headers = {"Authorization": "Bearer bench"}
    with mock_aws():
        ensure_state()
        app = create_app(target="chat", source=str(ROOT / "functions" / "chat" / "main.py"))
        with BackgroundServer(app) as server, httpx.Client(base_url=server.url, timeout=30) as client:
            firsts, turns = [], []
            for _ in range(RUNS):
                started = time.perf_counter()
                with client.stream("POST", "/api/v1/chat", json={"message": "bench"}, headers=headers) as response:
                    chunks = response.iter_raw()
                    next(chunks)
                    firsts.append((time.perf_counter() - started) * 1000)
                    for _ in chunks:
                        pass
                turns.append((time.perf_counter() - started) * 1000)
        bare = []
        tool = Tool(ToolSpec("list_agents", "", {"type": "object", "properties": {}}), lambda args: {"agents": []})
        for _ in range(RUNS):
            started = time.perf_counter()
            run_agent(MockProvider(), [Message(role="user", content="bench")], tools=ToolRegistry([tool]),
                      stream=True, observe=lambda kind, data: None)
            bare.append((time.perf_counter() - started) * 1000)
    first, turn, loop = statistics.median(firsts), statistics.median(turns), statistics.median(bare)
    per_iteration = (turn - loop) / (ITERATIONS + 1)
    verdict = "OK" if first <= TARGET_MS else "MISSED"
    print(f"chat time to first SSE byte: median {first:.1f} ms over {RUNS} runs; ratio to target "
          f"{first / TARGET_MS:.2f} {verdict} (target ≤ {TARGET_MS:.0f} ms)")
    print(f"chat turn with {ITERATIONS} tool iterations: median {turn:.1f} ms; bare agent loop {loop:.1f} ms; "
          f"orchestration overhead {per_iteration:.1f} ms per iteration")
    return 0 if first <= TARGET_MS else 1


if __name__ == "__main__":
    sys.exit(main())
