"""Console pages with 10 000 tasks in the store: O(page) reads, no Scan, little time of the console's own.

The console function (functions-framework app, in process) renders each page by calling the public
API, served here by every other function behind the route table on a real port, against moto.
Reports per page the median time, split into the API request it makes and the console's own share
(target ≤ 50 ms), the DynamoDB items read (target ≤ 200: a page, not the table) and Scan calls (none).
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
TASKS = int(os.environ.get("BENCH_TASKS", "10000"))
RUNS = int(os.environ.get("BENCH_RUNS", "15"))
# Under moto a Query walks the whole partition in memory (real DynamoDB reads only the page), so the
# wall time of the API part says little about DynamoDB; the faithful figures are the items read per
# page (O(page), not O(tasks)) and the console's own share of the time.
CONSOLE_TARGET_MS = 50.0
ITEMS_TARGET = 200
TOKEN = "bench"
MIDDLE = f"task-{TASKS // 2:07d}"
PAGES = ["/console/tasks", "/console/tasks?phase=Pending", f"/console/tasks/{MIDDLE}",
         f"/console/tasks/{MIDDLE}/part/children", "/console/chat", "/console/reviews",
         "/console/catalog/agents", "/console/memories"]


def main() -> int:
    os.environ.update({"AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x", "AWS_DEFAULT_REGION": "us-east-1",
                       "SHOAL_PLATFORM": "local", "SHOAL_DEV_TOKEN": TOKEN})
    from functions_framework import create_app
    from moto import mock_aws

    from shared.config import reset_settings
    from shared.local.moto_atomic import make_writes_atomic
    from shared.store.bootstrap import ensure_state
    from shared.store.clients import client
    from tests.bench.list_latency import fill
    from tests.support.gateway import gateway_app
    from tests.support.servers import BackgroundServer

    scans = {"calls": 0}
    reads = {"items": 0}
    failed = False
    with mock_aws():
        make_writes_atomic()  # as make run and the tests have it (moto_queries: Query reads one partition)
        ensure_state()
        client("dynamodb").meta.events.register("after-call.dynamodb.Scan",
                                                lambda **_: scans.__setitem__("calls", scans["calls"] + 1))
        client("dynamodb").meta.events.register(
            "after-call.dynamodb.Query",
            lambda parsed, **_: reads.__setitem__("items", reads["items"] + parsed.get("ScannedCount", 0)))
        started = time.perf_counter()
        fill("default", TASKS)
        print(f"{TASKS} tasks filled in {time.perf_counter() - started:.0f} s")
        logging.getLogger("shoal").setLevel(logging.WARNING)
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        with BackgroundServer(gateway_app(exclude=("console",))) as api:
            os.environ["SHOAL_API_URL"] = api.url
            reset_settings()
            console = create_app(target="console", source=str(ROOT / "functions" / "console" / "main.py")).test_client()
            console.set_cookie("shoal_console_token", TOKEN)
            from shared.console import api_client

            api_ms = {"total": 0.0}
            real_call = api_client.call

            def timed_call(*args, **kwargs):  # the API's share of a page, measured inside the page
                t0 = time.perf_counter()
                try:
                    return real_call(*args, **kwargs)
                finally:
                    api_ms["total"] += (time.perf_counter() - t0) * 1000

            api_client.call = timed_call
            for page in PAGES:
                assert console.get(page).status_code == 200, page  # warm
                reads["items"] = 0
                totals, owns = [], []
                for _ in range(RUNS):
                    api_ms["total"] = 0.0
                    t0 = time.perf_counter()
                    console.get(page)
                    totals.append((time.perf_counter() - t0) * 1000)
                    owns.append(totals[-1] - api_ms["total"])
                total, own = statistics.median(totals), statistics.median(owns)
                items, api_share = reads["items"] / RUNS, total - own
                ok = own <= CONSOLE_TARGET_MS and items <= ITEMS_TARGET
                failed = failed or not ok
                print(f"{page:<44} median {total:6.1f} ms (API ≈ {api_share:6.1f} ms, console ≈ {own:5.1f} ms); "
                      f"{items:4.0f} items read  {'ok' if ok else 'MISSED'}")
    print(f"DynamoDB Scan calls: {scans['calls']} (target 0)")
    return 1 if failed or scans["calls"] else 0


if __name__ == "__main__":
    sys.exit(main())
