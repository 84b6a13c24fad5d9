"""Create-time checks of git URLs (shared.net.git_urls) and the one redaction helper (shared.redact)."""

from __future__ import annotations

import json
import logging

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.errors import Invalid
from shared.net.git_urls import check_git_url
from shared.redact import _RULES, redact, redact_text

FIELD = "spec.workspace.gitRepo"
CREDENTIALS = f"invalid {FIELD}: must not contain credentials; put the token in a Secret and name it in gitSecretRef"


@pytest.mark.parametrize("url", [
    "https://github.com/o/r", "https://github.com/o/r.git", "https://gitlab.example.com:8443/group/sub/r.git",
    "ssh://git@github.com/o/r.git", "ssh://github.com:2222/o/r", "git@github.com:o/r.git", "deploy@git.example.com:r", "github.com:o/r",
])
def test_https_ssh_and_scp_like_urls_to_public_hosts_are_accepted(url):
    check_git_url(url, FIELD)


@pytest.mark.parametrize("url", [
    "https://x:TOKEN@github.com/o/r", "https://ghp_abcdefghijklmnopqrstuvwxyz0123456789@github.com/o/r",
    "ssh://git:secret@github.com/o/r", "git:secret@github.com:o/r",
])
def test_credentials_are_refused_naming_the_field_and_gitSecretRef(url):
    with pytest.raises(Invalid) as caught:
        check_git_url(url, FIELD)
    assert caught.value.message == CREDENTIALS
    assert "TOKEN" not in caught.value.message and "secret@" not in caught.value.message


@pytest.mark.parametrize("url,reason", [
    ("file:///etc/passwd", 'scheme "file" is not allowed; use https, ssh or git@host:path'),
    ("http://github.com/o/r", "must use https (plain http only for hosts in SHOAL_OUTBOUND_ALLOW)"),
    ("git://github.com/o/r", 'scheme "git" is not allowed; use https, ssh or git@host:path'),
    ("ext::sh", "remote helper transports such as ext:: are not allowed; use https, ssh or git@host:path"),
    ("fd::7", "remote helper transports such as ext:: are not allowed; use https, ssh or git@host:path"),
    ("/srv/git/repo", "must be an https, ssh or git@host:path URL"),
    ("../repo", "must be an https, ssh or git@host:path URL"),
    ("-uhttps://github.com/o/r", "must not start with '-'"),
    ("ssh://-oProxyCommand=id/r", "has an invalid host"),
    ("https://github.com/o/r\n", "must not contain whitespace or control characters"),
    ("https://github.com", "must name a repository path"),
    ("https://127.0.0.1/o/r", "address 127.0.0.1 of host 127.0.0.1 is not allowed"),
    ("https://localhost/o/r", "address 127.0.0.1 of host localhost is not allowed"),
    ("https://169.254.169.254/o/r", "address 169.254.169.254 of host 169.254.169.254 is not allowed"),
    ("https://metadata.google.internal/o/r", "host metadata.google.internal is not allowed"),
    ("https://10.1.2.3/o/r", "address 10.1.2.3 of host 10.1.2.3 is not allowed"),
    ("https://[::1]/o/r", "address ::1 of host ::1 is not allowed"),
    ("https://0x7f.1/o/r", "address 127.0.0.1 of host 0x7f.1 is not allowed"),
    ("https://2130706433/o/r", "address 127.0.0.1 of host 2130706433 is not allowed"),
    ("git@192.168.0.10:o/r", "address 192.168.0.10 of host 192.168.0.10 is not allowed"),
    ("", "must be a non-empty string"),
])
def test_other_schemes_paths_and_internal_hosts_are_refused(url, reason):
    with pytest.raises(Invalid) as caught:
        check_git_url(url, FIELD)
    assert caught.value.message == f"invalid {FIELD}: {reason}"


def test_the_outbound_allow_list_admits_internal_hosts(monkeypatch):
    from shared.config import reset_settings

    monkeypatch.setenv("SHOAL_OUTBOUND_ALLOW", "10.0.0.0/8,git.internal,localhost")
    reset_settings()
    check_git_url("https://10.1.2.3/o/r", FIELD)
    check_git_url("git@git.internal:o/r", FIELD)
    with pytest.raises(Invalid):
        check_git_url("https://192.168.0.10/o/r", FIELD)


def test_labrats_jobs_may_carry_a_token_but_nothing_else_changes():
    check_git_url("https://x-access-token:ghs_abc@github.com/o/r.git", "workspaceSetup.gitRepo",
                  allow_credentials=True)
    with pytest.raises(Invalid, match='scheme "file"'):
        check_git_url("file:///etc/passwd", "workspaceSetup.gitRepo", allow_credentials=True)


@pytest.mark.parametrize("text,expected", [
    ("https://x:TOKEN@github.com/o/r", "https://***@github.com/o/r"),
    ("clone ssh://git:pw@host/r now", "clone ssh://***@host/r now"),
    ("token ghp_" + "a" * 36 + " end", "token ghp_*** end"),
    ("github_pat_" + "A1_" * 20, "github_pat_***"),
    ("key lrk_" + "k" * 43, "key lrk_***"),
    ("sk-ant-" + "x" * 30, "sk-ant-***"),
    ("Authorization: Bearer abc.def.ghi-jkl", "Authorization: Bearer ***"),
    ('{"Authorization": "token 0123456789abcdef"}', '{"Authorization": "token ***"}'),
    ("AKIA" + "A" * 16, "AKIA***"),
    ("nothing secret here: https://github.com/o/r", "nothing secret here: https://github.com/o/r"),
])
def test_redact_masks_credential_shaped_values(text, expected):
    assert redact_text(text) == expected


def test_redact_walks_documents_and_keeps_keys():
    doc = {"spec": {"workspace": {"gitRepo": "https://t@github.com/o/r"}}, "n": 1, "l": ["Bearer abcdefghij"]}
    assert redact(doc) == {"spec": {"workspace": {"gitRepo": "https://***@github.com/o/r"}}, "n": 1,
                           "l": ["Bearer ***"]}


def test_json_log_lines_are_redacted_and_stay_json():
    from shared.logs import JsonFormatter

    record = logging.LogRecord("shoal.t", logging.INFO, __file__, 1, 'cloning "https://x:ghp_%s@github.com/o/r"',
                               ("a" * 36,), None)
    record.fields = {"url": "https://u:p@h/r", "header": "Bearer " + "z" * 40}
    line = JsonFormatter().format(record)
    parsed = json.loads(line)
    assert "ghp_" + "a" * 36 not in line and "u:p@" not in line and "z" * 40 not in line
    assert parsed["url"] == "https://***@h/r" and parsed["header"] == "Bearer ***"


def _every_rule(text: str) -> str:
    """What redact_text gives without its shortcut: every rule applied."""
    for pattern, replacement in _RULES:
        text = pattern.sub(replacement, text)
    return text


# Pieces that make or nearly make a match (prefixes in either case, the letters IGNORECASE folds from
# outside ASCII), joined with filler: the shortcut must never skip a string a rule would change.
_PIECES = st.sampled_from(["://", "x:y@", "ghp_", "GHP_", "gho_", "ghr_", "github_pat_", "lrk_", "sk-", "sk-ant-",
                           "AKIA", "akia", "ASIA", "eyJ", ".eyJ", "bearer ", "BeArEr ", "bearer", "authorization",
                           "AUTHORIZATION: token ", "authorİzation: token ", "Bearer\u017f", "ı", "K", "ſ", "İ",
                           "a" * 20, "A1_-" * 6, "0123456789", " ", "\"", "é", "/"])


@settings(max_examples=400, deadline=None)
@given(st.lists(_PIECES, max_size=12).map("".join))
def test_redact_text_shortcut_changes_no_answer(text):
    assert redact_text(text) == _every_rule(text)


def test_the_shortcut_still_masks_a_token_after_a_folded_letter():
    # `authorİzation` matches the rule's `(?i)authorization`, though its lowercase is not "authorization"
    assert redact_text("authorİzation: token abcdef") == _every_rule("authorİzation: token abcdef") \
        == "authorİzation: token ***"
