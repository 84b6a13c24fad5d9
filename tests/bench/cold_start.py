"""Cold start per HTTP function: process start → first 200 on /healthz, each started as its container
starts it, against a bare functions-framework hello app measured in the same run. Target: ≤ 1.5× for every function.

Run with `make bench` (BENCH_FUNCTIONS=internal,catalog for some). Prints medians of several
alternating runs and the ratio per function, by wall time (the target) and by the CPU the process
tree used until its first 200 (Linux; the figure a machine shared with other work disturbs least).
Exits non-zero when a function's wall-time ratio misses the target.
"""

from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from shared.local.manifests import functions  # noqa: E402
from tests.bench.procstat import cpu_seconds  # noqa: E402

RUNS = int(os.environ.get("BENCH_RUNS", "7"))
TARGET = 1.5


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def time_to_first_200(target: str, source: Path) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the process tree) from process start to the first 200."""
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "WORKERS": "1", "THREADS": "4",
           "XDG_RUNTIME_DIR": tempfile.mkdtemp(prefix="bench-")}
    started = time.perf_counter()
    # hello: functions-framework's own CLI (the bare reference); a Shoal function: its container's
    # command (knative/services.yaml, the Dockerfile), the same CLI with Shoal's gunicorn worker class.
    server = "functions_framework" if target == "hello" else "shared.http.server"
    proc = subprocess.Popen([sys.executable, "-m", server, "--target", target, "--source",
                             str(source), "--host", "127.0.0.1", "--port", str(port)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as r:
                    if r.status == 200:
                        return time.perf_counter() - started, cpu_seconds(proc.pid)
            except OSError:
                if proc.poll() is not None:
                    raise RuntimeError(f"{target} exited with {proc.returncode}") from None
                time.sleep(0.005)
    finally:
        proc.terminate()
        proc.wait()


def main() -> int:
    import compileall

    # As in the image (pip compiles what it installs): without bytecode, every start would compile
    # whatever changed since the last import, and PYTHONDONTWRITEBYTECODE=1 makes that every start.
    for package in ("shared", "functions", "tests/bench/hello"):
        compileall.compile_dir(ROOT / package, quiet=1)
    wanted = [n for n in os.environ.get("BENCH_FUNCTIONS", "").split(",") if n]
    http = [f.name for f in functions() if f.kind == "http" and (not wanted or f.name in wanted)]
    samples: dict[str, list[float]] = {name: [] for name in ["hello", *http]}
    cpu: dict[str, list[float]] = {name: [] for name in ["hello", *http]}
    hello = ROOT / "tests" / "bench" / "hello" / "main.py"
    time_to_first_200("hello", hello)  # warm the file cache once
    for _ in range(RUNS):  # alternate so drift hits every function alike
        for name in ["hello", *http]:
            source = hello if name == "hello" else ROOT / "functions" / name / "main.py"
            wall, used = time_to_first_200(name, source)
            samples[name].append(wall)
            cpu[name].append(used)
    base, base_cpu = statistics.median(samples["hello"]), statistics.median(cpu["hello"])
    print(f"cold start, process start → first 200 on /healthz, median of {RUNS} runs")
    print(f"{'function':<12} {'wall ms':>8} {'ratio':>6} {'CPU ms':>7} {'ratio':>6}")
    print(f"{'hello':<12} {base * 1000:>8.0f} {'1.00':>6} {base_cpu * 1000:>7.0f} {'1.00':>6}")
    worst = worst_cpu = 0.0
    for name in http:
        median, used = statistics.median(samples[name]), statistics.median(cpu[name])
        worst, worst_cpu = max(worst, median / base), max(worst_cpu, used / base_cpu)
        print(f"{name:<12} {median * 1000:>8.0f} {median / base:>6.2f} {used * 1000:>7.0f} {used / base_cpu:>6.2f}")
    print(f"worst wall ratio {worst:.2f} {'OK' if worst <= TARGET else 'MISSED'} (target ≤ {TARGET}); "
          f"worst CPU ratio {worst_cpu:.2f}")
    return 0 if worst <= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
