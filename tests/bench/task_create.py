"""Task creation throughput with 1 and with 8 clients: POST /api/v1/tasks at the tasks function's port.

The tasks are cron-scheduled (`schedule` set), so no worker starts at once: the figure is the API
path's (validate, store, index, announce; the dispatcher registers the schedule from the event).
Runs on a trimmed `make run` (tests/bench/mini_platform.py: moto's server, the broker, tasks,
dispatcher, internal, each its own process as in `make run`). The clients run in a process of their
own, over urllib3 (tests/bench/create_clients.py says why), so the bench's process, which serves the
broker, is only the broker, as the supervisor's process is under `make run`. Rounds of 1 and 8 clients
alternate so the machine's other load hits both alike. Target: 8 clients ≥ 2× the tasks per second of 1.
Also printed: CPU per created task of each process (Linux), the figure other load disturbs least,
the clients' and the broker's included.

And the bounds the machine puts on the ratio, per round pair and as medians. One client's create is
nearly all CPU, passed along from process to process (client → tasks → moto → broker → answer), so 8
clients can at best keep both cores busy: rate₈ ≤ 2 / CPU₈ (CPU per task of all processes at 8
clients), hence ratio ≤ 2 × latency₁ / CPU₈ (latency₁ = 1 / rate₁, one client's time per task). Each
process also runs its Python on one core at a time (the GIL): rate₈ ≤ 1 / CPU₈ of the busiest process.
"cores used" is what the platform and its clients took at 8 clients (rate₈ × CPU₈), "others" the rest
of the machine's busy time meanwhile (/proc/stat), and "left" the bound on the cores others left,
(2 − others) × latency₁ / CPU₈: a ratio far under the 2-core bound but near this one was held back by
the machine, not the code.
Under load latency₁ grows with the waits for a core, and with it both bounds. The last line puts
CPU₁ (CPU per task of all processes at 1 client) in its place: min(2 × CPU₁ / CPU₈, CPU₁ / busiest₈),
the bounds a quiet machine would give if one client's create were nothing but CPU (on a quiet
machine latency₁ ≥ CPU₁, so this is the lower estimate), from CPU figures alone, which load disturbs least.
Exits non-zero when the target is missed.
"""

from __future__ import annotations

import contextlib
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.bench.create_clients import Clients  # noqa: E402
from tests.bench.mini_platform import TOKEN, mini_platform, wait_idle  # noqa: E402
from tests.bench.procstat import cpu_seconds  # noqa: E402

SECONDS = float(os.environ.get("BENCH_SECONDS", "6"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
CLIENTS = (1, 8)
TARGET = 2.0
BROKER, CLIENTS_PROCESS = "broker", "clients"


def own_cpu() -> float:
    """This process's CPU alone: the broker it serves (not the platform or the clients it started)."""
    times = os.times()
    return times.user + times.system


def machine_busy() -> float:
    """CPU seconds all cores of the machine have run work (user, nice, system, irq, softirq; not idle,
    I/O wait or a hypervisor's steal), from /proc/stat."""
    user, nice, system, _idle, _iowait, irq, softirq = (
        int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:8])
    return (user + nice + system + irq + softirq) / os.sysconf("SC_CLK_TCK")


def main() -> int:
    with contextlib.ExitStack() as stack:
        platform = stack.enter_context(mini_platform())
        clients_process = stack.enter_context(Clients(platform["urls"]["tasks"], TOKEN))
        pids = {**platform["pids"], CLIENTS_PROCESS: clients_process.pid}
        clients_process.round(8, 2.0)  # warm: imports, pooled connections, pydantic models
        wait_idle(platform["broker"])
        names = [*pids, BROKER]
        rates: dict[int, list[float]] = {n: [] for n in CLIENTS}
        # CPU seconds per process and number of clients, and tasks made, summed over the rounds
        cpu = {n: dict.fromkeys(names, 0.0) for n in CLIENTS}
        made = dict.fromkeys(CLIENTS, 0)
        per_round: list[dict[str, float]] = []  # per round pair: latency₁, CPU₈ (all, busiest), rate₈, others
        for _ in range(ROUNDS):
            figures: dict[str, float] = {}
            for clients in CLIENTS:
                def snapshot() -> dict[str, float]:
                    now = {name: cpu_seconds(pid) for name, pid in pids.items()}
                    return {**now, BROKER: own_cpu()}
                before, busy_before, wall = snapshot(), machine_busy(), time.perf_counter()
                count = clients_process.round(clients, SECONDS)
                wait_idle(platform["broker"])  # the dispatcher's share belongs to these tasks
                after, busy, wall = snapshot(), machine_busy() - busy_before, time.perf_counter() - wall
                used = {name: after[name] - before[name] for name in names}
                for name in names:
                    cpu[clients][name] += used[name]
                rates[clients].append(count / SECONDS)
                made[clients] += count
                if clients == 1:
                    figures["latency1"] = SECONDS / max(count, 1)
                    figures["cpu1"] = sum(used.values()) / max(count, 1)
                else:
                    figures["cpu8"] = sum(used.values()) / max(count, 1)
                    figures["busiest8"] = max(used.values()) / max(count, 1)
                    figures["rate8"] = count / SECONDS
                    figures["others"] = max(busy - sum(used.values()), 0.0) / wall
            per_round.append(figures)
    one, eight = statistics.median(rates[1]), statistics.median(rates[8])
    ratio = eight / one
    created = sum(made.values())
    print(f"task creation (cron tasks, API path), {ROUNDS} alternating rounds of {SECONDS:g} s; median tasks/s")
    print(f"  1 client {one:6.1f}/s  8 clients {eight:6.1f}/s  ratio {ratio:4.2f}x  "
          f"{'OK' if ratio >= TARGET else 'MISSED'} (target ≥ {TARGET}x)")
    print("  CPU per created task: " + ", ".join(
        f"{name} {(cpu[1][name] + cpu[8][name]) / created * 1000:.1f} ms" for name in names))
    print("  the same at 1 / 8 clients: " + ", ".join(
        f"{name} {cpu[1][name] / max(made[1], 1) * 1000:.1f} / {cpu[8][name] / max(made[8], 1) * 1000:.1f} ms"
        for name in names if cpu[1][name] + cpu[8][name] > 0))
    print("  CPU per created task, all processes: " + ", ".join(
        f"{n} client{'s' if n > 1 else ''} {sum(cpu[n].values()) / max(made[n], 1) * 1000:.1f} ms" for n in CLIENTS))
    print("  per round pair: latency₁, CPU₈ all / busiest process, bound 2 × latency₁ / CPU₈, "
          "GIL bound latency₁ / busiest, cores used at 8 clients, others' cores, bound on the cores left")
    for f in per_round:
        print(f"    {f['latency1'] * 1000:5.1f} ms, {f['cpu8'] * 1000:5.1f} / {f['busiest8'] * 1000:4.1f} ms, "
              f"bound {2 * f['latency1'] / f['cpu8']:4.2f}x, GIL bound {f['latency1'] / f['busiest8']:4.2f}x, "
              f"{f['rate8'] * f['cpu8']:4.2f} cores used, others {f['others']:4.2f}, "
              f"left {(2 - f['others']) * f['latency1'] / f['cpu8']:4.2f}x")
    bound = statistics.median(2 * f["latency1"] / f["cpu8"] for f in per_round)
    gil = statistics.median(f["latency1"] / f["busiest8"] for f in per_round)
    print(f"  median bound {bound:4.2f}x (2 cores), {gil:4.2f}x (busiest process's GIL); "
          f"the ratio reached {ratio / min(bound, gil):4.0%} of the lower")
    cores = statistics.median(2 * f["cpu1"] / f["cpu8"] for f in per_round)
    gil_cpu = statistics.median(f["cpu1"] / f["busiest8"] for f in per_round)
    print(f"  from CPU alone (latency₁ = CPU₁ {statistics.median(f['cpu1'] for f in per_round) * 1000:.1f} ms): "
          f"median bound {cores:4.2f}x (2 cores), {gil_cpu:4.2f}x (busiest process's GIL)")
    return 0 if ratio >= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
