"""Task creation throughput with 1 and with 8 clients: POST /api/v1/tasks at the tasks function's port.

The tasks are cron-scheduled (`schedule` set), so no worker starts at once: the figure is the API
path's (validate, store, index, announce; the dispatcher registers the schedule from the event).
Runs on a trimmed `make run` (tests/bench/mini_platform.py: moto's server, the broker, tasks,
dispatcher, internal, each its own process as in `make run`). Rounds of 1 and 8 clients alternate
so the machine's other load hits both alike. Target: 8 clients ≥ 2× the tasks per second of 1.
Also printed: CPU per created task of each process (Linux), the figure other load disturbs least,
and of the bench's own process (its clients and the broker, which runs in it).
Exits non-zero when the target is missed.
"""

from __future__ import annotations

import itertools
import os
import statistics
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.bench.mini_platform import TOKEN, cpu_seconds, mini_platform, wait_idle  # noqa: E402

SECONDS = float(os.environ.get("BENCH_SECONDS", "6"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
CLIENTS = (1, 8)
TARGET = 2.0
_names = itertools.count()


BENCH = "bench (clients, broker)"


def own_cpu() -> float:
    """This process's CPU alone (its clients and the in-process broker; not the platform it started)."""
    times = os.times()
    return times.user + times.system


def create_for(url: str, clients: int, seconds: float) -> int:
    """Tasks created by `clients` concurrent clients (one kept-alive connection each) in `seconds`."""
    import httpx

    deadline = time.perf_counter() + seconds
    counts = [0] * clients

    def client(i: int) -> None:
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30) as http:
            while time.perf_counter() < deadline:
                body = {"name": f"cron-{next(_names)}", "type": "ai", "prompt": "bench",
                        "schedule": "0 0 1 1 *"}
                response = http.post("/api/v1/tasks", json=body)
                assert response.status_code == 201, response.text
                counts[i] += 1

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(counts)


def main() -> int:
    with mini_platform() as platform:
        url = platform["urls"]["tasks"]
        create_for(url, 8, 2.0)  # warm: imports, pooled connections, pydantic models
        wait_idle(platform["broker"])
        rates: dict[int, list[float]] = {n: [] for n in CLIENTS}
        cpu: dict[str, float] = dict.fromkeys([*platform["pids"], BENCH], 0.0)
        per_clients = dict.fromkeys(CLIENTS, 0.0)  # CPU of all processes, by the number of clients
        made = dict.fromkeys(CLIENTS, 0)
        created = 0
        for _ in range(ROUNDS):
            for clients in CLIENTS:
                before = {name: cpu_seconds(pid) for name, pid in platform["pids"].items()}
                before[BENCH] = own_cpu()
                count = create_for(url, clients, SECONDS)
                wait_idle(platform["broker"])  # the dispatcher's share belongs to these tasks
                for name, pid in platform["pids"].items():
                    cpu[name] += cpu_seconds(pid) - before[name]
                    per_clients[clients] += cpu_seconds(pid) - before[name]
                cpu[BENCH] += own_cpu() - before[BENCH]
                per_clients[clients] += own_cpu() - before[BENCH]
                rates[clients].append(count / SECONDS)
                made[clients] += count
                created += count
    one, eight = statistics.median(rates[1]), statistics.median(rates[8])
    ratio = eight / one
    print(f"task creation (cron tasks, API path), {ROUNDS} alternating rounds of {SECONDS:g} s; median tasks/s")
    print(f"  1 client {one:6.1f}/s  8 clients {eight:6.1f}/s  ratio {ratio:4.2f}x  "
          f"{'OK' if ratio >= TARGET else 'MISSED'} (target ≥ {TARGET}x)")
    print("  CPU per created task: " + ", ".join(f"{name} {cpu[name] / created * 1000:.1f} ms" for name in cpu))
    print("  CPU per created task, all processes: " + ", ".join(
        f"{n} client{'s' if n > 1 else ''} {per_clients[n] / max(made[n], 1) * 1000:.1f} ms" for n in CLIENTS))
    return 0 if ratio >= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
