"""The embedded store must not slow down as it fills: moto's CPU per store call with ~200 against
~20 000 items in `objects`, through moto's server as `make run` runs it (shared.local.serve.spawn_moto,
recording its writes as `make run` does).

Both stores live in the one moto process, in two regions (moto keeps a backend per region), so the
same process, heap and load serve both; the calls alternate between them in blocks (small, big,
big, small…, so a drift of the machine's speed cancels) and the CPU per call is the moto process's own
(from /proc: what the machine's other load disturbs least), the median of its blocks: a full garbage
collection (~250 ms with 20 000 items, once the heap grew by a quarter: O(1) per write, amortized)
lands in one block of either store, and would otherwise be charged to whichever it hit. Each store
holds the same working set (the items the calls read and the partitions they query, 50 each); the big
one adds 19 800 items: a 10 000-item task partition, a 5 000-item memory partition on the `by-order`
index and 4 900 items in 200 other partitions.

Target: a transactional write (two conditional Puts, as a chat turn writes) and a GetItem cost at
most 1.2× as much CPU in the big store as in the small one. Exits non-zero when missed.
`--all`: also every other operation the store uses (conditional Put/Update/Delete, BatchGetItem,
BatchWriteItem, Query pages on the main table and the GSI, each right after a write as on a busy
platform), reported without a target. `--replay N`: the seconds a restart takes to replay a
recording of N writes (docs/local-platform.md), also without a target.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.bench.procstat import cpu_seconds  # noqa: E402

TARGET = 1.2
BIG = int(os.environ.get("BENCH_ITEMS", "20000"))
CALLS = int(os.environ.get("BENCH_CALLS", "120"))  # per block; /proc counts CPU in 10 ms ticks
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "6"))
WARM = int(os.environ.get("BENCH_WARM", "40"))
REGIONS = {"small": "us-east-1", "big": "eu-west-1"}
DOC = "x" * 800  # about a task's document
TABLE = "objects"


@contextlib.contextmanager
def moto_server(recording: Path, more_env: dict[str, str] | None = None) -> Iterator[tuple[subprocess.Popen, str]]:
    """moto's server as `make run` starts it, recording into `recording` (`more_env`: added to its environment)."""
    from shared.local.serve import spawn_moto, wait_http

    env = {**os.environ, "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench",
           "MOTO_ENABLE_RECORDING": "true", "MOTO_RECORDER_FILEPATH": str(recording), **(more_env or {})}
    proc, url = spawn_moto(env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        wait_http(url + "/moto-api/", process=proc)
        yield proc, url
    finally:
        proc.kill()
        proc.wait()


def dynamodb(url: str, region: str):
    import boto3

    return boto3.client("dynamodb", endpoint_url=url, region_name=region,
                        aws_access_key_id="bench", aws_secret_access_key="bench")


def key(pk: str, sk: str) -> dict:
    return {"pk": {"S": pk}, "sk": {"S": sk}}


def create(ddb, filler: int) -> None:
    """The store's `objects` table (its GSI as shared/store/tables.py defines it), with the working set
    and `filler` more items: 10 000 tasks in one partition, 5 000 memories on by-order, the rest spread."""
    from shared.store.tables import TABLES, create_table_request

    objects = next(t for t in TABLES if t.key == "objects")
    ddb.create_table(**{**create_table_request(objects), "TableName": TABLE})
    items = [{**key(pk, f"{n:05d}"), "doc": {"S": DOC}, "version": {"N": "1"},
              **({"order": {"S": f"2026-12-07T{n:05d}"}} if pk.startswith("memory") else {})}
             for pk in ("task#default", "memory#default", "task#big", "memory#big") for n in range(50)]
    for n in range(filler):
        pk = "task#big" if n < 9_950 else "memory#big" if n < 14_900 else f"log#ns{n % 200}"
        items.append({**key(pk, f"f{n:05d}"), "doc": {"S": DOC},
                      **({"order": {"S": f"2026-12-06T{n:05d}"}} if pk == "memory#big" else {})})
    for start in range(0, len(items), 25):
        ddb.batch_write_item(RequestItems={TABLE: [{"PutRequest": {"Item": item}} for item in items[start:start + 25]]})


def operations(ddb, every: bool) -> dict[str, Callable[[], object]]:
    """The calls measured, each a closure over one store's client (new keys from a shared counter)."""
    counter = itertools.count()
    created: list[str] = []

    def get() -> object:
        return ddb.get_item(TableName=TABLE, Key=key("task#default", "00010"), ConsistentRead=True)["Item"]

    def transaction() -> object:  # a chat turn: the message and its companion, both new
        n = next(counter)
        return ddb.transact_write_items(TransactItems=[
            {"Put": {"TableName": TABLE, "Item": {**key(f"chat#{n % 7}", f"m{n}"), "doc": {"S": DOC}},
                     "ConditionExpression": "attribute_not_exists(pk)"}},
            {"Put": {"TableName": TABLE, "Item": {**key("turn#default", f"t{n}"), "doc": {"S": DOC}},
                     "ConditionExpression": "attribute_not_exists(pk)"}}])

    ops: dict[str, Callable[[], object]] = {"TransactWriteItems (2 Puts)": transaction, "GetItem": get}
    if not every:
        return ops

    def put() -> object:
        name = f"p{next(counter)}"
        created.append(name)
        return ddb.put_item(TableName=TABLE, Item={**key("run#default", name), "doc": {"S": DOC}},
                            ConditionExpression="attribute_not_exists(pk)")

    def update() -> object:
        return ddb.update_item(TableName=TABLE, Key=key("lease#default", "one"),
                               UpdateExpression="SET version = if_not_exists(version, :z) + :one",
                               ConditionExpression="attribute_not_exists(version) OR version >= :z",
                               ExpressionAttributeValues={":z": {"N": "0"}, ":one": {"N": "1"}})

    def delete() -> object:  # the items put() made, oldest first
        return ddb.delete_item(TableName=TABLE, Key=key("run#default", created.pop(0)),
                               ConditionExpression="attribute_exists(pk)")

    def batch_get() -> object:
        return ddb.batch_get_item(RequestItems={TABLE: {
            "Keys": [key("task#default", f"{n:05d}") for n in range(0, 50, 2)], "ConsistentRead": True}})

    def batch_write() -> object:
        n = next(counter)
        return ddb.batch_write_item(RequestItems={TABLE: [
            {"PutRequest": {"Item": {**key("event#default", f"{n:07d}-{i:02d}"), "doc": {"S": "e"}}}}
            for i in range(25)]})

    def after_a_write(query: dict) -> Callable[[], object]:
        def call() -> object:  # every write makes moto_queries' partition cache stale, as on a busy platform
            ddb.update_item(TableName=TABLE, Key=key("lease#default", "tick"), UpdateExpression="SET n = :n",
                            ExpressionAttributeValues={":n": {"N": "1"}})
            return ddb.query(TableName=TABLE, **query)["Items"]
        return call

    def page(pk: str, **more: object) -> dict:
        return {"KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": {"S": pk}}, **more}

    return {**ops, "PutItem (conditional)": put, "UpdateItem (conditional)": update,
            "DeleteItem (conditional)": delete, "BatchGetItem (25 keys)": batch_get,
            "BatchWriteItem (25 Puts)": batch_write,
            "UpdateItem + Query of an empty partition (base)": after_a_write(page("none", Limit=1)),
            "+ Query, page of 50 (50-item partition)": after_a_write(page("task#default", Limit=50)),
            "+ Query, page of 50 (task#big partition)": after_a_write(page("task#big", Limit=50)),
            "+ by-order page of 21 (50-item partition)": after_a_write(
                page("memory#default", IndexName="by-order", ScanIndexForward=False, Limit=21)),
            "+ by-order page of 21 (memory#big partition)": after_a_write(
                page("memory#big", IndexName="by-order", ScanIndexForward=False, Limit=21))}


def measure(every: bool) -> int:
    with tempfile.TemporaryDirectory(prefix="bench-store-scale-") as tmp, \
            moto_server(Path(tmp) / "recording.jsonl") as (proc, url):
        stores = {name: dynamodb(url, region) for name, region in REGIONS.items()}
        started = time.monotonic()
        create(stores["small"], 0)
        create(stores["big"], BIG - 200)
        print(f"store scale: moto's CPU per call, ~200 vs ~{BIG} items in `objects` "
              f"({CALLS} calls per block, {ROUNDS} rounds A B B A; filled in {time.monotonic() - started:.0f} s)")
        ops = {name: operations(ddb, every) for name, ddb in stores.items()}
        blocks: dict[tuple[str, str], list[float]] = {}
        for op in ops["small"]:
            for name in stores:  # warm: connections, caches, code paths
                for _ in range(WARM):
                    ops[name][op]()
            for round_ in range(ROUNDS):
                for name in (stores if round_ % 2 == 0 else reversed(stores)):  # A B B A: drift cancels
                    call = ops[name][op]
                    before = cpu_seconds(proc.pid)
                    for _ in range(CALLS):
                        call()
                    blocks.setdefault((op, name), []).append((cpu_seconds(proc.pid) - before) / CALLS * 1000)
    missed = False
    print(f"  {'operation':50s} {'~200 items':>11s} {f'~{BIG}':>11s}  ratio  (all blocks: ratio of the sums)")
    for op in ops["small"]:
        small, big = (statistics.median(blocks[op, name]) for name in stores)
        ratio, of_sums = big / small, sum(blocks[op, "big"]) / sum(blocks[op, "small"])
        verdict = ""
        if op in ("TransactWriteItems (2 Puts)", "GetItem"):
            missed |= ratio > TARGET
            verdict = f"{'OK' if ratio <= TARGET else 'MISSED'} (target ≤ {TARGET}x)"
        print(f"  {op:50s} {small:8.2f} ms {big:8.2f} ms  {ratio:5.2f}x ({of_sums:4.2f}x) {verdict}")
        if os.environ.get("BENCH_VERBOSE"):
            print("    blocks, ms per call: " + "  ".join(
                f"{name} " + " ".join(f"{b:.2f}" for b in blocks[op, name]) for name in stores))
    return 1 if missed else 0


def replay(writes: int) -> int:
    """Record `writes` writes (a mix like the platform's: conditional Puts, Updates, two-item
    transactions), then time a fresh moto's replay of the recording, as a restart of `make run` does."""
    from shared.local.state import StateDir

    with tempfile.TemporaryDirectory(prefix="bench-replay-") as tmp:
        state = StateDir(Path(tmp))
        with moto_server(state.recording) as (_, url):
            ddb = dynamodb(url, "us-east-1")
            create(ddb, 0)
            for n in range(writes):
                if n % 4 == 3:
                    ddb.transact_write_items(TransactItems=[
                        {"Put": {"TableName": TABLE, "Item": {**key("chat#x", f"m{n}"), "doc": {"S": DOC}},
                                 "ConditionExpression": "attribute_not_exists(pk)"}},
                        {"Update": {"TableName": TABLE, "Key": key("chat#x", "session"), "UpdateExpression": "SET n = :n",
                                    "ExpressionAttributeValues": {":n": {"N": str(n)}}}}])
                elif n % 4 == 2:
                    ddb.update_item(TableName=TABLE, Key=key("lease#x", f"l{n % 50}"), UpdateExpression="SET n = :n",
                                    ExpressionAttributeValues={":n": {"N": str(n)}})
                else:
                    ddb.put_item(TableName=TABLE, Item={**key(f"task#ns{n % 20}", f"t{n}"), "doc": {"S": DOC}},
                                 ConditionExpression="attribute_not_exists(pk)")
            expected = ddb.describe_table(TableName=TABLE)["Table"]["ItemCount"]
        with moto_server(state.recording) as (proc, url):
            before = cpu_seconds(proc.pid)
            count, seconds = state.replay(url)
            cpu = cpu_seconds(proc.pid) - before
            replayed = dynamodb(url, "us-east-1").describe_table(TableName=TABLE)["Table"]["ItemCount"]
    print(f"replay: {count} recorded requests ({writes} writes) in {seconds:.1f} s "
          f"({seconds / count * 1000:.2f} ms each; moto's CPU {cpu / count * 1000:.2f} ms each); "
          f"{replayed} items, {expected} before the restart")
    return 0 if replayed == expected else 1


if __name__ == "__main__":
    if "--replay" in sys.argv:
        sys.exit(replay(int(sys.argv[sys.argv.index("--replay") + 1])))
    sys.exit(measure(every="--all" in sys.argv))
