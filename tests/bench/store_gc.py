"""moto's full garbage collections after a restart's replay, at ~20 000 items in `objects`.

moto's server as `make run` runs it (recording on): a store of BENCH_ITEMS items is recorded, a fresh
moto replays the recording as a restart does (shared.local.state.StateDir.replay), then BENCH_WRITES
more conditional PutItems come in one by one, as the platform's own writes would. Every full
(generation 2) collection in the moto process is timed from inside it (tests/bench/gc_probe: the CPU
of the thread that ran it, robust under load): how many after the replay, the longest, their sum.
Every store call waits while one runs (moto serves them from one process), so the longest is what a
request can feel. No target: run it beside main's tree (docs/performance.md) to compare.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.bench.procstat import cpu_seconds  # noqa: E402
from tests.bench.store_scale import DOC, TABLE, create, dynamodb, key, moto_server  # noqa: E402

BIG = int(os.environ.get("BENCH_ITEMS", "20000"))
WRITES = int(os.environ.get("BENCH_WRITES", "12000"))


def main() -> int:
    from shared.local.state import StateDir

    with tempfile.TemporaryDirectory(prefix="bench-store-gc-") as tmp:
        state, log = StateDir(Path(tmp)), Path(tmp) / "gc.log"
        with moto_server(state.recording) as (_, url):
            create(dynamodb(url, "us-east-1"), BIG - 200)
        probe = {"PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT / "tests" / "bench" / "gc_probe"),
                                                             os.environ.get("PYTHONPATH")])),
                 "SHOAL_BENCH_GC_LOG": str(log)}
        with moto_server(state.recording, probe) as (proc, url):
            replay_cpu = cpu_seconds(proc.pid)
            count, seconds = state.replay(url)
            replay_cpu = cpu_seconds(proc.pid) - replay_cpu
            during = len(log.read_text().splitlines()) if log.exists() else 0
            ddb = dynamodb(url, "us-east-1")
            before = cpu_seconds(proc.pid)
            for n in range(WRITES):
                ddb.put_item(TableName=TABLE, Item={**key("run#default", f"r{n}"), "doc": {"S": DOC}},
                             ConditionExpression="attribute_not_exists(pk)")
            cpu = cpu_seconds(proc.pid) - before
        lines = [line.split() for line in log.read_text().splitlines()[during:]] if log.exists() else []
    pauses = [float(ms) for ms, _, _ in lines]
    frozen = int(lines[0][1]) if lines else 0
    print(f"store gc: {count} requests replayed in {seconds:.1f} s (moto's CPU {replay_cpu:.1f} s; {BIG} items), "
          f"then {WRITES} PutItems: "
          f"moto's CPU {cpu / WRITES * 1000:.2f} ms per PutItem; {frozen} objects frozen")
    if pauses:
        print(f"  full collections after the replay: {len(pauses)}, longest {max(pauses):.0f} ms, "
              f"median {statistics.median(pauses):.0f} ms, sum {sum(pauses):.0f} ms "
              f"({sum(pauses) / WRITES:.3f} ms per PutItem); each: {' '.join(f'{p:.0f}' for p in pauses)}")
    else:
        print("  no full collection after the replay (BENCH_WRITES more writes would bring one)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
