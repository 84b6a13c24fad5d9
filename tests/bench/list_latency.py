"""List latency at 100 vs 100 000 tasks in one namespace: a page must cost O(page), not O(table).

Measures `GET /api/v1/tasks?limit=100` through the real tasks function (functions-framework app,
in process) against moto, and the items DynamoDB read for it. Reports the ratio of medians.
Target ≤ 1.2 (exits non-zero when missed). moto's Query walks the whole partition in memory, which real DynamoDB does not, so
the wall-time ratio under moto over-states the cost; the items-read ratio is the faithful figure.
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
SIZES = [int(n) for n in os.environ.get("BENCH_SIZES", "100,100000").split(",")]
RUNS = int(os.environ.get("BENCH_RUNS", "15"))
TOKEN = "bench"
TARGET = 1.2


def fill(namespace: str, count: int) -> None:
    from shared.store.clients import client
    from shared.store.objects import ObjectStore
    from shared.store.tables import table_name
    from shared.tasks.validation import build_task

    store, ddb = ObjectStore("task"), client("dynamodb")
    _, template = build_task({"name": "t", "type": "ai", "prompt": "benchmark prompt"})
    batch = []
    for i in range(count):
        doc = {**template, "metadata": {**template["metadata"], "name": f"task-{i:07d}"}}
        batch.append({"PutRequest": {"Item": store._item(namespace, f"task-{i:07d}", 1, doc, None)}})
        if len(batch) == 25:
            ddb.batch_write_item(RequestItems={table_name("objects"): batch})
            batch = []
    if batch:
        ddb.batch_write_item(RequestItems={table_name("objects"): batch})


def main() -> int:
    os.environ.update({"AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x", "AWS_DEFAULT_REGION": "us-east-1",
                       "SHOAL_PLATFORM": "local", "SHOAL_DEV_TOKEN": TOKEN})
    from functions_framework import create_app
    from moto import mock_aws

    from shared.store.bootstrap import ensure_state
    from shared.store.clients import client

    reads = {"queries": 0, "items": 0}

    def count(parsed, **_):
        reads["queries"] += 1
        reads["items"] += parsed.get("ScannedCount", parsed.get("Count", 0))

    results, work = {}, {}
    with mock_aws():
        ensure_state()
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
            for _ in range(RUNS):
                t0 = time.perf_counter()
                body = app.get(url, headers=headers).get_json()
                samples.append(time.perf_counter() - t0)
            assert len(body["items"]) == min(100, size)
            results[size] = statistics.median(samples)
            work[size] = (reads["queries"] / RUNS, reads["items"] / RUNS)
            print(f"{size:>7} tasks: median {results[size] * 1000:7.1f} ms per page of {len(body['items'])}; "
                  f"{work[size][0]:.0f} Query calls reading {work[size][1]:.0f} items per page "
                  f"(filled in {filled:.0f} s)")
    small, large = SIZES[0], SIZES[-1]
    ratio = work[large][1] / work[small][1]
    print(f"DynamoDB work per page, {large} / {small}: {ratio:.2f} {'OK' if ratio <= TARGET else 'MISSED'} "
          f"(target ≤ {TARGET})")
    print(f"wall time under moto, {large} / {small}: {results[large] / results[small]:.2f} "
          "(moto's Query is O(partition); DynamoDB's is O(page))")
    return 0 if ratio <= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
