"""The prompts of security tasks and the JSON each answer must contain (docs/security.md documents them)."""

from __future__ import annotations

import json
from typing import Any

SCAN_SCHEMA = {
    "threatModel": {"summary": "string", "assets": ["string"], "entryPoints": ["string"],
                    "trustBoundaries": ["string"], "threats": [{"title": "string", "description": "string"}]},
    "findings": [{"title": "string (required)", "severity": "critical|high|medium|low|info (required)",
                  "category": "string, e.g. injection, authn, authz, crypto, secrets, ssrf, xss (required)",
                  "file": "repository-relative path (required)", "line": "integer >= 1 (optional)",
                  "description": "string (required)", "evidence": "string (optional)",
                  "recommendation": "string (optional)", "confidence": "high|medium|low (optional)",
                  "fingerprint": "string stable across scans (optional)"}],
}
VALIDATION_SCHEMA = {"validationStatus": "confirmed|rejected|inconclusive", "rationale": "string"}
PATCH_SCHEMA = {"summary": "string: what the patch changes and why", "diff": "a unified diff (git diff format)"}


def _answer(schema: dict[str, Any]) -> str:
    return ("Answer with exactly one JSON object (optionally in a ```json fenced block) of this shape:\n"
            + json.dumps(schema, indent=2))


def scan_prompt(spec: dict[str, Any], slice_: dict[str, Any], run_id: str) -> str:
    where = f"the path `{slice_['path']}`" if slice_["path"] else "the whole repository"
    if slice_.get("excludes"):
        where += " except " + ", ".join(f"`{p}`" for p in slice_["excludes"]) + " (reviewed separately)"
    target = spec.get("ref") or spec.get("branch")
    return "\n".join([
        f"Security review of {spec['owner']}/{spec['repository']} at {target} (scan {run_id}, "
        f"slice {slice_['sliceID']}).",
        f"Review only {where} of the checked-out workspace; read-only: do not modify or push anything.",
        "Report real, exploitable weaknesses with concrete evidence (file and line); no style issues.",
        "Also describe the threat model of what you reviewed.",
        _answer(SCAN_SCHEMA),
    ])


def validation_prompt(spec: dict[str, Any], finding: dict[str, Any]) -> str:
    return "\n".join([
        f"Validate this security finding in {spec['owner']}/{spec['repository']} "
        f"(validation mode {spec.get('validationMode', 'light')}); read-only: do not push.",
        json.dumps(_finding_brief(finding), indent=2),
        "Decide whether it is a real, reachable weakness.",
        _answer(VALIDATION_SCHEMA),
    ])


def patch_prompt(spec: dict[str, Any], finding: dict[str, Any]) -> str:
    return "\n".join([
        f"Write a minimal fix for this security finding in {spec['owner']}/{spec['repository']}; do not push.",
        json.dumps(_finding_brief(finding), indent=2),
        "The diff must apply to the checked-out branch with `git apply` (paths relative to the repository root).",
        _answer(PATCH_SCHEMA),
    ])


def _finding_brief(finding: dict[str, Any]) -> dict[str, Any]:
    keys = ("id", "title", "severity", "category", "file", "line", "description", "evidence", "recommendation")
    return {k: finding[k] for k in keys if finding.get(k) is not None}
