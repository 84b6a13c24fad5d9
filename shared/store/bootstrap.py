"""Create the tables and bucket if they are missing (local platform, tests, DynamoDB Local)."""

from __future__ import annotations

from shared.store.clients import client, error_code
from shared.store.tables import TABLES, TableDef, bucket_name, create_table_request, table_name


def ensure_state() -> None:
    """Create every table of `TABLES` and the bucket unless they exist, and add the secondary indexes
    a table made by an older release lacks. Idempotent."""
    ddb = client("dynamodb")
    existing = set(ddb.list_tables().get("TableNames", []))
    for table in TABLES:
        name = table_name(table.key)
        if name in existing:
            add_missing_indexes(ddb, table)
            continue
        try:
            ddb.create_table(**create_table_request(table))
        except Exception as exc:  # another process may have created it first
            if error_code(exc) != "ResourceInUseException":
                raise
        ddb.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 0.2, "MaxAttempts": 100})
        if table.ttl_attribute:
            ddb.update_time_to_live(TableName=name, TimeToLiveSpecification={
                "Enabled": True, "AttributeName": table.ttl_attribute})
    s3 = client("s3")
    try:
        s3.head_bucket(Bucket=bucket_name())
    except Exception:
        try:
            s3.create_bucket(Bucket=bucket_name())
        except Exception as exc:
            if error_code(exc) not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                raise


def add_missing_indexes(ddb, table: TableDef) -> list[str]:
    """Create the GSIs of `table` that its live table lacks (an upgrade over existing state), one at a
    time as DynamoDB requires, each waited for until ACTIVE. Returns the names created."""
    request = create_table_request(table)
    wanted = {index["IndexName"]: index for index in request.get("GlobalSecondaryIndexes", [])}
    name = request["TableName"]
    live = ddb.describe_table(TableName=name)["Table"]
    missing = [n for n in wanted if n not in {i["IndexName"] for i in live.get("GlobalSecondaryIndexes", [])}]
    for index_name in missing:
        try:
            ddb.update_table(TableName=name, AttributeDefinitions=request["AttributeDefinitions"],
                             GlobalSecondaryIndexUpdates=[{"Create": wanted[index_name]}])
        except Exception as exc:  # another process is adding it: wait for theirs
            if error_code(exc) not in ("ResourceInUseException", "ValidationException", "LimitExceededException"):
                raise
        _wait_index_active(ddb, name, index_name)
    return missing


def _wait_index_active(ddb, table: str, index: str, timeout: float = 600.0) -> None:
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        indexes = ddb.describe_table(TableName=table)["Table"].get("GlobalSecondaryIndexes", [])
        if any(i["IndexName"] == index and i.get("IndexStatus", "ACTIVE") == "ACTIVE" for i in indexes):
            return
        time.sleep(0.5)
    raise TimeoutError(f"index {index} of {table} is not ACTIVE after {timeout:.0f}s")


def check_state() -> None:
    """Raise unless the objects table answers (readiness)."""
    client("dynamodb").describe_table(TableName=table_name("objects"))


if __name__ == "__main__":  # the self-hosted install's Job shoal-state-init (deploy/overlays/self-hosted)
    ensure_state()
