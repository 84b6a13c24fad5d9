"""The SSRF guard refuses internal targets, every redirect hop included, unless allowed."""

from __future__ import annotations

import pytest

from shared.net.outbound import BlockedURL, allow_listed, check_url, outbound_client


@pytest.mark.parametrize("url", [
    "http://127.0.0.1/", "http://localhost:8080/x", "http://[::1]/", "http://169.254.169.254/latest/meta-data",
    "http://10.0.0.5/", "http://192.168.1.1/", "http://172.16.0.1/", "http://[fd00::1]/", "http://0.0.0.0/",
    "http://[::ffff:127.0.0.1]/", "http://metadata.google.internal/", "file:///etc/passwd", "gopher://x/",
    "http://user:pw@example.com/", "http:///nohost"])
def test_internal_or_odd_urls_are_refused(url):
    with pytest.raises(BlockedURL):
        check_url(url)


def test_public_address_literals_pass():
    check_url("https://93.184.215.14/path")
    check_url("http://[2606:4700::1111]/")


def test_allow_list_admits_a_network_or_a_host(monkeypatch):
    from shared.config import reset_settings

    monkeypatch.setenv("SHOAL_OUTBOUND_ALLOW", "127.0.0.0/8, receiver.local")
    reset_settings()
    check_url("http://127.0.0.1:9999/hook")
    check_url("http://receiver.local/hook")
    with pytest.raises(BlockedURL):
        check_url("http://10.1.2.3/")


def test_allow_listed_means_named_by_host_or_every_address_in_an_allowed_network(monkeypatch):
    from shared.config import reset_settings

    monkeypatch.setenv("SHOAL_OUTBOUND_ALLOW", "127.0.0.0/8, git.local")
    reset_settings()
    assert allow_listed("127.0.0.1") and allow_listed("git.local") and allow_listed("GIT.LOCAL.")
    assert not allow_listed("10.1.2.3") and not allow_listed("93.184.215.14")
    assert not allow_listed("no-such-host.invalid")  # unresolvable is not allowed
    monkeypatch.setenv("SHOAL_OUTBOUND_ALLOW", "")
    reset_settings()
    assert not allow_listed("127.0.0.1")


def test_client_refuses_a_redirect_to_an_internal_address(httpserver, monkeypatch):
    from shared.config import reset_settings

    # The first hop is allowed by host name; its redirect to 127.0.0.1 by address is not.
    inner = f"http://127.0.0.1:{httpserver.port}/inner"
    httpserver.expect_request("/start").respond_with_data("", status=302, headers={"Location": inner})
    monkeypatch.setenv("SHOAL_OUTBOUND_ALLOW", "localhost")
    reset_settings()
    start = f"http://localhost:{httpserver.port}/start"
    with outbound_client(follow_redirects=True) as client, pytest.raises(BlockedURL):
        client.get(start)
