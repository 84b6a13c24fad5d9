"""The deployment manifests: valid against their released schemas and consistent with the code."""

from __future__ import annotations

import copy
from functools import cache
from pathlib import Path

import jsonschema
import kubernetes_validate
import pytest

from shared import yaml_files
from shared.events.registry import EVENT_TYPES
from shared.local import manifests
from tests.support.crds import CRD_FILES, CRDS, closed

ROOT = Path(__file__).resolve().parents[2]


@cache
def crd_schema(api_version: str, kind: str) -> dict:
    filename, version = CRD_FILES[(api_version, kind)]
    crd = yaml_files.load((CRDS / filename).read_text())
    schema = next(v for v in crd["spec"]["versions"] if v["name"] == version)["schema"]["openAPIV3Schema"]
    return closed(copy.deepcopy(schema))


def manifest_documents() -> list[tuple[str, dict]]:
    docs = []
    for folder in ("knative", "infra"):
        for path in sorted((ROOT / folder).glob("*.yaml")):
            if path.name == "kustomization.yaml":
                continue
            docs += [(f"{folder}/{path.name}:{d['kind']}/{d['metadata']['name']}", d)
                     for d in yaml_files.load_all(path.read_text()) if d]
    return docs


@pytest.mark.parametrize("label,doc", manifest_documents(), ids=lambda v: v if isinstance(v, str) else "")
def test_manifest_is_valid(label, doc):
    key = (doc["apiVersion"], doc["kind"])
    if key in CRD_FILES:
        jsonschema.validators.validator_for(crd_schema(*key))(crd_schema(*key)).validate(doc)
    else:
        kubernetes_validate.validate(doc, kubernetes_validate.latest_version(), strict=True)


def test_closed_schema_catches_a_misspelt_field():
    service = copy.deepcopy(next(d for _, d in manifest_documents() if d["kind"] == "Service"))
    service["spec"]["template"]["spec"]["containers"][0]["imagePullPolice"] = "Always"
    schema = crd_schema("serving.knative.dev/v1", "Service")
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validators.validator_for(schema)(schema).validate(service)


def test_kustomizations_list_every_manifest_file():
    for folder in ("knative", "infra"):
        listed = set(yaml_files.load((ROOT / folder / "kustomization.yaml").read_text())["resources"])
        present = {p.name for p in (ROOT / folder).glob("*.yaml")} - {"kustomization.yaml"}
        assert listed == present, folder


def test_tables_manifest_is_generated_from_the_store_definitions():
    from shared.store.manifests import render

    assert (ROOT / "infra" / "tables.yaml").read_text() == render(), "run `python -m shared.store.manifests`"


def test_every_service_has_a_function_whose_target_matches_its_name():
    for fn in manifests.functions():
        source = ROOT / "functions" / fn.name / "main.py"
        assert source.exists(), fn.name
        assert f"def {fn.name}(request)" in source.read_text()
    service_docs = [d for _, d in manifest_documents() if d["kind"] == "Service" and "serving" in d["apiVersion"]]
    for doc in service_docs:
        container = doc["spec"]["template"]["spec"]["containers"][0]
        # functions-framework's CLI with the worker class `make run` serves with (shared/http/server.py)
        assert container["command"] == ["python", "-m", "shared.http.server"]
        args = container["args"]
        assert args == [f"--target={doc['metadata']['name']}", f"--source=functions/{doc['metadata']['name']}/main.py"]


def test_triggers_subscribe_event_functions_to_registered_types():
    event_functions = {f.name for f in manifests.functions() if f.kind == "event"}
    for trigger in manifests.triggers():
        assert trigger.subscriber in event_functions
        assert trigger.attributes["type"] in EVENT_TYPES
        assert trigger.delivery.dead_letter == "deadletter" and trigger.delivery.retry >= 3
