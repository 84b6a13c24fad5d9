"""Validate objects against the upstream CRD schemas in tests/fixtures/crds (see its README).

Like tests/unit/test_manifests.py: the schema is closed (`additionalProperties: false` wherever the
CRD lists properties), so a misspelt or unknown field fails instead of being pruned silently.
"""

from __future__ import annotations

import copy
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema

from shared import yaml_files

CRDS = Path(__file__).resolve().parents[1] / "fixtures" / "crds"
# (apiVersion, kind) -> (CRD file, schema version) for the custom kinds Shoal's manifests use.
CRD_FILES = {
    ("serving.knative.dev/v1", "Service"): ("knative-service.yaml", "v1"),
    ("eventing.knative.dev/v1", "Broker"): ("knative-broker.yaml", "v1"),
    ("eventing.knative.dev/v1", "Trigger"): ("knative-trigger.yaml", "v1"),
    ("sources.knative.dev/v1", "PingSource"): ("knative-pingsource.yaml", "v1"),
    ("gateway.networking.k8s.io/v1", "HTTPRoute"): ("gateway-httproute.yaml", "v1"),
    ("dynamodb.services.k8s.aws/v1alpha1", "Table"): ("ack-dynamodb-table.yaml", "v1alpha1"),
    ("s3.services.k8s.aws/v1alpha1", "Bucket"): ("ack-s3-bucket.yaml", "v1alpha1"),
}


def closed(schema: Any, *, root: bool = True) -> Any:
    """Forbid unknown keys where a CRD lists properties, so a misspelt field fails (see the CRD README)."""
    if isinstance(schema, dict):
        if (not root and "properties" in schema and "additionalProperties" not in schema
                and not schema.get("x-kubernetes-preserve-unknown-fields")):
            schema["additionalProperties"] = False
        for key, value in schema.items():
            if key == "properties":
                for sub in value.values():
                    closed(sub, root=False)
            elif key in ("items", "additionalProperties") and isinstance(value, dict):
                closed(value, root=False)
            elif key in ("anyOf", "allOf", "oneOf"):
                for sub in value:
                    closed(sub, root=False)
    return schema


@cache
def crd_schema(filename: str, version: str) -> dict[str, Any]:
    crd = yaml_files.load((CRDS / filename).read_text())
    schema = next(v for v in crd["spec"]["versions"] if v["name"] == version)["schema"]["openAPIV3Schema"]
    return closed(copy.deepcopy(schema))


def validate(obj: dict[str, Any], filename: str, version: str) -> None:
    """Raise jsonschema.ValidationError unless `obj` fits the CRD's schema at `version`."""
    schema = crd_schema(filename, version)
    jsonschema.validators.validator_for(schema)(schema).validate(obj)
