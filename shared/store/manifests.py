"""The AWS ACK resources for the tables and bucket, derived from `shared.store.tables`.

`python -m shared.store.manifests` writes `infra/tables.yaml`; a test keeps the file in step.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import yaml

from shared.store.tables import TABLES, create_table_request

INFRA = Path(__file__).resolve().parents[2] / "infra"
# The cluster's physical names: prefix "shoal-" and bucket "shoal-data" (see infra/config.yaml).
PREFIX, BUCKET = "shoal-", "shoal-data"


def table_manifests() -> list[dict[str, Any]]:
    docs = []
    for table in TABLES:
        request = create_table_request(table)
        name = PREFIX + table.key
        spec: dict[str, Any] = {
            "tableName": name,
            "billingMode": request["BillingMode"],
            "attributeDefinitions": [{"attributeName": a["AttributeName"], "attributeType": a["AttributeType"]}
                                     for a in request["AttributeDefinitions"]],
            "keySchema": [{"attributeName": k["AttributeName"], "keyType": k["KeyType"]} for k in request["KeySchema"]],
            "tags": [{"key": "app.kubernetes.io/part-of", "value": "shoal"}, {"key": "shoal.dev/purpose",
                                                                            "value": table.purpose}],
        }
        if request.get("GlobalSecondaryIndexes"):
            spec["globalSecondaryIndexes"] = [{
                "indexName": gsi["IndexName"],
                "keySchema": [{"attributeName": k["AttributeName"], "keyType": k["KeyType"]} for k in gsi["KeySchema"]],
                "projection": {"projectionType": gsi["Projection"]["ProjectionType"]},
            } for gsi in request["GlobalSecondaryIndexes"]]
        if table.ttl_attribute:
            spec["timeToLive"] = {"attributeName": table.ttl_attribute, "enabled": True}
        docs.append({"apiVersion": "dynamodb.services.k8s.aws/v1alpha1", "kind": "Table",
                     "metadata": {"name": name, "labels": {"app.kubernetes.io/part-of": "shoal"}}, "spec": spec})
    docs.append({"apiVersion": "s3.services.k8s.aws/v1alpha1", "kind": "Bucket",
                 "metadata": {"name": BUCKET, "labels": {"app.kubernetes.io/part-of": "shoal"}},
                 "spec": {"name": BUCKET,
                          "publicAccessBlock": {"blockPublicACLs": True, "blockPublicPolicy": True,
                                                "ignorePublicACLs": True, "restrictPublicBuckets": True},
                          "encryption": {"rules": [{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "AES256"}}]}}})
    return docs


def render() -> str:
    return ("# Generated from shared/store/tables.py by `python -m shared.store.manifests`; do not edit.\n"
            + yaml.safe_dump_all(table_manifests(), sort_keys=False))


if __name__ == "__main__":
    (INFRA / "tables.yaml").write_text(render())
    sys.stdout.write("wrote infra/tables.yaml\n")
