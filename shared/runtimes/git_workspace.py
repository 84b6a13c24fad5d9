"""A coding-agent task's git side: clone the task's repository, then commit and push its changes.

Runs the `git` CLI. The credential (from the Task's gitSecretRef) lives only in the environment of
the git processes that talk to the remote, read back by a credential helper whose config names
environment variables only: never in argv, the remote URL, `.git/config`, logs or an error message.
Every call runs with no system/global config, no prompts, no repository hooks and a timeout.

The workspace's own `.git/config` is the agent's to change while the task runs (a configured
command such as core.fsmonitor would see the environment), so commit_and_push does its local work
without the credential and pushes from a fresh repository that borrows the workspace's objects.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from shared.errors import Invalid
from shared.models.worker_contract import GIT_CREDENTIAL_ENV
from shared.runtimes.git_urls import check_git_url, redact

__all__ = ["CloneResult", "GitCredential", "GitError", "PushResult", "check_git_url", "clone",
           "commit_and_push", "credential_from_secret", "default_branch_name", "redact"]

NETWORK_TIMEOUT = 300.0  # seconds for a call that talks to the remote
LOCAL_TIMEOUT = 60.0
DEFAULT_USERNAME = "x-access-token"  # what GitHub expects beside an installation or personal token
SECRET_KEYS = ("token", "password", "GITHUB_TOKEN")  # the spec's gitSecretRef keys, in that order
BASE_REF = "refs/shoal/base"  # the commit the clone checked out: what a push is based on

# git runs `!cmd` as `sh -c 'cmd "$@"' cmd get|store|erase`; answer `get` from the environment.
# printf, not echo: dash's echo would interpret backslashes in the token.
_HELPER = ('!f() { test "$1" = get || exit 0; '
           'printf "username=%s\\npassword=%s\\n" "$SHOAL_GIT_USERNAME" "$SHOAL_GIT_PASSWORD"; }; f')
_SAFE_CONFIG = (
    "protocol.file.allow=never",  # no local repositories, also not through submodules or alternates
    "protocol.ext.allow=never",
    "core.hooksPath=/dev/null",  # a repository's hooks are not ours to run
    "core.fsmonitor=false",
    "http.followRedirects=false",  # a redirect would skip the URL check and carry the credential on
    "credential.helper=",  # start from no helper; ours is added per remote
    "init.defaultBranch=main",
)
_PASSTHROUGH = ("PATH", "SSL_CERT_FILE", "SSL_CERT_DIR", "GIT_SSL_CAINFO", "HTTPS_PROXY", "https_proxy",
                "HTTP_PROXY", "http_proxy", "NO_PROXY", "no_proxy")
_SHA = re.compile(r"[0-9a-f]{40}")
_AUTH_FAILURE = ("could not read Username", "could not read Password", "Authentication failed",
                 "The requested URL returned error: 401", "The requested URL returned error: 403")


class GitError(Exception):
    """A git operation failed; the message is redacted and safe to show in a task's status."""


@dataclass(frozen=True)
class GitCredential:
    username: str
    password: str = field(repr=False)

    def __post_init__(self) -> None:
        # Line-based helper protocol: a newline would let the value smuggle in other attributes.
        if any(c in value for value in (self.username, self.password) for c in "\n\r\0"):
            raise Invalid("git credential must not contain line breaks or NUL")


@dataclass(frozen=True)
class CloneResult:
    head: str  # full SHA checked out
    ref: str | None  # the remote ref checked out (refs/heads/…, refs/tags/…, refs/pull/…); None for a SHA
    branch: str | None  # the local branch, when the ref was a branch


@dataclass(frozen=True)
class PushResult:
    branch: str
    commit: str  # full SHA now at refs/heads/<branch> on the remote
    files: list[str]  # paths changed since `base`, sorted
    base: str  # the SHA the clone checked out


def credential_from_secret(data: dict[str, str]) -> GitCredential:
    """The credential in a gitSecretRef Secret's data: `token`, `password` or `GITHUB_TOKEN` (+ `username`)."""
    for key in SECRET_KEYS:
        value = (data.get(key) or "").strip()
        if value:
            username = (data.get("username") or "").strip() or DEFAULT_USERNAME
            return GitCredential(username, value)
    raise Invalid("git secret has no non-empty token, password or GITHUB_TOKEN key")


def credential_from_env(environ: dict[str, str] | None = None) -> GitCredential | None:
    """The credential the executor handed the worker (`shared.catalog.git_credentials`), or None."""
    environ = os.environ if environ is None else environ
    data = {key: environ.get(env, "") for key, env in GIT_CREDENTIAL_ENV.items()}
    if not any(data.get(key, "").strip() for key in SECRET_KEYS):
        return None
    return credential_from_secret(data)


def split_credentials(url: str) -> tuple[str, GitCredential | None]:
    """`https://user:token@host/…` → (`https://host/…`, its credential); other URLs unchanged, None."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url) if "://" in url else None
    if parts is None or parts.scheme not in ("http", "https") or not (parts.username or parts.password):
        return url, None
    from urllib.parse import unquote

    user, secret = unquote(parts.username or ""), unquote(parts.password or "")
    credential = GitCredential(user or DEFAULT_USERNAME, secret) if secret else GitCredential(DEFAULT_USERNAME, user)
    netloc = parts.hostname + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment)), credential


def default_branch_name(task_name: str) -> str:
    return f"shoal/{task_name}"


def clone(url: str, dest: str | os.PathLike[str], *, ref: str | None = None, depth: int | None = None,
          credential: GitCredential | None = None, timeout: float = NETWORK_TIMEOUT) -> CloneResult:
    """Clone `url` into `dest` (absent or empty) at `ref`: a branch, tag, full SHA, `refs/…` name, or
    the remote's default branch when None. `depth` fetches just that many commits of it."""
    check_git_url(url)
    if depth is not None and depth < 1:
        raise Invalid("clone depth must be a positive number")
    dest = Path(dest).absolute()
    if dest.exists() and any(dest.iterdir()):
        raise GitError("clone destination is not empty")
    dest.mkdir(parents=True, exist_ok=True)
    try:
        return _clone(url, dest, ref, depth, credential, timeout)
    except BaseException:
        for child in dest.iterdir():  # a failed clone leaves the directory as it found it: empty
            shutil.rmtree(child) if child.is_dir() and not child.is_symlink() else child.unlink()
        raise


def _clone(url: str, dest: Path, ref: str | None, depth: int | None, credential: GitCredential | None,
           timeout: float) -> CloneResult:
    with _Git(credential=credential, remote=url, hide=[dest]) as git:
        git.run("init", "-q", str(dest), cwd=dest.parent, timeout=LOCAL_TIMEOUT)
        git.run("remote", "add", "origin", url, cwd=dest, timeout=LOCAL_TIMEOUT)
        full, target = _resolve_ref(git, dest, ref, timeout)
        branch = full.removeprefix("refs/heads/") if full and full.startswith("refs/heads/") else None
        if branch:
            refspec = f"+{full}:refs/remotes/origin/{branch}"
        elif full and full.startswith("refs/tags/"):
            refspec = f"+{full}:{full}"
        else:
            refspec = target
        depth_args = ["--depth", str(depth)] if depth else []
        git.run("fetch", "-q", "--no-tags", *depth_args, "origin", refspec, cwd=dest, timeout=timeout)
        if branch:  # a local branch tracking origin's, so a later plain `git push` goes where expected
            git.run("checkout", "-q", "-b", branch, "--track", f"refs/remotes/origin/{branch}", cwd=dest,
                    timeout=LOCAL_TIMEOUT)
        else:
            git.run("checkout", "-q", "--detach", "FETCH_HEAD", cwd=dest, timeout=LOCAL_TIMEOUT)
        head = git.run("rev-parse", "HEAD", cwd=dest, timeout=LOCAL_TIMEOUT).strip()
        git.run("update-ref", BASE_REF, head, cwd=dest, timeout=LOCAL_TIMEOUT)
    return CloneResult(head=head, ref=full, branch=branch)


def _resolve_ref(git: _Git, dest: Path, ref: str | None, timeout: float) -> tuple[str | None, str]:
    """(fully qualified remote ref or None for a SHA, what to fetch)."""
    if ref is None:
        out = git.run("ls-remote", "--symref", "origin", "HEAD", cwd=dest, timeout=timeout)
        for line in out.splitlines():
            if line.startswith("ref: ") and line.endswith("\tHEAD"):
                full = line[len("ref: "):-len("\tHEAD")]
                return full, full
        return None, "HEAD"  # a server that does not say which branch HEAD is
    _check_ref(ref)
    if _SHA.fullmatch(ref):
        return None, ref
    if ref.startswith("refs/"):
        return ref, ref
    candidates = [f"refs/heads/{ref}", f"refs/tags/{ref}"]  # git clone --branch prefers the branch too
    out = git.run("ls-remote", "origin", *candidates, cwd=dest, timeout=timeout)
    found = {line.split("\t", 1)[1] for line in out.splitlines() if "\t" in line}
    for candidate in candidates:
        if candidate in found:
            return candidate, candidate
    raise GitError(f"ref {ref!r} not found on the remote")


def commit_and_push(workdir: str | os.PathLike[str], *, branch: str, message: str, author_name: str,
                    author_email: str, credential: GitCredential | None, url: str | None = None,
                    timeout: float = NETWORK_TIMEOUT) -> PushResult | None:
    """Commit everything changed in `workdir` (as the bot) and push it to `refs/heads/<branch>`.

    None when nothing changed since the clone (nothing is pushed). `url` is where to push; pass the
    URL you cloned from, since the workspace's `origin` is agent-writable (it is re-checked either way).
    """
    _check_ref(branch, what="branch")
    work = Path(workdir).absolute()
    identity = {"GIT_AUTHOR_NAME": author_name, "GIT_AUTHOR_EMAIL": author_email,
                "GIT_COMMITTER_NAME": author_name, "GIT_COMMITTER_EMAIL": author_email}
    with _Git(hide=[work], extra_env=identity) as git:  # no credential in the workspace's git
        def run(*args: str) -> str:
            return git.run(*args, cwd=work, timeout=LOCAL_TIMEOUT).strip()

        run("add", "-A")  # honours .gitignore
        head = run("rev-parse", "--verify", "HEAD^{commit}")
        base = git.run("rev-parse", "--verify", "-q", f"{BASE_REF}^{{commit}}", cwd=work,
                       timeout=LOCAL_TIMEOUT, check=False).strip() or head
        tree = run("write-tree")
        if tree != run("rev-parse", f"{head}^{{tree}}"):
            # Plumbing, not `git commit`: no hooks, no signing, no editor, whatever the repo config says.
            commit = run("commit-tree", "--no-gpg-sign", tree, "-p", head, "-m", message)
            run("update-ref", "-m", "shoal: commit", "HEAD", commit, head)
            head = commit
        if head == base:
            return None
        files = sorted(p for p in run("diff-tree", "-r", "-z", "--name-only", "--no-renames", base, head)
                       .split("\0") if p)
        # --git-path: right for linked worktrees too, whose objects live in the common directory.
        objects, shallow = (work / run("rev-parse", "--git-path", name) for name in ("objects", "shallow"))
        remote = url or run("config", "--get", "remote.origin.url")
    check_git_url(remote)
    _push(objects, shallow, head, branch, remote, credential, timeout, hide=work)
    return PushResult(branch=branch, commit=head, files=files, base=base)


def _push(objects: Path, shallow: Path, commit: str, branch: str, remote: str, credential: GitCredential | None,
          timeout: float, *, hide: Path) -> None:
    """Push `commit` from a fresh bare repository whose config is ours and whose objects are the workspace's."""
    with tempfile.TemporaryDirectory(prefix="shoal-push-") as tmp, \
            _Git(credential=credential, remote=remote, hide=[hide, Path(tmp)]) as git:
        git.run("init", "-q", "--bare", tmp, cwd=tmp, timeout=LOCAL_TIMEOUT)
        (Path(tmp) / "objects" / "info" / "alternates").write_text(f"{objects}\n")
        if shallow.is_file():  # a shallow clone's history ends there; without this git walks off its edge
            (Path(tmp) / "shallow").write_text(shallow.read_text())
        git.run("update-ref", "--no-deref", "HEAD", commit, cwd=tmp, timeout=LOCAL_TIMEOUT)
        result = git.run_full("push", "--no-verify", remote, f"HEAD:refs/heads/{branch}", cwd=tmp, timeout=timeout)
        if result.returncode != 0:
            raise GitError(_push_failure(git, result.stderr))


def _push_failure(git: _Git, stderr: str) -> str:
    lines = [line.strip() for line in git.scrub(stderr).splitlines()]
    rejected = [line for line in lines if line.startswith("! ")]
    if not rejected:
        return _failure(git, "push", stderr)
    said = [line.removeprefix("remote:").strip() for line in lines if line.startswith("remote:")]
    said = [line for line in said if line]
    return "push rejected: " + "; ".join(rejected) + (f" (remote: {'; '.join(said)})" if said else "")


def _failure(git: _Git, verb: str, stderr: str) -> str:
    lines = [line.strip() for line in git.scrub(stderr).splitlines()]
    lines = [line for line in lines if line and not line.startswith("hint:")]
    detail = "; ".join(lines[-3:]) or "no output"
    if any(marker in stderr for marker in _AUTH_FAILURE):
        return f"git {verb} failed: authentication required or refused (check gitSecretRef): {detail}"
    return f"git {verb} failed: {detail}"


def _check_ref(ref: str, *, what: str = "ref") -> None:
    # git check-ref-format's rules, enough of them that no value can read as an option or a revision range.
    bad = (not ref or ref.startswith("-") or ".." in ref or "@{" in ref or "//" in ref
           or ref.endswith(("/", ".", ".lock")) or any(c.isspace() or ord(c) < 0x20 or c in "~^:?*[\\\x7f" for c in ref))
    if bad:
        raise Invalid(f"invalid git {what} name")


@dataclass
class _Completed:
    returncode: int
    stdout: str
    stderr: str


class _Git:
    """Runs git with the hardened config and environment; scrubs its text of secrets and local paths."""

    def __init__(self, *, credential: GitCredential | None = None, remote: str | None = None,
                 hide: Iterable[Path] = (), extra_env: dict[str, str] | None = None) -> None:
        self._config = list(_SAFE_CONFIG)
        self._secrets = [credential.password] if credential else []
        self._hide = sorted((str(p) for p in hide), key=len, reverse=True)
        self._env = {k: os.environ[k] for k in _PASSTHROUGH if k in os.environ}
        self._env.setdefault("PATH", "/usr/bin:/bin")
        self._env.update({"LC_ALL": "C", "GIT_TERMINAL_PROMPT": "0", "GIT_CONFIG_NOSYSTEM": "1",
                          "GIT_CONFIG_GLOBAL": "/dev/null", "GIT_SSH_COMMAND": "ssh -o BatchMode=yes",
                          **(extra_env or {})})
        if credential and remote:
            parts = urlsplit(remote)
            if parts.scheme in ("http", "https"):
                # Scoped to the remote's origin: git asks no other host for it.
                self._config.append(f"credential.{parts.scheme}://{parts.netloc}.helper={_HELPER}")
                self._env.update({"SHOAL_GIT_USERNAME": credential.username,
                                  "SHOAL_GIT_PASSWORD": credential.password})
        self._home: tempfile.TemporaryDirectory[str] | None = None

    def __enter__(self) -> _Git:
        self._home = tempfile.TemporaryDirectory(prefix="shoal-git-home-")
        self._env["HOME"] = self._home.name  # nothing of the worker's own ~/.gitconfig or ~/.ssh
        return self

    def __exit__(self, *exc: object) -> None:
        if self._home:
            self._home.cleanup()

    def argv(self, args: Sequence[str]) -> list[str]:
        return ["git", *(x for item in self._config for x in ("-c", item)), *args]

    def run(self, *args: str, cwd: Path | str, timeout: float, check: bool = True) -> str:
        """git's stdout; GitError (scrubbed) when it fails, unless check=False."""
        result = self.run_full(*args, cwd=cwd, timeout=timeout)
        if check and result.returncode != 0:
            raise GitError(_failure(self, args[0], result.stderr))
        return result.stdout

    def run_full(self, *args: str, cwd: Path | str, timeout: float) -> _Completed:
        try:
            proc = subprocess.Popen(self.argv(args), cwd=cwd, env=self._env, stdin=subprocess.DEVNULL,
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
        except OSError as e:
            raise GitError(f"git could not start: {e.strerror}") from None
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)  # its own session: remote helpers and ssh go too
            proc.communicate()
            raise GitError(f"git {args[0]} timed out after {timeout:g}s") from None
        return _Completed(proc.returncode, out.decode(errors="replace"), err.decode(errors="replace"))

    def scrub(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "***")
        for path in self._hide:
            text = text.replace(path, "<workspace>")
        return redact(text)
