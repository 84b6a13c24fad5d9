"""The one git-token helper: a named Secret that cannot be read fails loudly; the default Secret
names are tried only when no Secret is named and the caller asks for them."""

from __future__ import annotations

import pytest

from tests.support.monitors import b64


@pytest.fixture
def kube(fake_kube):
    fake_kube.add("/api/v1", "secrets", "default", {"metadata": {"name": "named"}, "data": {"password": b64(" p1 \n")}})
    fake_kube.add("/api/v1", "secrets", "default", {"metadata": {"name": "github-token"}, "data": {"token": b64("d1")}})
    fake_kube.add("/api/v1", "secrets", "default", {"metadata": {"name": "keyless"}, "data": {"other": b64("x")}})
    return fake_kube


def test_a_named_secret_gives_its_token_either_way(kube):
    from shared.catalog.git_credentials import git_token

    for default_names in (True, False):
        assert git_token("default", {"gitSecretRef": {"name": "named"}}, default_names=default_names) == "p1"
        assert git_token("default", {"workspace": {"gitSecretRef": {"name": "named"}}},
                         default_names=default_names) == "p1"
        # a readable Secret without a token key is no token (the caller may fall back), not an error
        assert git_token("default", {"gitSecretRef": {"name": "keyless"}}, default_names=default_names) is None


def test_default_names_are_tried_only_when_asked_and_no_secret_is_named(kube):
    from shared.catalog.git_credentials import git_token

    assert git_token("default", {}, default_names=True) == "d1"
    kube.requests[:] = []
    assert git_token("default", {}, default_names=False) is None
    assert kube.requests == []  # not even looked for


@pytest.mark.parametrize("default_names", [True, False])
def test_a_named_secret_that_is_missing_fails_loudly_and_never_falls_back(kube, default_names):
    from shared.catalog.git_credentials import GitSecretUnreadable, git_token

    with pytest.raises(GitSecretUnreadable) as raised:
        git_token("default", {"gitSecretRef": {"name": "absent"}}, default_names=default_names)
    assert (raised.value.status, raised.value.message) == (409, 'git secret "absent" not found')


def test_a_named_secret_without_a_kubernetes_api_is_an_outage(monkeypatch):
    from shared.catalog.git_credentials import GitSecretUnreadable, git_token
    from shared.config import reset_settings
    from shared.kube import reset_client

    monkeypatch.setenv("SHOAL_KUBE_API_URL", "http://127.0.0.1:9")  # nothing listens on the discard port
    monkeypatch.setenv("SHOAL_KUBE_TOKEN", "t")
    reset_settings()
    reset_client()
    try:
        with pytest.raises(GitSecretUnreadable) as raised:
            git_token("default", {"gitSecretRef": {"name": "named"}}, default_names=True)
        assert raised.value.status == 503
        assert raised.value.message == 'git secret "named" could not be read: the Kubernetes API is unreachable'
        # without a name there is simply no credential (make run without a cluster)
        assert git_token("default", {}, default_names=True) is None
    finally:
        reset_client()
