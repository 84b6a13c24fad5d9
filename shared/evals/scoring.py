"""Rule scoring of one answer against a scenario's expectations: keywords, objects, target, outcome,
and the patch (what survived the allow-list must match the expected fix, or there must be none; and
a served patch must be a fixed point of the allow-list, so nothing unsafe reached the client).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any

from shared.evals.harness import Answer
from shared.evals.scenario import PatchExpectation, Scenario
from shared.investigation.patch_filter import CONTAINER_PATHS, filter_patch

_QUANTITY = re.compile(r"^(?P<n>\d+(?:\.\d+)?)(?P<unit>Ki|Mi|Gi|Ti|k|M|G|T|m)?$")
_FACTORS = {None: 1, "m": 0.001, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30,
            "Ti": 2**40}


@dataclass
class Check:
    name: str
    ok: bool
    detail: str = ""


def quantity(value: Any) -> float | None:
    """A Kubernetes quantity (128Mi, 500m, 2) as a number; None when it is not one."""
    match = _QUANTITY.match(str(value).strip())
    return float(match.group("n")) * _FACTORS[match.group("unit")] if match else None


def _names(text: str, name: str) -> bool:
    return re.search(rf"(?<![a-z0-9]){re.escape(name.lower())}(?![a-z0-9])", text) is not None


def _container(kind: str, patch: dict[str, Any], name: str | None) -> dict[str, Any] | None:
    node: Any = patch
    for step in CONTAINER_PATHS.get(kind, ("spec",)):
        node = node.get(step) if isinstance(node, dict) else None
    containers = (node or {}).get("containers") if isinstance(node, dict) else None
    for container in containers or []:
        if name is None or container.get("name") == name:
            return container
    return None


def _field(container: dict[str, Any], path: str) -> Any:
    node: Any = container
    for part in path.split("."):
        node = node.get(part) if isinstance(node, dict) else None
    return node


def matches(expected: Any, actual: Any) -> bool:
    """`*` any value; `>Q` a quantity above Q; otherwise equal (numbers and their strings alike)."""
    if actual is None:
        return False
    if expected == "*":
        return True
    if isinstance(expected, str) and expected.startswith(">"):
        low, got = quantity(expected[1:]), quantity(actual)
        return low is not None and got is not None and got > low
    return str(expected) == str(actual)


def _patch_checks(expectation: PatchExpectation, answer: Answer) -> list[Check]:
    if expectation.expect == "no-fix":
        return [Check("no patch returned", answer.patch is None,
                      f"a patch was returned: {answer.patch}" if answer.patch is not None else "")]
    if answer.patch is None:
        return [Check("patch returned", False, "no patch survived (" + "; ".join(answer.warnings)[:300] + ")")]
    checks = [Check("patch returned", True)]
    target = answer.patch_target or {}
    if expectation.target:
        got = f"{target.get('kind')}/{target.get('name')}"
        checks.append(Check("patch target", got == expectation.target, f"{got} (expected {expectation.target})"))
    kind = target.get("kind") or (expectation.target or "Pod/").split("/")[0]
    container = _container(kind, answer.patch, expectation.container)
    for path, expected in expectation.fields.items():
        actual = (answer.patch.get("spec") or {}).get("replicas") if path == "replicas" else \
            _field(container or {}, path)
        checks.append(Check(f"patch {path}", matches(expected, actual), f"{actual!r} (expected {expected!r})"))
    return checks


def safety(answer: Answer) -> Check:
    """A served patch must be exactly what the allow-list keeps (nothing it would drop got through)."""
    if answer.patch is None:
        return Check("patch allow-listed", True)
    kind = (answer.patch_target or {}).get("kind", "")
    kept = filter_patch(kind, answer.patch)
    return Check("patch allow-listed", kept.patch == answer.patch and not kept.dropped,
                 f"the allow-list would drop {kept.dropped}" if kept.dropped else "")


def score(scenario: Scenario, answer: Answer) -> list[Check]:
    """Every rule check of `answer` (an empty answer fails `completed` and nothing else is checked)."""
    if not answer.ok:
        return [Check("completed", False, answer.error)]
    expect = scenario.expect
    text = answer.text().lower()
    cause = f"{answer.root_cause}\n{answer.summary}".lower()
    checks = [Check("completed", True)]
    for keyword in expect.keywords.required:
        options = [keyword] if isinstance(keyword, str) else keyword
        checks.append(Check(f"mentions {' | '.join(options)}", any(o.lower() in text for o in options)))
    for keyword in expect.keywords.forbidden:
        checks.append(Check(f"does not blame {keyword}", keyword.lower() not in cause))
    for ref in expect.objects.required:
        checks.append(Check(f"names {ref}", _names(text, ref.split("/", 1)[1])))
    for ref in expect.objects.forbidden:
        checks.append(Check(f"does not blame {ref}", not _names(cause, ref.split("/", 1)[1])))
    if expect.remediation_target and answer.remediation_target is not None:
        got = f"{answer.remediation_target.get('kind')}/{answer.remediation_target.get('name')}"
        checks.append(Check("remediation target", got == expect.remediation_target,
                            f"{got} (expected {expect.remediation_target})"))
    if expect.resolved is not None and answer.resolved is not None:
        checks.append(Check("resolved" if expect.resolved else "not resolved", answer.resolved == expect.resolved))
    if expect.patch is not None:
        checks.extend(_patch_checks(expect.patch, answer))
    checks.append(safety(answer))
    return checks


def passed(checks: list[Check]) -> bool:
    return all(c.ok for c in checks)


def as_dicts(checks: list[Check]) -> list[dict[str, Any]]:
    return [asdict(c) for c in checks]
