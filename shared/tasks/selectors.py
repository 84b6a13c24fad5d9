"""Kubernetes label selectors (`labelSelector=k=v,k2!=v2,k3,!k4`) and a filtered, paged list."""

from __future__ import annotations

import re
from collections.abc import Callable

from shared.errors import Invalid
from shared.store import ObjectStore, Record

_KEY = re.compile(r"^([a-z0-9A-Z]([-a-z0-9A-Z_.]*[a-z0-9A-Z])?/)?[a-zA-Z0-9]([-a-zA-Z0-9_.]*[a-zA-Z0-9])?$")
Requirement = Callable[[dict[str, str]], bool]


def parse_selector(text: str | None) -> list[Requirement]:
    """Equality-based requirements; 400 `invalid labelSelector: …` for anything else."""
    if not text:
        return []
    requirements: list[Requirement] = []
    for raw in text.split(","):
        part = raw.strip()
        match = re.match(r"^([^=!]+?)\s*(==|=|!=)\s*(.*)$", part)
        if match:
            key, op, value = match.group(1).strip(), match.group(2), match.group(3).strip()
            if not _KEY.match(key) or (value and not re.match(r"^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$", value)):
                raise Invalid(f'invalid labelSelector: "{part}"')
            if op == "!=":
                requirements.append(lambda labels, k=key, v=value: labels.get(k) != v)
            else:
                requirements.append(lambda labels, k=key, v=value: labels.get(k) == v)
        elif part.startswith("!") and _KEY.match(absent := part[1:].strip()):
            requirements.append(lambda labels, k=absent: k not in labels)
        elif _KEY.match(part):
            requirements.append(lambda labels, k=part: k in labels)
        else:
            raise Invalid(f'invalid labelSelector: "{part}"')
    return requirements


def matches(record: Record, requirements: list[Requirement]) -> bool:
    labels = record.doc.get("metadata", {}).get("labels") or {}
    return all(req(labels) for req in requirements)


def list_matching(store: ObjectStore, partition: str, requirements: list[Requirement], *, limit: int | None,
                  cursor: str | None) -> tuple[list[Record], str | None]:
    """A page of up to `limit` matching records: Queries of the partition, never more than needed."""
    if not requirements:
        return store.list_page(partition, limit=limit, cursor=cursor)
    if limit is None:
        records, _ = store.list_page(partition, limit=None, cursor=cursor)
        return [r for r in records if matches(r, requirements)], None
    found: list[Record] = []
    while True:
        # Asking for no more than still missing means no page overshoots, so its cursor is exact.
        page, cursor = store.list_page(partition, limit=limit - len(found), cursor=cursor)
        found += [r for r in page if matches(r, requirements)]
        if len(found) >= limit or cursor is None:
            return found, cursor
