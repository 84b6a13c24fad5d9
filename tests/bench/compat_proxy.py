"""Proxy overhead of the compat endpoints in transparent-proxy mode (`X-Orka-Tools: disabled`).

The official OpenAI and Anthropic clients call the scripted upstream directly, then the same clients
call Shoal's `compat` function with that upstream behind it, one request of each in turn (medians of
the single requests), in one run. Shoal runs as
deployed and as `make run` runs it: its own functions-framework (gunicorn) process.

Two upstreams:
- instant: the scripted server answers as fast as it can (under 2 ms a call here), so the ratio is
  mostly "two loopback HTTP hops against one";
- model-like: the same server taking MODEL_LATENCY_MS before it answers, far less than any hosted
  model takes to respond. This is the ratio users see; the target (≤ 1.1×) is checked on it.
The absolute overhead (via minus direct, median) is printed for both: it is what Shoal adds, and so is
the compat process's CPU per proxied request (from /proc: what the machine's other load disturbs least).

The upstream runs in a process of its own and keeps connections alive, as a model API does
(tests.support.llm_upstream), so the direct client and the proxy's pooled client each reuse their
connection. (Until session 10 it was werkzeug's dev server in the bench's process, which closes every
connection: both paths connected per request, and the upstream took the GIL from the bench's clients.)

Then `compat_cpu` (reported): the compat app's CPU per call in process, up to the last byte the
client waits for and after it (the request's log line and metrics), with each upstream.

Cases: each vendor in front of a provider of its own kind (the same-wire proxy, the common setup), and
an Anthropic endpoint in front of an OpenAI provider (translated both ways; reported, not checked).
Exits non-zero when a checked figure misses.
"""

from __future__ import annotations

import contextlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

REQUESTS = int(os.environ.get("BENCH_REQUESTS", "50"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "5"))
MODEL_LATENCY_MS = float(os.environ.get("BENCH_MODEL_LATENCY_MS", "20"))
TARGET = 1.1
TOKEN = "bench-token"
MESSAGES = [{"role": "user", "content": "hello"}]


def timed(call) -> float:
    started = time.perf_counter()
    call()
    return time.perf_counter() - started


def start_compat(upstream_url: str) -> tuple[subprocess.Popen, str]:
    from shared.local.platform import wait_http
    from shared.local.serve import spawn_function

    env = {**os.environ, "SHOAL_PLATFORM": "local", "SHOAL_DEV_TOKEN": TOKEN, "SHOAL_LLM_PROVIDER": "openai",
           "OPENAI_API_KEY": "sk-bench", "SHOAL_LLM_BASE_URL": upstream_url + "/v1",
           "BENCH_ANTHROPIC_KEY": "sk-ant-bench", "XDG_RUNTIME_DIR": tempfile.mkdtemp(prefix="shoal-bench-"),
           "SHOAL_LLM_PROVIDERS": f'{{"claude": {{"type": "anthropic", "baseURL": "{upstream_url}", '
                                  f'"apiKeyEnv": "BENCH_ANTHROPIC_KEY"}}}}'}
    # stdout: a log line per request
    process, url = spawn_function("compat", env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_http(url + "/healthz", process=process)
    return process, url


def cases(upstream_url: str, shoal_url: str) -> dict[str, tuple]:
    import anthropic
    import openai

    proxy = {"X-Orka-Tools": "disabled"}
    direct_oai = openai.OpenAI(base_url=upstream_url + "/v1", api_key="sk-bench")
    via_oai = openai.OpenAI(base_url=shoal_url + "/openai/v1", api_key=TOKEN, default_headers=proxy)
    direct_ant = anthropic.Anthropic(base_url=upstream_url, api_key="sk-bench")
    via_ant = anthropic.Anthropic(base_url=shoal_url + "/anthropic", api_key=TOKEN, default_headers=proxy)
    return {  # name: (direct, via, checked)
        "openai → openai": (
            lambda: direct_oai.chat.completions.create(model="m", messages=MESSAGES),
            lambda: via_oai.chat.completions.create(model="m", messages=MESSAGES), True),
        "openai → openai, stream": (
            lambda: list(direct_oai.chat.completions.create(model="m", messages=MESSAGES, stream=True)),
            lambda: list(via_oai.chat.completions.create(model="m", messages=MESSAGES, stream=True)), True),
        "anthropic → anthropic": (
            lambda: direct_ant.messages.create(model="m", max_tokens=64, messages=MESSAGES),
            lambda: via_ant.messages.create(model="claude/m", max_tokens=64, messages=MESSAGES), True),
        "anthropic → anthropic, stream": (
            lambda: list(direct_ant.messages.create(model="m", max_tokens=64, messages=MESSAGES, stream=True)),
            lambda: list(via_ant.messages.create(model="claude/m", max_tokens=64, messages=MESSAGES, stream=True)),
            True),
        "anthropic → openai (translated)": (
            lambda: direct_ant.messages.create(model="m", max_tokens=64, messages=MESSAGES),
            lambda: via_ant.messages.create(model="m", max_tokens=64, messages=MESSAGES), False),
    }


def measure(upstream_url: str, label: str, count: int) -> bool:
    from tests.bench.procstat import cpu_seconds

    process, shoal_url = start_compat(upstream_url)
    failed = False
    try:
        print(f"  upstream {label}")
        for name, (direct, via, checked) in cases(upstream_url, shoal_url).items():
            for _ in range(3):
                direct(), via()  # warm both paths (imports, pooled connections)
            directs, vias = [], []
            cpu_before = cpu_seconds(process.pid)  # only the via calls reach the compat process
            for _ in range(ROUNDS * count):  # one of each in turn: the machine's other load hits both alike
                directs.append(timed(direct))
                vias.append(timed(via))
            cpu_ms = (cpu_seconds(process.pid) - cpu_before) / len(vias) * 1000
            d, v = statistics.median(directs), statistics.median(vias)
            ratio, overhead_ms = v / d, (v - d) * 1000
            gated = checked and label != "instant"
            verdict = "reported" if not gated else ("OK" if ratio <= TARGET else "MISSED")
            failed |= gated and ratio > TARGET
            print(f"    {name:32s} direct {d * 1000:6.2f} ms  via shoal {v * 1000:6.2f} ms  "
                  f"overhead {overhead_ms:5.2f} ms  ratio {ratio:4.2f}x  {verdict}  (compat CPU {cpu_ms:4.2f} ms/request)")
    finally:
        process.terminate()
        process.wait(timeout=10)
    return failed


@contextlib.contextmanager
def upstream(latency: float) -> Iterator[str]:
    from tests.support.llm_upstream import spawn_upstream

    process, url = spawn_upstream(latency)
    try:
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


def main() -> int:
    print(f"compat proxy overhead ({REQUESTS} requests x {ROUNDS} rounds, medians per request; "
          f"checked: ratio ≤ {TARGET}x with a model-like upstream)")
    failed = False
    with upstream(0.0) as url:
        failed |= measure(url, "instant", REQUESTS)
    print("    (instant: a second loopback HTTP hop against one, so the ratio is reported, not checked)")
    with upstream(MODEL_LATENCY_MS / 1000) as url:
        failed |= measure(url, f"model-like ({MODEL_LATENCY_MS:.0f} ms to answer)", max(10, REQUESTS // 5))
    # The robust figure (reported): the compat app's CPU per call in process, to the last byte and after it.
    for latency in ("0", f"{MODEL_LATENCY_MS:g}"):
        subprocess.run([sys.executable, str(ROOT / "tests" / "bench" / "compat_cpu.py")], check=False,
                       env={**os.environ, "BENCH_CPU_LATENCY_MS": latency,
                            "BENCH_CPU_CALLS": "300" if latency == "0" else "50"})
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
