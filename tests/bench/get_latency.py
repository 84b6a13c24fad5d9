"""One store round trip per read: `GET /api/v1/tasks/<name>` at the tasks function's port against one
raw DynamoDB GetItem of the same task item, both from this process to the same moto server.

The tasks function runs as `make run` runs it (tests/bench/mini_platform.py); the raw read is boto3's
own client (kept-alive connections on both sides where the server allows). Requests alternate one by
one so the machine's other load hits both alike. The CPU per request is also given per process (this
client, the function, moto), which other load disturbs least. Also counted: the store calls the GET makes (moto's
request log is not needed: the function's answer carries no hint, so the raw side is one call and the
GET side must be one call too for the ratio to hold). Target: median GET ≤ 1.3× median raw read.
Exits non-zero when the target is missed.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.bench.mini_platform import TOKEN, cpu_seconds, mini_platform  # noqa: E402

REQUESTS = int(os.environ.get("BENCH_REQUESTS", "400"))
TARGET = 1.3


def main() -> int:
    import httpx

    from shared.store.clients import client
    from shared.store.tables import table_name
    from shared.tasks.repository import plans, tasks

    with mini_platform(("tasks",)) as platform:
        url = platform["urls"]["tasks"]
        headers = {"Authorization": f"Bearer {TOKEN}"}
        with httpx.Client(base_url=url, headers=headers, timeout=30) as http:
            assert http.post("/api/v1/tasks", json={"name": "read-me", "type": "ai", "prompt": "hi",
                                                     "schedule": "0 0 1 1 *"}).status_code == 201
            plans.create("default", "read-me", {"steps": [{"title": "one", "status": "done"}]})
            ddb, key = client("dynamodb"), tasks._key("default", "read-me")

            def via_api() -> float:
                started = time.perf_counter()
                response = http.get("/api/v1/tasks/read-me")
                elapsed = time.perf_counter() - started
                assert response.status_code == 200 and response.json()["metadata"]["name"] == "read-me"
                return elapsed

            def raw() -> float:
                started = time.perf_counter()
                item = ddb.get_item(TableName=table_name("objects"), Key=key, ConsistentRead=True)
                elapsed = time.perf_counter() - started
                assert "Item" in item
                return elapsed

            for _ in range(50):  # warm both paths
                via_api(), raw()
            apis, raws = [], []
            for _ in range(REQUESTS):
                apis.append(via_api())
                raws.append(raw())
            # CPU per request of every process on each path (Linux): what other load disturbs least.
            # Split by process (this client, the function, moto), each path in a block of its own.
            pids = platform["pids"]
            split: dict[str, tuple[float, float, float]] = {}
            for name, call in (("GET", via_api), ("raw", raw)):
                before = time.process_time(), cpu_seconds(pids["tasks"]), cpu_seconds(pids["moto"])
                for _ in range(REQUESTS):
                    call()
                after = time.process_time(), cpu_seconds(pids["tasks"]), cpu_seconds(pids["moto"])
                split[name] = tuple((b - a) / REQUESTS for a, b in zip(before, after, strict=True))
            cpu = {name: sum(parts) for name, parts in split.items()}
    a, r = statistics.median(apis), statistics.median(raws)
    ratio = a / r
    print(f"GET /api/v1/tasks/<name> vs one raw GetItem ({REQUESTS} each, alternating; medians)")
    print(f"  GET {a * 1000:6.2f} ms  raw GetItem {r * 1000:6.2f} ms  ratio {ratio:4.2f}x  "
          f"{'OK' if ratio <= TARGET else 'MISSED'} (target ≤ {TARGET}x)")
    print(f"  CPU per request, all processes: GET {cpu['GET'] * 1000:5.2f} ms  raw {cpu['raw'] * 1000:5.2f} ms  "
          f"ratio {cpu['GET'] / cpu['raw']:4.2f}x")
    for name, (own, function, moto) in split.items():
        print(f"    {name:3s}: client {own * 1000:5.2f}  function {function * 1000:5.2f}  moto {moto * 1000:5.2f} ms")
    return 0 if ratio <= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
