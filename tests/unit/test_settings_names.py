"""`shared/settings.py` names every environment variable Shoal reads (README: "the one place that names them"),
and the executor→worker contract's variables are among them."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from shared.models.worker_contract import GIT_CREDENTIAL_ENV, WORKER_ENV
from shared.settings import Settings

SHARED = Path(__file__).resolve().parents[2] / "shared"
# Written by Shoal for a program it starts, never read by Shoal: a coding-agent CLI's model token.
WRITTEN_ONLY = {"SHOAL_MODEL_TOKEN"}


def setting_names() -> set[str]:
    names = set()
    for name, var in Settings.fields.items():
        names |= set(var.aliases) if var.aliases else {f"{Settings.env_prefix}{name}".upper()}
    return names


def variable_literals() -> dict[str, set[str]]:
    """Every string literal in shared that is a whole `SHOAL_*` or `ORKA_*` name, with where it stands."""
    found: dict[str, set[str]] = {}
    for path in SHARED.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and re.fullmatch(
                    r"(SHOAL|ORKA)_[A-Z0-9_]*[A-Z0-9]", node.value):
                found.setdefault(node.value, set()).add(str(path.relative_to(SHARED)))
    return found


def test_the_worker_contract_variables_are_settings():
    assert set(WORKER_ENV) <= setting_names()
    assert set(GIT_CREDENTIAL_ENV.values()) <= set(WORKER_ENV)


def test_every_variable_named_in_shared_is_a_setting():
    unnamed = {name: sorted(where) for name, where in variable_literals().items()
               if name not in setting_names() | WRITTEN_ONLY}
    assert not unnamed, f"add these to shared/settings.py (and the README): {unnamed}"
