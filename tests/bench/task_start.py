"""Create → Running latency with the local executor, under an offered load of 4 tasks per second.

On a trimmed `make run` (tests/bench/mini_platform.py: moto's server, the broker, tasks, dispatcher,
internal, each its own process as in `make run`), an open-loop client starts a task every 1/RATE
seconds, each on its own thread (a slow answer does not slow the offered load), and polls
`GET /api/v1/tasks/<name>` until the task left Pending. Workers are real subprocesses (the local
executor) reporting through the internal function. Target: p50 ≤ 300 ms. Exits non-zero when missed.
"""

from __future__ import annotations

import os
import statistics
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.bench.mini_platform import TOKEN, mini_platform, wait_idle  # noqa: E402

RATE = float(os.environ.get("BENCH_RATE", "4"))
TASKS = int(os.environ.get("BENCH_TASKS", "40"))
TARGET_MS = 300.0


def main() -> int:
    import httpx

    samples: list[float] = []
    failures: list[str] = []
    with mini_platform() as platform:
        url = platform["urls"]["tasks"]
        headers = {"Authorization": f"Bearer {TOKEN}"}
        with httpx.Client(base_url=url, headers=headers, timeout=30,
                          limits=httpx.Limits(max_connections=64)) as http:

            def one(name: str) -> None:
                started = time.perf_counter()
                response = http.post("/api/v1/tasks", json={"name": name, "type": "ai", "prompt": "hi"})
                if response.status_code != 201:
                    failures.append(f"{name}: {response.status_code} {response.text[:200]}")
                    return
                while time.perf_counter() - started < 30:
                    phase = http.get(f"/api/v1/tasks/{name}").json()["status"].get("phase", "Pending")
                    if phase != "Pending":
                        samples.append(time.perf_counter() - started)
                        return
                    time.sleep(0.005)
                failures.append(f"{name}: still Pending after 30 s")

            one("warm")  # imports and pooled connections of every process on the path
            threads = []
            began = time.perf_counter()
            for i in range(TASKS):
                time.sleep(max(0.0, began + i / RATE - time.perf_counter()))
                thread = threading.Thread(target=one, args=(f"bench-{i}",))
                thread.start()
                threads.append(thread)
            for thread in threads:
                thread.join()
            wait_idle(platform["broker"])
            time.sleep(2)  # let the last workers report before the platform goes away
    if failures:
        print("task start failures:\n  " + "\n  ".join(failures[:5]))
        return 1
    samples.sort()
    p50 = statistics.median(samples) * 1000
    p90 = samples[int(len(samples) * 0.9) - 1] * 1000
    print(f"create → Running (local executor), {TASKS} tasks offered at {RATE:g}/s: p50 {p50:.0f} ms, "
          f"p90 {p90:.0f} ms; p50 / target {p50 / TARGET_MS:.2f} {'OK' if p50 <= TARGET_MS else 'MISSED'} "
          f"(target ≤ {TARGET_MS:.0f} ms)")
    return 0 if p50 <= TARGET_MS else 1


if __name__ == "__main__":
    sys.exit(main())
