"""The AWS overlay's IAM policy: generated from the table definitions, and naming exactly the operations
the code calls (least privilege both ways: nothing missing, nothing extra)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import boto3

from shared.deploy import iam
from shared.store.tables import TABLES

ROOT = Path(__file__).resolve().parents[3]
CALL = re.compile(r"\.([a-z_]+)\(")


def api_operations() -> set[str]:
    """Every DynamoDB and S3 operation name (snake case), from botocore's own service models."""
    names = set()
    for service in ("dynamodb", "s3"):
        names |= set(boto3.session.Session().client(service, region_name="us-east-1").meta.method_to_api_mapping)
    return names


def called(paths) -> dict[str, set[str]]:
    """operation -> files calling it, among `paths`."""
    operations = api_operations()
    found: dict[str, set[str]] = {}
    for path in paths:
        for name in set(CALL.findall(path.read_text())) & operations:
            found.setdefault(name, set()).add(str(path.relative_to(ROOT)))
    return found


def test_the_committed_policy_is_the_generated_one():
    assert iam.POLICY_FILE.read_text() == iam.render(), "run `python -m shared.deploy.iam`"


def test_the_policy_covers_exactly_the_operations_the_functions_call():
    sources = [p for p in (ROOT / "shared").rglob("*.py") if "local" not in p.relative_to(ROOT / "shared").parts[:1]]
    sources += list((ROOT / "functions").rglob("*.py"))
    found = called(sources)
    bootstrap = ROOT / "shared" / "store" / "bootstrap.py"
    outside_bootstrap = {op for op, files in found.items() if files - {str(bootstrap.relative_to(ROOT))}}
    assert outside_bootstrap - set(iam.OPERATIONS) == set(), "an operation the policy does not grant"
    assert set(iam.OPERATIONS) - set(found) == set(), "the policy grants an operation no code calls"
    # Table creation is the ACK controller's on AWS: only the bootstrap (local, tests, self-hosted) does it.
    assert iam.BOOTSTRAP_ONLY & outside_bootstrap == set()
    assert set(called([bootstrap])) - set(iam.OPERATIONS) <= iam.BOOTSTRAP_ONLY


def test_the_policy_names_every_table_and_index_and_only_the_bucket():
    policy = json.loads(iam.POLICY_FILE.read_text())
    statements = {s["Sid"]: s for s in policy["Statement"]}
    resources = statements["ShoalTables"]["Resource"]
    for table in TABLES:
        assert f"arn:aws:dynamodb:*:*:table/shoal-{table.key}" in resources
        assert (f"arn:aws:dynamodb:*:*:table/shoal-{table.key}/index/*" in resources) == bool(table.indexes)
    assert "*" not in {a.split(":")[1] for s in policy["Statement"] for a in s["Action"]}
    assert statements["ShoalObjects"]["Resource"] == ["arn:aws:s3:::shoal-data/*"]
    assert statements["ShoalBucket"] == {"Sid": "ShoalBucket", "Effect": "Allow", "Action": ["s3:ListBucket"],
                                         "Resource": ["arn:aws:s3:::shoal-data"]}
