"""The least-privilege IAM policy of the functions on AWS, generated from `shared.store.tables`.

`python -m shared.deploy.iam` writes `deploy/overlays/aws/iam-policy.json`; a test keeps the file in
step, and another checks that OPERATIONS names exactly the boto3 operations the code calls.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from shared.store.manifests import BUCKET, PREFIX
from shared.store.tables import TABLES

POLICY_FILE = Path(__file__).resolve().parents[2] / "deploy" / "overlays" / "aws" / "iam-policy.json"

# Every boto3 operation the functions call on AWS, and the IAM actions it needs. TransactWriteItems has
# no action of its own: IAM checks each item's Put/Update/Delete/ConditionCheck.
OPERATIONS: dict[str, tuple[str, ...]] = {
    "get_item": ("dynamodb:GetItem",),
    "put_item": ("dynamodb:PutItem",),
    "update_item": ("dynamodb:UpdateItem",),
    "delete_item": ("dynamodb:DeleteItem",),
    "query": ("dynamodb:Query",),
    "batch_get_item": ("dynamodb:BatchGetItem",),
    "batch_write_item": ("dynamodb:BatchWriteItem",),
    "transact_write_items": ("dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem",
                             "dynamodb:ConditionCheckItem"),
    "describe_table": ("dynamodb:DescribeTable",),  # /readyz
    "get_object": ("s3:GetObject",),
    "put_object": ("s3:PutObject",),
    "delete_object": ("s3:DeleteObject",),
}
# Only shared/store/bootstrap.py (the local platform, tests, the self-hosted state-init Job) calls these;
# on AWS the ACK controller creates the tables and bucket, so the functions get none of them.
BOOTSTRAP_ONLY = frozenset({"list_tables", "create_table", "update_table", "update_time_to_live",
                            "create_bucket", "head_bucket"})


def _actions(prefix: str) -> list[str]:
    return sorted({a for actions in OPERATIONS.values() for a in actions if a.startswith(prefix)})


def policy() -> dict[str, Any]:
    """The policy document: table actions on Shoal's tables and their indexes, object actions on its bucket."""
    tables = []
    for table in TABLES:
        arn = f"arn:aws:dynamodb:*:*:table/{PREFIX}{table.key}"
        tables.append(arn)
        if table.indexes:
            tables.append(f"{arn}/index/*")
    return {"Version": "2012-10-17", "Statement": [
        {"Sid": "ShoalTables", "Effect": "Allow", "Action": _actions("dynamodb:"), "Resource": tables},
        {"Sid": "ShoalObjects", "Effect": "Allow", "Action": _actions("s3:"),
         "Resource": [f"arn:aws:s3:::{BUCKET}/*"]},
        # Without ListBucket, S3 answers a missing key with 403 instead of NoSuchKey (a 404 to clients).
        {"Sid": "ShoalBucket", "Effect": "Allow", "Action": ["s3:ListBucket"],
         "Resource": [f"arn:aws:s3:::{BUCKET}"]},
    ]}


def render() -> str:
    return json.dumps(policy(), indent=2) + "\n"


if __name__ == "__main__":
    POLICY_FILE.write_text(render())
    sys.stdout.write(f"wrote {POLICY_FILE.relative_to(POLICY_FILE.parents[3])}\n")
