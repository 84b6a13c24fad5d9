"""The incidents and investigator functions' apps, for every Kubernaut contract test."""

from __future__ import annotations

import pytest


@pytest.fixture
def incidents(function_client):
    return function_client("incidents")


@pytest.fixture
def investigator(function_client):
    return function_client("investigator")
