"""Proxy overhead of the compat endpoints: the official OpenAI and Anthropic clients calling the
scripted upstream directly, against the same clients calling Shoal's compat function in
transparent-proxy mode (`X-Orka-Tools: disabled`) with that upstream behind it. Target: ≤ 1.2×.

Run with `make bench`. Both sides are served by the same kind of server (werkzeug, threaded, on
127.0.0.1) and measured alternately in one run; prints the median request time and the ratio.
"""

from __future__ import annotations

import logging
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

REQUESTS = int(os.environ.get("BENCH_REQUESTS", "60"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "5"))
TARGET = 1.2
TOKEN = "bench-token"
MESSAGES = [{"role": "user", "content": "hello"}]


def per_request(call) -> float:
    started = time.perf_counter()
    for _ in range(REQUESTS):
        call()
    return (time.perf_counter() - started) / REQUESTS


def main() -> int:
    import anthropic
    import openai
    from functions_framework import create_app

    from tests.support.llm_wire import ScriptedLLM
    from tests.support.servers import BackgroundServer

    with ScriptedLLM() as upstream:
        os.environ.update({"SHOAL_PLATFORM": "local", "SHOAL_DEV_TOKEN": TOKEN, "SHOAL_LLM_PROVIDER": "openai",
                           "OPENAI_API_KEY": "sk-bench", "SHOAL_LLM_BASE_URL": upstream.url + "/v1"})
        app = create_app(target="compat", source=str(ROOT / "functions" / "compat" / "main.py"))
        for name in ("werkzeug", "shoal"):  # a log line per request on a terminal would dominate the timing
            logging.getLogger(name).setLevel(logging.ERROR)
        with BackgroundServer(app) as shoal:
            proxy = {"X-Orka-Tools": "disabled"}
            direct_oai = openai.OpenAI(base_url=upstream.url + "/v1", api_key="sk-bench")
            via_oai = openai.OpenAI(base_url=shoal.url + "/openai/v1", api_key=TOKEN, default_headers=proxy)
            via_ant = anthropic.Anthropic(base_url=shoal.url + "/anthropic", api_key=TOKEN, default_headers=proxy)
            direct_ant = anthropic.Anthropic(base_url=upstream.url, api_key="sk-bench")
            cases = {
                "openai chat.completions": (
                    lambda: direct_oai.chat.completions.create(model="m", messages=MESSAGES),
                    lambda: via_oai.chat.completions.create(model="m", messages=MESSAGES)),
                "openai stream": (
                    lambda: list(direct_oai.chat.completions.create(model="m", messages=MESSAGES, stream=True)),
                    lambda: list(via_oai.chat.completions.create(model="m", messages=MESSAGES, stream=True))),
                # The upstream here is OpenAI behind an Anthropic front: translation both ways.
                "anthropic messages": (
                    lambda: direct_ant.messages.create(model="m", max_tokens=64, messages=MESSAGES),
                    lambda: via_ant.messages.create(model="m", max_tokens=64, messages=MESSAGES)),
            }
            failed = False
            print(f"compat proxy overhead ({REQUESTS} requests x {ROUNDS} rounds, median per request)")
            for name, (direct, via) in cases.items():
                direct(), via()  # warm both paths (imports, connections)
                directs, vias = [], []
                for _ in range(ROUNDS):
                    directs.append(per_request(direct))
                    vias.append(per_request(via))
                d, v = statistics.median(directs), statistics.median(vias)
                ratio = v / d
                failed |= ratio > TARGET
                print(f"  {name:26s} direct {d * 1000:6.2f} ms  via shoal {v * 1000:6.2f} ms  "
                      f"overhead {(v - d) * 1000:5.2f} ms  ratio {ratio:4.2f}x "
                      f"{'OK' if ratio <= TARGET else f'(target {TARGET}x)'}")
            print("  The direct call is one loopback hop to an instant upstream; via shoal adds a second HTTP\n"
                  "  hop, authentication and translation, so the ratio shrinks as upstream latency grows.")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
