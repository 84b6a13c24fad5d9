"""List latency at 100 vs 100 000 tasks in one namespace: a page must cost O(page), not O(table).

Measures `GET /api/v1/tasks?limit=100` through the real tasks function (functions-framework app, in
process, so its store calls can be counted) against moto's server as `make run` serves it
(shared.local.serve.spawn_moto: partition-only queries, moto_fast, kept-alive connections), and the
items DynamoDB read for it. Target: items read per page at 100 000 / at 100 ≤ 1.2 (exits non-zero when
missed), the faithful figure: moto's work is not DynamoDB's (its first Query of a partition after a
write sorts that partition, shared.local.moto_queries). Also printed, not gated: the wall time and
moto's CPU (from /proc) per page at both sizes, what `make run` gives a user.
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

from tests.bench.mini_platform import served_store  # noqa: E402
from tests.bench.procstat import cpu_seconds  # noqa: E402

SIZES = [int(n) for n in os.environ.get("BENCH_SIZES", "100,100000").split(",")]
RUNS = int(os.environ.get("BENCH_RUNS", "15"))
TOKEN = "bench"
TARGET = 1.2


def fill(namespace: str, count: int) -> None:
    from shared.store.batch import put_items
    from shared.store.objects import ObjectStore
    from shared.tasks.validation import build_task

    store = ObjectStore("task")
    _, template = build_task({"name": "t", "type": "ai", "prompt": "benchmark prompt"})
    batch = []
    for i in range(count):
        doc = {**template, "metadata": {**template["metadata"], "name": f"task-{i:07d}"}}
        batch.append(("objects", store._item(namespace, f"task-{i:07d}", 1, doc, None)))
        if len(batch) == 1000:
            put_items(batch)  # BatchWriteItem per 25
            batch = []
    put_items(batch)


def main() -> int:
    os.environ.update({"AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x", "AWS_DEFAULT_REGION": "us-east-1",
                       "SHOAL_PLATFORM": "local", "SHOAL_DEV_TOKEN": TOKEN})
    from functions_framework import create_app

    from shared.store.clients import client
    from shared.store.objects import ObjectStore
    from shared.store.tables import table_name

    reads = {"queries": 0, "items": 0}

    def count(parsed, **_):
        reads["queries"] += 1
        reads["items"] += parsed.get("ScannedCount", parsed.get("Count", 0))

    results, cpu, work, after_write = {}, {}, {}, {}
    with served_store() as (moto, _):
        client("dynamodb").meta.events.register("after-call.dynamodb.Query", count)
        app = create_app(target="tasks", source=str(ROOT / "functions" / "tasks" / "main.py")).test_client()
        logging.getLogger("shoal").setLevel(logging.WARNING)  # one log line per request would dominate
        for size in SIZES:
            namespace = f"bench-{size}"
            started = time.perf_counter()
            fill(namespace, size)
            filled = time.perf_counter() - started
            url = f"/api/v1/tasks?limit=100&namespace={namespace}"
            headers = {"Authorization": f"Bearer {TOKEN}"}
            assert app.get(url, headers=headers).status_code == 200  # warm
            samples = []
            reads.update(queries=0, items=0)
            before = cpu_seconds(moto.pid)
            for _ in range(RUNS):
                t0 = time.perf_counter()
                body = app.get(url, headers=headers).get_json()
                samples.append(time.perf_counter() - t0)
            cpu[size] = (cpu_seconds(moto.pid) - before) / RUNS
            assert len(body["items"]) == min(100, size)
            results[size] = statistics.median(samples)
            work[size] = (reads["queries"] / RUNS, reads["items"] / RUNS)
            # as on a busy platform: a task of the namespace written before each page (status updates),
            # so moto's first Query of the partition after it sorts the partition again
            tasks = ObjectStore("task")
            item = tasks._item(namespace, "task-0000000", 1, tasks.get(namespace, "task-0000000").doc, None)
            written = []
            for _ in range(RUNS):
                client("dynamodb").put_item(TableName=table_name("objects"), Item=item)
                t0 = time.perf_counter()
                assert app.get(url, headers=headers).status_code == 200
                written.append(time.perf_counter() - t0)
            after_write[size] = statistics.median(written)
            print(f"{size:>7} tasks: median {results[size] * 1000:7.1f} ms per page of {len(body['items'])} "
                  f"(moto's CPU {cpu[size] * 1000:.1f} ms); {work[size][0]:.0f} Query calls reading "
                  f"{work[size][1]:.0f} items per page; {after_write[size] * 1000:.1f} ms after a write to the "
                  f"namespace (filled in {filled:.0f} s)")
    small, large = SIZES[0], SIZES[-1]
    ratio = work[large][1] / work[small][1]
    print(f"DynamoDB work per page, {large} / {small}: {ratio:.2f} {'OK' if ratio <= TARGET else 'MISSED'} "
          f"(target ≤ {TARGET})")
    print(f"not gated: wall per page {results[small] * 1000:.1f} / {results[large] * 1000:.1f} ms "
          f"({results[large] / results[small]:.2f}x; after a write {after_write[small] * 1000:.1f} / "
          f"{after_write[large] * 1000:.1f} ms), moto's CPU per page {cpu[small] * 1000:.1f} / "
          f"{cpu[large] * 1000:.1f} ms ({small} / {large} tasks)")
    return 0 if ratio <= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
