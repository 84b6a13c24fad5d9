"""The git side of coding-agent tasks, with real git against a real smart-HTTP server on loopback."""

from __future__ import annotations

import os
import socket
import subprocess
import types
from pathlib import Path

import pytest

from shared.errors import Invalid
from shared.runtimes import git_workspace
from shared.runtimes.git_workspace import (
    CloneResult,
    GitCredential,
    GitError,
    check_git_url,
    clone,
    commit_and_push,
    credential_from_secret,
    default_branch_name,
    redact,
)
from tests.support.git_server import GitServer

SECRET = "s3cret-Tok3n-value"
USER = "x-access-token"
BOT = {"author_name": "shoal-bot", "author_email": "bot@shoal.dev"}


@pytest.fixture
def allow_loopback(monkeypatch):
    from shared.config import reset_settings

    monkeypatch.setenv("SHOAL_OUTBOUND_ALLOW", "127.0.0.1")
    reset_settings()


@pytest.fixture
def server(tmp_path, allow_loopback):
    with GitServer(tmp_path) as srv:
        yield srv


def git(repo: Path, *args: str) -> str:
    env = {"PATH": os.environ["PATH"], "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": "/dev/null"}
    return subprocess.run(["git", *args], cwd=repo, env=env, capture_output=True, text=True, check=True,
                          timeout=30).stdout.strip()


def subcommand(argv: list[str]) -> str:
    i = 1
    while argv[i] == "-c":
        i += 2
    return argv[i]


def files_containing(root: Path, needle: str) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file() and needle.encode() in p.read_bytes()]


# -- clone ------------------------------------------------------------------------------------

def test_clone_without_ref_checks_out_the_default_branch(server, tmp_path):
    url = server.create_repo("app")
    result = clone(url, tmp_path / "ws")
    assert result == CloneResult(head=server.ref("app", "refs/heads/main"), ref="refs/heads/main", branch="main")
    assert (tmp_path / "ws" / "README.md").read_text() == "# app\n"


def test_clone_at_a_branch_makes_a_local_branch_tracking_origin(server, tmp_path):
    url = server.create_repo("app")
    dev = server.commit("app", {"dev.txt": "dev\n"}, branch="dev", parent=server.ref("app", "refs/heads/main"))
    result = clone(url, tmp_path / "ws", ref="dev")
    assert result == CloneResult(head=dev, ref="refs/heads/dev", branch="dev")
    ws = tmp_path / "ws"
    assert git(ws, "symbolic-ref", "HEAD") == "refs/heads/dev"
    assert git(ws, "rev-parse", "--abbrev-ref", "dev@{upstream}") == "origin/dev"
    assert (ws / "dev.txt").exists()


def test_clone_at_an_annotated_tag_detaches_at_the_tagged_commit(server, tmp_path):
    url = server.create_repo("app")
    tagged = server.commit("app", {"a.txt": "v1\n"})
    server.tag("app", "v1.0", commit=tagged, annotated=True)
    server.commit("app", {"a.txt": "later\n"})  # main moves on; the tag does not
    result = clone(url, tmp_path / "ws", ref="v1.0")
    assert result == CloneResult(head=tagged, ref="refs/tags/v1.0", branch=None)
    assert (tmp_path / "ws" / "a.txt").read_text() == "v1\n"


def test_clone_at_a_full_sha_that_is_not_a_tip(server, tmp_path):
    url = server.create_repo("app")
    old = server.ref("app", "refs/heads/main")
    server.commit("app", {"a.txt": "newer\n"})
    result = clone(url, tmp_path / "ws", ref=old, depth=1)
    assert result == CloneResult(head=old, ref=None, branch=None)
    assert not (tmp_path / "ws" / "a.txt").exists()


def test_clone_at_a_pull_request_head_no_branch_holds(server, tmp_path):
    url = server.create_repo("app")
    pr = server.pr_head("app", 7, files={"fix.py": "print('fixed')\n"})
    assert server.git("app", "branch", "--contains", pr) == ""
    result = clone(url, tmp_path / "ws", ref="refs/pull/7/head", depth=1)
    assert result == CloneResult(head=pr, ref="refs/pull/7/head", branch=None)
    assert (tmp_path / "ws" / "fix.py").read_text() == "print('fixed')\n"


def test_depth_one_fetches_a_single_commit(server, tmp_path):
    url = server.create_repo("app")
    for n in range(3):
        server.commit("app", {"n.txt": f"{n}\n"})
    clone(url, tmp_path / "shallow", depth=1)
    clone(url, tmp_path / "full")
    assert git(tmp_path / "shallow", "rev-list", "--count", "HEAD") == "1"
    assert git(tmp_path / "full", "rev-list", "--count", "HEAD") == "4"


def test_an_unknown_ref_is_a_clear_error(server, tmp_path):
    url = server.create_repo("app")
    with pytest.raises(GitError, match="ref 'nope' not found on the remote"):
        clone(url, tmp_path / "ws", ref="nope")


@pytest.mark.parametrize("ref", ["--upload-pack=touch /tmp/x", "a..b", "main~1", "HEAD@{1}", "x y"])
def test_refs_that_could_read_as_options_or_revisions_are_refused(server, tmp_path, ref):
    url = server.create_repo("app")
    with pytest.raises(Invalid):
        clone(url, tmp_path / "ws", ref=ref)


def test_clone_rechecks_the_url_before_running_git(tmp_path):
    with pytest.raises(Invalid, match="spec.workspace.gitRepo"):
        clone("file:///etc", tmp_path / "ws")
    assert not (tmp_path / "ws").exists()


def test_a_git_call_past_its_timeout_is_killed_and_reported(tmp_path, allow_loopback):
    # A listener that never answers: the connection is accepted by the kernel, no response ever comes.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        url = f"http://127.0.0.1:{sock.getsockname()[1]}/app.git"
        with pytest.raises(GitError, match=r"git ls-remote timed out after 0.5s"):
            clone(url, tmp_path / "ws", timeout=0.5)


# -- private repositories and where the credential goes -------------------------------------------

def test_private_repo_fails_clearly_without_the_credential(server, tmp_path):
    url = server.create_repo("private", auth=(USER, SECRET))
    with pytest.raises(GitError, match="authentication required or refused") as err:
        clone(url, tmp_path / "ws")
    assert "gitSecretRef" in str(err.value)
    wrong = "wrong-" + SECRET
    with pytest.raises(GitError, match="authentication") as err:
        clone(url, tmp_path / "ws2", credential=GitCredential(USER, wrong))
    assert wrong not in str(err.value) and SECRET not in str(err.value)
    assert str(tmp_path) not in str(err.value)  # local paths are scrubbed too


class _Recorder:
    """Stands in for the module's `subprocess`: records each git call's argv and env, traces git's children."""

    def __init__(self, trace: Path) -> None:
        self.calls: list[tuple[list[str], dict[str, str]]] = []
        self.trace = trace
        real = subprocess

        def popen(argv, **kwargs):
            env = {**kwargs.pop("env"), "GIT_TRACE": str(trace)}  # git logs every command it runs
            self.calls.append((list(argv), env))
            return real.Popen(argv, env=env, **kwargs)

        self.module = types.SimpleNamespace(Popen=popen, PIPE=real.PIPE, DEVNULL=real.DEVNULL,
                                            TimeoutExpired=real.TimeoutExpired)


def test_the_secret_stays_out_of_argv_urls_config_and_traces(server, tmp_path, monkeypatch):
    url = server.create_repo("private", auth=(USER, SECRET))
    recorder = _Recorder(tmp_path / "git-trace.log")
    monkeypatch.setattr(git_workspace, "subprocess", recorder.module)
    ws = tmp_path / "ws"
    clone(url, ws, credential=GitCredential(USER, SECRET), depth=1)
    (ws / "new.txt").write_text("hello\n")
    pushed = commit_and_push(ws, branch="shoal/t", message="change", credential=GitCredential(USER, SECRET), **BOT)
    assert pushed and server.ref("private", "refs/heads/shoal/t") == pushed.commit

    assert all(SECRET not in arg for argv, _ in recorder.calls for arg in argv)
    trace = recorder.trace.read_text()
    assert "run_command" in trace and "SHOAL_GIT_PASSWORD" in trace  # the helper ran, by variable name
    assert SECRET not in trace
    # Only calls that talk to the remote carry it; the workspace's own git (agent-writable config) does not.
    with_secret = {subcommand(argv) for argv, env in recorder.calls if env.get("SHOAL_GIT_PASSWORD") == SECRET}
    without = {subcommand(argv) for argv, env in recorder.calls if "SHOAL_GIT_PASSWORD" not in env}
    assert {"ls-remote", "fetch", "push"} <= with_secret
    assert {"add", "commit-tree", "write-tree", "diff-tree"} <= without
    assert not with_secret & {"add", "commit-tree", "write-tree", "diff-tree"}

    assert SECRET not in (ws / ".git" / "config").read_text()
    assert git(ws, "remote", "get-url", "origin") == url
    assert files_containing(ws, SECRET) == []
    assert files_containing(server.root, SECRET) == []
    assert all(SECRET not in r.path + r.query for r in server.requests)
    assert all(r.authorization for r in server.requests if r.status == 200)


def test_the_credential_helper_is_scoped_to_the_remote_origin(server, tmp_path):
    # The helper config names the remote's origin and environment variables, nothing else.
    git_ = git_workspace._Git(credential=GitCredential(USER, SECRET), remote=server.repo_url("x"))
    argv = git_.argv(["fetch"])
    helper = [a for a in argv if ".helper=" in a and a != "credential.helper="]
    assert helper == [f"credential.{server.url}.helper={git_workspace._HELPER}"]
    assert "$SHOAL_GIT_PASSWORD" in helper[0] and SECRET not in " ".join(argv)
    assert repr(GitCredential(USER, SECRET)).count(SECRET) == 0


# -- commit and push --------------------------------------------------------------------------------

def test_commit_and_push_pushes_the_task_branch_with_the_changed_files(server, tmp_path):
    url = server.create_repo("app", auth=(USER, SECRET), files={"README.md": "old\n", "gone.txt": "x\n"})
    cred = GitCredential(USER, SECRET)
    ws = tmp_path / "ws"
    cloned = clone(url, ws, credential=cred, depth=1)
    (ws / "README.md").write_text("new\n")
    (ws / "gone.txt").unlink()
    (ws / "src").mkdir()
    (ws / "src" / "app.py").write_text("print('hi')\n")
    (ws / ".gitignore").write_text("*.log\n")
    (ws / "debug.log").write_text("ignored\n")
    # The workspace's hooks must not run: they are the repository's (or the agent's), not ours.
    for hook in ("pre-commit", "commit-msg", "post-commit", "pre-push"):
        path = ws / ".git" / "hooks" / hook
        path.write_text(f"#!/bin/sh\ntouch {tmp_path}/hook-ran-{hook}\n")
        path.chmod(0o755)

    branch = default_branch_name("fix-login-bug")
    result = commit_and_push(ws, branch=branch, message="Fix the login bug", credential=cred, **BOT)

    assert branch == "shoal/fix-login-bug"
    assert result is not None and result.branch == branch and result.base == cloned.head
    assert result.files == [".gitignore", "README.md", "gone.txt", "src/app.py"]
    assert server.ref("app", f"refs/heads/{branch}") == result.commit
    assert server.changed_files("app", result.commit) == result.files
    assert server.read("app", result.commit, "src/app.py") == "print('hi')\n"
    assert server.git("app", "log", "-1", "--format=%an <%ae>|%cn <%ce>|%P|%s", result.commit) == \
        f"shoal-bot <bot@shoal.dev>|shoal-bot <bot@shoal.dev>|{cloned.head}|Fix the login bug"
    assert server.ref("app", "refs/heads/main") == cloned.head  # main untouched
    assert list(tmp_path.glob("hook-ran-*")) == []
    assert git(ws, "rev-parse", "HEAD") == result.commit and git(ws, "status", "--porcelain") == ""


def test_the_agents_own_commits_are_pushed_too(server, tmp_path):
    url = server.create_repo("app")
    ws = tmp_path / "ws"
    cloned = clone(url, ws)
    (ws / "a.txt").write_text("by the agent\n")
    git(ws, "add", "a.txt")
    git(ws, "-c", "user.name=agent", "-c", "user.email=agent@x", "commit", "-qm", "agent commit")
    (ws / "b.txt").write_text("left for the bot\n")
    result = commit_and_push(ws, branch="shoal/t", message="bot commit", credential=None, **BOT)
    assert result and result.base == cloned.head and result.files == ["a.txt", "b.txt"]
    assert server.git("app", "log", "--format=%s", "main..shoal/t").splitlines() == ["bot commit", "agent commit"]


def test_a_workspace_config_the_agent_edited_never_sees_the_credential(server, tmp_path):
    url = server.create_repo("app", auth=(USER, SECRET))
    cred = GitCredential(USER, SECRET)
    ws = tmp_path / "ws"
    clone(url, ws, credential=cred)
    leak = tmp_path / "leak.txt"
    # Commands the workspace's config makes git run, and a rewrite of the remote: what an agent could plant.
    git(ws, "config", "filter.spy.clean", f"sh -c 'env >> {leak}; cat'")
    git(ws, "config", "credential.helper", f"!sh -c 'cat >> {leak}; env >> {leak}'")
    git(ws, "config", "url.http://169.254.169.254/.insteadOf", server.url)
    (ws / ".gitattributes").write_text("* filter=spy\n")
    (ws / "a.txt").write_text("a\n")
    result = commit_and_push(ws, branch="shoal/t", message="m", credential=cred, url=url, **BOT)
    assert result and server.ref("app", "refs/heads/shoal/t") == result.commit
    assert leak.exists() and "GIT_AUTHOR_NAME" in leak.read_text()  # the filter ran, without the credential
    assert SECRET not in leak.read_text() and "SHOAL_GIT_PASSWORD" not in leak.read_text()


def test_no_changes_means_none_and_nothing_pushed(server, tmp_path):
    url = server.create_repo("app")
    ws = tmp_path / "ws"
    clone(url, ws)
    (ws / "scratch.tmp").write_text("ignored\n")
    (ws / ".git" / "info" / "exclude").write_text("*.tmp\n")
    assert commit_and_push(ws, branch="shoal/t", message="nothing", credential=None, **BOT) is None
    assert server.branches("app") == ["main"]
    assert not [r for r in server.requests if "receive-pack" in r.path + r.query]


def test_a_rejected_push_raises_with_the_remotes_message(server, tmp_path):
    url = server.create_repo("app", auth=(USER, SECRET))
    server.reject_pushes_to("app", "main", message="main is protected")
    cred = GitCredential(USER, SECRET)
    ws = tmp_path / "ws"
    clone(url, ws, credential=cred)
    (ws / "README.md").write_text("direct to main\n")
    with pytest.raises(GitError) as err:
        commit_and_push(ws, branch="main", message="m", credential=cred, **BOT)
    message = str(err.value)
    assert message.startswith("push rejected: ! [remote rejected] HEAD -> main (pre-receive hook declined)")
    assert "main is protected" in message
    assert SECRET not in message and str(tmp_path) not in message
    assert server.ref("app", "refs/heads/main") != git(ws, "rev-parse", "HEAD")


def test_error_messages_are_scrubbed_of_the_secret_tokens_and_local_paths(server, tmp_path):
    url = server.create_repo("app", auth=(USER, SECRET))
    ws = tmp_path / "ws"
    # A remote that echoes things back: the credential, a token-shaped value, the pusher's path.
    server.reject_pushes_to("app", "main", message=f"bad {SECRET} ghp_abcdefgh12345678 from {ws}")
    cred = GitCredential(USER, SECRET)
    clone(url, ws, credential=cred)
    (ws / "a.txt").write_text("a\n")
    with pytest.raises(GitError) as err:
        commit_and_push(ws, branch="main", message="m", credential=cred, **BOT)
    assert str(err.value).endswith("(remote: bad *** ghp_*** from <workspace>)")


def test_push_url_is_rechecked_so_an_edited_origin_cannot_redirect_the_credential(server, tmp_path):
    url = server.create_repo("app")
    ws = tmp_path / "ws"
    clone(url, ws)
    git(ws, "remote", "set-url", "origin", "http://169.254.169.254/steal.git")
    (ws / "a.txt").write_text("a\n")
    with pytest.raises(Invalid, match="spec.workspace.gitRepo"):
        commit_and_push(ws, branch="shoal/t", message="m", credential=GitCredential(USER, SECRET), **BOT)
    # Given the URL it cloned from, the push goes there whatever origin says.
    result = commit_and_push(ws, branch="shoal/t", message="m", credential=None, url=url, **BOT)
    assert result and server.ref("app", "refs/heads/shoal/t") == result.commit


@pytest.mark.parametrize("branch", ["-f", "a..b", "x y", "bad~1", "ends/"])
def test_invalid_branch_names_are_refused(tmp_path, branch):
    with pytest.raises(Invalid, match="invalid git branch name"):
        commit_and_push(tmp_path, branch=branch, message="m", credential=None, **BOT)


# -- URL policy -------------------------------------------------------------------------------------

@pytest.fixture
def public_dns(monkeypatch):
    """Names resolve without the network: localhost and *.internal.example inward, others to a public address."""
    import shared.net.outbound as outbound

    def getaddrinfo(host, port, *args, **kwargs):
        ip = {"localhost": "127.0.0.1"}.get(host) or ("10.0.0.7" if host.endswith("internal.example") else
                                                      "140.82.112.3")
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (ip, port))]

    monkeypatch.setattr(outbound.socket, "getaddrinfo", getaddrinfo)


@pytest.mark.parametrize("url", [
    "https://github.com/org/repo.git", "https://github.com/org/repo", "git@github.com:org/repo.git",
    "ssh://git@github.com/org/repo.git", "ssh://git@github.com:2222/org/repo.git", "github.com:org/repo"])
def test_public_https_and_ssh_remotes_are_accepted(public_dns, url):
    check_git_url(url)


@pytest.mark.parametrize("url", ["https://x-access-token:ghp_abcdefghijklmnop@github.com/org/repo.git",
                                 "https://ghp_abcdefghijklmnop@github.com/org/repo.git",
                                 "ssh://git:hunter2@github.com/org/repo.git"])
def test_credentials_in_the_url_are_refused_without_echoing_them(public_dns, url):
    with pytest.raises(Invalid) as err:
        check_git_url(url)
    assert err.value.status == 400
    assert err.value.message == ("invalid spec.workspace.gitRepo: must not contain credentials; put the token in "
                                 "a Secret and name it in gitSecretRef")
    assert "ghp_" not in err.value.message and "hunter2" not in err.value.message


@pytest.mark.parametrize("url", [
    "file:///srv/repo.git", "/srv/repo.git", "./repo", "../repo", "~/repo", "ext::sh -c touch% /tmp/pwned",
    "ext::sh", "https::https://github.com/org/repo", "git://github.com/org/repo.git", "ftp://github.com/r",
    "http://github.com/org/repo.git", "http://127.0.0.1:9418/repo.git", "https://127.0.0.1/repo.git",
    "https://localhost/repo.git", "https://[::1]/repo.git", "https://169.254.169.254/latest/meta-data",
    "git@169.254.169.254:org/repo.git", "ssh://git@10.0.0.1/org/repo.git", "https://metadata.google.internal/r",
    "https://git.internal.example/org/repo.git", "git@git.internal.example:org/repo.git",
    "ssh://-oProxyCommand=touch%20x/repo", "-oProxyCommand=x:repo", "https://github.com/org/repo\nhost=evil",
    "https://github.com/org/re po", "", "https://:443/x"])
def test_local_odd_or_internal_remotes_are_refused(public_dns, url):
    with pytest.raises(Invalid) as err:
        check_git_url(url)
    assert err.value.message.startswith("invalid spec.workspace.gitRepo: ")


def test_loopback_http_is_accepted_only_when_allowed(server, monkeypatch):
    from shared.config import reset_settings

    url = server.repo_url("app")
    check_git_url(url)  # the fixture allows 127.0.0.1
    check_git_url(url.replace("http://", "https://"))
    monkeypatch.setenv("SHOAL_OUTBOUND_ALLOW", "")
    reset_settings()
    with pytest.raises(Invalid, match="must use https"):
        check_git_url(url)
    with pytest.raises(Invalid, match="127.0.0.1"):
        check_git_url(url.replace("http://", "https://"))


# -- redaction and credentials ----------------------------------------------------------------------

def test_redact_hides_credential_shaped_values():
    text = ("fatal: unable to access 'https://x-access-token:tok123secret@github.com/o/r.git/'\n"
            "remote: https://ghp_AAAABBBBCCCCDDDD1234@github.com\n"
            "token ghp_0123456789abcdefghij and github_pat_11ABCDEFG_xyz and gho_abcdef123456\n"
            "> Authorization: Bearer eyJhbGciOi.payload.sig\n> authorization: Basic eC1hY2Nlc3M6c2VjcmV0\n"
            "password=hunter2-secret\n")
    out = redact(text)
    for secret in ("tok123secret", "ghp_AAAABBBBCCCCDDDD1234", "ghp_0123456789abcdefghij", "github_pat_11ABCDEFG_xyz",
                   "gho_abcdef123456", "eyJhbGciOi.payload.sig", "eC1hY2Nlc3M6c2VjcmV0", "hunter2-secret"):
        assert secret not in out, secret
    assert "https://***@github.com/o/r.git/" in out and "Authorization: Bearer ***" in out
    assert redact("Cloning into 'repo'... done.") == "Cloning into 'repo'... done."


def test_credential_from_secret_takes_the_spec_keys_in_order():
    assert credential_from_secret({"token": " t1\n", "password": "p", "GITHUB_TOKEN": "g"}) == GitCredential(USER, "t1")
    assert credential_from_secret({"token": "", "password": "p"}) == GitCredential(USER, "p")
    assert credential_from_secret({"GITHUB_TOKEN": "g"}) == GitCredential(USER, "g")
    assert credential_from_secret({"username": "octocat", "password": "p"}) == GitCredential("octocat", "p")
    with pytest.raises(Invalid, match="token, password or GITHUB_TOKEN"):
        credential_from_secret({"username": "octocat", "ssh-privatekey": "..."})
    with pytest.raises(Invalid, match="line breaks"):
        GitCredential(USER, "a\nhost=evil")
