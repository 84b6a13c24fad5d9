"""Memory of `make run` idle: every process it started, and each function's share.

Starts the local platform as `make run` does (its own moto, a fresh state directory), lets it idle
for a few scheduler ticks, then reads every process below it from /proc (Linux):
- RSS: the pages a process has mapped, shared ones included: summed over processes it counts a page
  shared by twenty of them twenty times;
- PSS: each page divided among the processes that share it: the sum is the memory the platform holds,
  and the figure the target is checked on (≤ 600 MB idle);
- USS: the pages no other process has (what stopping that process alone would give back).
Exits non-zero when the total PSS misses the target.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from shared.worker.forkserver import COMM as WORKER_COMM  # noqa: E402

IDLE_SECONDS = float(os.environ.get("BENCH_IDLE_SECONDS", "10"))
TARGET_MB = 600.0


def memory(pid: int) -> dict[str, float]:
    """RSS, PSS and USS of a process in MB (smaps_rollup, Linux 4.14+)."""
    figures = {"Rss": 0, "Pss": 0, "Private_Clean": 0, "Private_Dirty": 0}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in figures:
            figures[name] = int(value.split()[0])
    return {"rss": figures["Rss"] / 1024, "pss": figures["Pss"] / 1024,
            "uss": (figures["Private_Clean"] + figures["Private_Dirty"]) / 1024}


def label(pid: int, functions: dict[int, str], platform_pid: int) -> str:
    if pid == platform_pid:
        return "platform (gateway, broker, pinger)"
    if pid in functions:
        return functions[pid]
    cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    if Path(f"/proc/{pid}/comm").read_text().strip() == WORKER_COMM:
        return "task worker"
    for marker, name in (("moto_server", "moto (state)"), ("shared.local.forkserver", "fork server"),
                         ("shared.worker.forkserver", "task workers' fork server")):
        if marker in cmdline:
            return name
    return cmdline[:60]


def main() -> int:
    from tests.support.local_platform import Platform, descendants, function_processes

    with tempfile.TemporaryDirectory(prefix="shoal-bench-state-") as state:
        platform = Platform(None, extra_env={"SHOAL_STATE_DIR": state})
        try:
            time.sleep(IDLE_SECONDS)
            functions = {pid: name for name, (pid, _) in function_processes(platform.proc.pid).items()}
            rows = []
            for pid in [platform.proc.pid, *descendants(platform.proc.pid)]:
                try:
                    rows.append((label(pid, functions, platform.proc.pid), memory(pid)))
                except OSError:
                    continue  # it ended meanwhile
        finally:
            platform.stop()
    total = {key: sum(row[key] for _, row in rows) for key in ("rss", "pss", "uss")}
    fn_rows = [row for name, row in rows if name in functions.values()]
    print(f"make run idle memory ({len(rows)} processes, {len(fn_rows)} functions, after {IDLE_SECONDS:.0f}s idle; MB)")
    print(f"  {'process':36s} {'RSS':>7s} {'PSS':>7s} {'USS':>7s}")
    for name, row in sorted(rows, key=lambda r: -r[1]["pss"]):
        print(f"  {name:36s} {row['rss']:7.1f} {row['pss']:7.1f} {row['uss']:7.1f}")
    if fn_rows:
        per = sum(row["pss"] for row in fn_rows) / len(fn_rows)
        print(f"  per function: PSS {per:.1f} MB on average, USS {sum(r['uss'] for r in fn_rows) / len(fn_rows):.1f} MB")
    ratio = total["pss"] / TARGET_MB
    print(f"  total: RSS {total['rss']:.0f} MB (shared pages counted once per process), PSS {total['pss']:.0f} MB, "
          f"USS {total['uss']:.0f} MB; PSS/target {ratio:.2f}x  {'OK' if ratio <= 1 else 'MISSED'} "
          f"(target ≤ {TARGET_MB:.0f} MB)")
    return 0 if ratio <= 1 else 1


if __name__ == "__main__":
    sys.exit(main())
