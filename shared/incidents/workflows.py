"""The workflow catalogue of the Kubernaut facade: what an IncidentResponse's `selected_workflow` names.

Kubernaut's AI Analysis controller copies `selected_workflow` into the AIAnalysis CRD's
`status.selectedWorkflow` (required there: workflowId, executionBundle, version, confidence,
rationale) and its WorkflowExecution controller looks the workflow up in Kubernaut's own catalogue
by `workflow_id`. So every entry here mirrors a workflow registered in Kubernaut under the same id.

The catalogue is the built-in `k8s_patch` entry (an allow-listed strategic merge patch, selected when
the investigation proposes one) plus `SHOAL_INCIDENT_WORKFLOWS` (a JSON list of entries, or `@path`
to a JSON/YAML file); an entry with id `k8s_patch` replaces the built-in one's fields (e.g. its
bundle). The model selects a configured entry by answering `workflow_id` and `workflow_parameters`;
no entry fits → no workflow (the controller sends the incident to human review).
"""

from __future__ import annotations

import functools
import json
from typing import Any, Literal

from pydantic import ConfigDict, Field, ValidationError

from shared.config import get_settings
from shared.errors import Invalid
from shared.models.base import Model

PATCH_WORKFLOW_ID = "k8s_patch"
# Every selected workflow carries these, filled from the remediation target (DD-WORKFLOW-003 names).
TARGET_PARAMETERS = ("TARGET_KIND", "TARGET_NAME", "TARGET_NAMESPACE")


class WorkflowEntry(Model):
    model_config = ConfigDict(extra="forbid")

    workflow_id: str = Field(min_length=1, max_length=253)
    workflow_name: str = ""
    description: str = ""
    action_type: str = Field(min_length=1)
    version: str = "1.0.0"
    execution_bundle: str = ""  # OCI reference; Kubernaut's catalogue entry of the same id wins when set there
    execution_bundle_digest: str = ""
    execution_engine: Literal["tekton", "job", "ansible"] = "job"
    service_account_name: str = ""
    engine_config: dict[str, Any] | None = None
    kinds: list[str] = Field(default_factory=list)  # resource kinds it remediates; [] = any
    parameters: list[str] = Field(default_factory=list)  # required parameter names besides TARGET_*

    def fits(self, kind: str) -> bool:
        return not self.kinds or kind in self.kinds

    def selected(self, parameters: dict[str, str], confidence: float, rationale: str) -> dict[str, Any]:
        """The `selected_workflow` object, in the keys the controller reads."""
        body: dict[str, Any] = {
            "workflow_id": self.workflow_id, "workflow_name": self.workflow_name or self.workflow_id,
            "action_type": self.action_type, "version": self.version, "execution_bundle": self.execution_bundle,
            "execution_engine": self.execution_engine, "parameters": parameters,
            "declared_parameter_names": sorted(parameters), "confidence": confidence,
            "rationale": rationale or self.description or self.workflow_id}
        for key in ("execution_bundle_digest", "service_account_name"):
            if getattr(self, key):
                body[key] = getattr(self, key)
        if self.engine_config is not None:
            body["engine_config"] = self.engine_config
        return body


BUILTIN = WorkflowEntry(workflow_id=PATCH_WORKFLOW_ID, workflow_name="Kubernetes strategic merge patch",
                        description="Apply an allow-listed strategic merge patch (container image, env, "
                                    "resources, replicas) to the remediation target.",
                        action_type="PatchResource", parameters=["PATCH_TYPE", "PATCH"])


def catalogue() -> dict[str, WorkflowEntry]:
    """The built-in entry and the configured ones, by id (Invalid naming the entry when malformed)."""
    return _parse(get_settings().incident_workflows)


@functools.lru_cache(maxsize=4)
def _parse(raw: str) -> dict[str, WorkflowEntry]:
    entries = {BUILTIN.workflow_id: BUILTIN}
    raw = raw.strip()
    if not raw:
        return entries
    if raw.startswith("@"):
        from shared import yaml_files  # deferred: only a file-held catalogue needs YAML, not cold start

        with open(raw[1:], encoding="utf-8") as handle:
            items = yaml_files.load(handle)
    else:
        try:
            items = json.loads(raw)
        except ValueError:
            raise Invalid("SHOAL_INCIDENT_WORKFLOWS is not valid JSON") from None
    if not isinstance(items, list):
        raise Invalid("SHOAL_INCIDENT_WORKFLOWS must be a list of workflow entries")
    for index, item in enumerate(items):
        if isinstance(item, dict) and item.get("workflow_id") == PATCH_WORKFLOW_ID:
            item = {**BUILTIN.model_dump(), **item}
        try:
            entry = WorkflowEntry.model_validate(item)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(map(str, first["loc"])) or "entry"
            raise Invalid(f"SHOAL_INCIDENT_WORKFLOWS[{index}].{where}: {first['msg']}") from None
        entries[entry.workflow_id] = entry
    return entries


def prompt_listing(kind: str) -> list[dict[str, Any]]:
    """The configured workflows that fit `kind`, for the investigation prompt (the built-in one is
    chosen by proposing a patch)."""
    return [{"workflow_id": e.workflow_id, "description": e.description, "action_type": e.action_type,
             "parameters": e.parameters}
            for e in catalogue().values() if e.workflow_id != PATCH_WORKFLOW_ID and e.fits(kind)]


SELECTION_NOTE = ("To select one of available_workflows, add \"workflow_id\" and \"workflow_parameters\" "
                  "({NAME: string value} for each listed parameter) to your answer; select none when none fits.")
