"""Cold start per HTTP function: process start → first 200 on /healthz, against a bare
functions-framework hello app measured in the same run. Target: ≤ 1.5× for every function.

Run with `make bench`. Prints medians of several alternating runs and the ratio per function.
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

RUNS = int(os.environ.get("BENCH_RUNS", "7"))
TARGET = 1.5


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def time_to_first_200(target: str, source: Path) -> float:
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "WORKERS": "1", "THREADS": "4",
           "XDG_RUNTIME_DIR": tempfile.mkdtemp(prefix="bench-")}
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "functions_framework", "--target", target, "--source",
                             str(source), "--host", "127.0.0.1", "--port", str(port)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as r:
                    if r.status == 200:
                        return time.perf_counter() - started
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
    http = [f.name for f in functions() if f.kind == "http"]
    samples: dict[str, list[float]] = {name: [] for name in ["hello", *http]}
    hello = ROOT / "tests" / "bench" / "hello" / "main.py"
    time_to_first_200("hello", hello)  # warm the file cache once
    for _ in range(RUNS):  # alternate so drift hits every function alike
        samples["hello"].append(time_to_first_200("hello", hello))
        for name in http:
            samples[name].append(time_to_first_200(name, ROOT / "functions" / name / "main.py"))
    base = statistics.median(samples["hello"])
    print(f"cold start, process start → first 200 on /healthz, median of {RUNS} runs")
    print(f"{'function':<12} {'median ms':>10} {'ratio':>7}")
    print(f"{'hello':<12} {base * 1000:>10.0f} {'1.00':>7}")
    worst = 0.0
    for name in http:
        median = statistics.median(samples[name])
        worst = max(worst, median / base)
        print(f"{name:<12} {median * 1000:>10.0f} {median / base:>7.2f}")
    print(f"worst ratio {worst:.2f} (target ≤ {TARGET})")
    return 0 if worst <= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
