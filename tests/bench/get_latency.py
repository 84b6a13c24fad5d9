"""One store round trip per read: `GET /api/v1/tasks/<name>` at the tasks function's port against one
raw DynamoDB GetItem of the same task item, both from this process to the same moto server.

The tasks function runs as `make run` runs it (tests/bench/mini_platform.py); the raw read is boto3's
own client (the store's, shared.store.clients). Both sides speak HTTP through the same library:
urllib3, botocore's own transport, with one kept-alive connection each (not httpx, which costs
this client about twice urllib3's CPU per request: that was the bench's overhead, not the GET's). Requests alternate one by
one so the machine's other load hits both alike. The CPU per request is also given per process (this
client, the function, moto), which other load disturbs least. Also counted: the store calls the GET makes (moto's
request log is not needed: the function's answer carries no hint, so the raw side is one call and the
GET side must be one call too for the ratio to hold). Target: median GET ≤ 1.3× median raw read.
Exits non-zero when the target is missed.

The floor (printed, not gated): a bare functions-framework function served the same way
(tests/bench/one_read) that does one GetItem of the same item with the store's client and returns
it as JSON, asked with the same HTTP client, alternating with the other two. Its ratio to the raw read
is the cost of "a function hop and one read" with nothing of Shoal's; the GET's ratio above it is
Shoal's part.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.bench.mini_platform import TOKEN, mini_platform  # noqa: E402
from tests.bench.procstat import cpu_seconds  # noqa: E402

REQUESTS = int(os.environ.get("BENCH_REQUESTS", "400"))
TARGET = 1.3
FLOOR = ROOT / "tests" / "bench" / "one_read" / "main.py"


def main() -> int:
    import json

    import urllib3

    from shared.store.clients import client
    from shared.store.tables import table_name
    from shared.tasks.repository import plans, tasks

    with mini_platform(("tasks",), extra={"one_read": FLOOR}) as platform:
        urls = platform["urls"]
        headers = {"Authorization": f"Bearer {TOKEN}"}
        timeout = urllib3.Timeout(connect=5, read=30)
        with urllib3.connection_from_url(urls["tasks"], maxsize=1, headers=headers, timeout=timeout) as http, \
                urllib3.connection_from_url(urls["one_read"], maxsize=1, timeout=timeout) as bare:
            created = http.request("POST", "/api/v1/tasks", json={"name": "read-me", "type": "ai", "prompt": "hi",
                                                                  "schedule": "0 0 1 1 *"})
            assert created.status == 201, created.data
            plans.create("default", "read-me", {"steps": [{"title": "one", "status": "done"}]})
            ddb, key = client("dynamodb"), tasks._key("default", "read-me")
            floor_path = "/?" + urlencode({"pk": key["pk"]["S"], "sk": key["sk"]["S"]})

            def via_api() -> float:
                started = time.perf_counter()
                response = http.request("GET", "/api/v1/tasks/read-me")
                elapsed = time.perf_counter() - started
                assert response.status == 200 and json.loads(response.data)["metadata"]["name"] == "read-me"
                return elapsed

            def floor() -> float:
                started = time.perf_counter()
                response = bare.request("GET", floor_path)
                elapsed = time.perf_counter() - started
                assert response.status == 200 and json.loads(response.data)["sk"] == {"S": "read-me"}
                return elapsed

            def raw() -> float:
                started = time.perf_counter()
                item = ddb.get_item(TableName=table_name("objects"), Key=key, ConsistentRead=True)
                elapsed = time.perf_counter() - started
                assert "Item" in item
                return elapsed

            paths: dict[str, tuple[str, Callable[[], float]]] = {
                "GET": ("tasks", via_api), "floor": ("one_read", floor), "raw": ("", raw)}
            for _ in range(50):  # warm every path
                for _, call in paths.values():
                    call()
            walls: dict[str, list[float]] = {name: [] for name in paths}
            for _ in range(REQUESTS):
                for name, (_, call) in paths.items():
                    walls[name].append(call())
            # CPU per request of every process on each path (Linux): what other load disturbs least.
            # Split by process (this client, the function, moto), each path in a block of its own.
            pids = platform["pids"]
            split: dict[str, tuple[float, float, float]] = {}
            for name, (function, call) in paths.items():
                def sample() -> tuple[float, float, float]:
                    return (time.process_time(), cpu_seconds(pids[function]) if function else 0.0,  # noqa: B023
                            cpu_seconds(pids["moto"]))
                before = sample()
                for _ in range(REQUESTS):
                    call()
                after = sample()
                split[name] = tuple((b - a) / REQUESTS for a, b in zip(before, after, strict=True))
            cpu = {name: sum(parts) for name, parts in split.items()}
    median = {name: statistics.median(values) for name, values in walls.items()}
    ratio, floor_ratio = median["GET"] / median["raw"], median["floor"] / median["raw"]
    print(f"GET /api/v1/tasks/<name> vs one raw GetItem ({REQUESTS} each, alternating; medians)")
    print(f"  GET {median['GET'] * 1000:6.2f} ms  raw GetItem {median['raw'] * 1000:6.2f} ms  ratio {ratio:4.2f}x  "
          f"{'OK' if ratio <= TARGET else 'MISSED'} (target ≤ {TARGET}x)")
    print(f"  floor (bare function, one GetItem) {median['floor'] * 1000:6.2f} ms  ratio {floor_ratio:4.2f}x  "
          f"(GET/floor {median['GET'] / median['floor']:4.2f}x; not gated)")
    print(f"  CPU per request, all processes: GET {cpu['GET'] * 1000:5.2f} ms  floor {cpu['floor'] * 1000:5.2f} ms  "
          f"raw {cpu['raw'] * 1000:5.2f} ms  ratio {cpu['GET'] / cpu['raw']:4.2f}x (floor {cpu['floor'] / cpu['raw']:4.2f}x)")
    for name, (own, function, moto) in split.items():
        print(f"    {name:5s}: client {own * 1000:5.2f}  function {function * 1000:5.2f}  moto {moto * 1000:5.2f} ms")
    return 0 if ratio <= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
