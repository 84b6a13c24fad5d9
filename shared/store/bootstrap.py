"""Create the tables and bucket if they are missing (local platform, tests, DynamoDB Local)."""

from __future__ import annotations

from shared.store.clients import client, error_code
from shared.store.tables import TABLES, bucket_name, create_table_request, table_name


def ensure_state() -> None:
    """Create every table of `TABLES` and the bucket unless they exist. Idempotent."""
    ddb = client("dynamodb")
    existing = set(ddb.list_tables().get("TableNames", []))
    for table in TABLES:
        name = table_name(table.key)
        if name in existing:
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


def check_state() -> None:
    """Raise unless the objects table answers (readiness)."""
    client("dynamodb").describe_table(TableName=table_name("objects"))
