"""Checks on the env file itself: its mode, whether git tracks it, and whether it repeats the
secrets aptui keeps in its own encrypted store (compared by keyed hash, named by owner only)."""

from __future__ import annotations

import hmac
import os
import secrets
import shutil
import stat
import subprocess
from dataclasses import dataclass
from hashlib import sha256
from pathlib import Path

from aptui.errors import AptuiError
from aptui.services.hardening.envfile import EnvFile
from aptui.services.hardening.findings import Finding, ok, problem

GIT_TIMEOUT = 10.0
MIN_COMPARED = 8  # shorter values (ports, flags) are not compared


def check_mode(path: Path) -> Finding:
    """Group/world-readable (or writable) env files hold every platform secret in clear."""
    loc = str(path)
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except OSError as exc:
        return problem("file.mode", "low", "File mode unknown", f"cannot stat ({exc.strerror})",
                       "check the file's owner and mode", location=loc)
    shown = f"mode {mode:04o}"
    fix = f"chmod 600 {path} (owned by the user that runs docker compose)"
    if mode & (stat.S_IROTH | stat.S_IWOTH):
        what = "world-readable" if mode & stat.S_IROTH else "world-writable"
        return problem("file.mode", "high", f"Env file is {what}", f"{shown} ({what})", fix, location=loc)
    if mode & (stat.S_IRGRP | stat.S_IWGRP):
        what = "group-readable" if mode & stat.S_IRGRP else "group-writable"
        return problem("file.mode", "medium", f"Env file is {what}", f"{shown} ({what})", fix, location=loc)
    return ok("file.mode", "Env file is private to its owner", shown, severity="high", location=loc)


@dataclass
class GitState:
    state: str  # tracked | history | ignored | untracked | no-repo | unavailable
    detail: str = ""


def _git(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    git = shutil.which("git")
    if git is None:
        raise FileNotFoundError("git")
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C", "GIT_OPTIONAL_LOCKS": "0"}
    return subprocess.run([git, "-C", str(cwd), *args], capture_output=True, text=True, timeout=GIT_TIMEOUT,
                          env=env, stdin=subprocess.DEVNULL)


def git_state(path: Path) -> GitState:
    """Whether git tracks ``path`` (in its own directory's repository), or did in the past."""
    directory, name = path.parent, path.name
    try:
        r = _git(["ls-files", "--error-unmatch", "--", name], directory)
        if r.returncode == 0:
            return GitState("tracked")
        err = r.stderr.lower()
        if "not a git repository" in err:
            return GitState("no-repo")
        if "dubious ownership" in err:
            return GitState("unavailable", "git refuses the repository (dubious ownership; see safe.directory)")
        if "did not match" not in err:
            return GitState("unavailable", f"git ls-files failed (exit {r.returncode})")
        h = _git(["log", "--all", "--format=%h", "-1", "--", name], directory)
        if h.returncode == 0 and h.stdout.strip():
            return GitState("history", h.stdout.strip())
        ig = _git(["check-ignore", "-q", "--", name], directory)
        return GitState("ignored" if ig.returncode == 0 else "untracked")
    except FileNotFoundError:
        return GitState("unavailable", "git is not installed")
    except subprocess.TimeoutExpired:
        return GitState("unavailable", f"git did not answer within {GIT_TIMEOUT:.0f}s")
    except OSError as exc:
        return GitState("unavailable", f"git could not run ({exc.strerror})")


def check_git(path: Path) -> Finding | None:
    """None when git cannot tell (the caller records a skip)."""
    st = git_state(path)
    loc = str(path)
    if st.state == "tracked":
        return problem("file.git", "high", "Env file is tracked by git",
                       "tracked in the repository of its directory: every clone and push carries the secrets",
                       f"git rm --cached {path.name}, add it to .gitignore, and rotate every secret it held",
                       location=loc)
    if st.state == "history":
        return problem("file.git", "high", "Env file is in the git history",
                       f"not tracked now, but committed before (commit {st.detail})",
                       "rotate every secret it held; purge it from history (git filter-repo) if the repo is shared",
                       location=loc)
    if st.state == "untracked":
        return problem("file.git", "low", "Env file is not ignored by git",
                       "untracked but not in .gitignore: one `git add .` away from being committed",
                       f"add {path.name} to .gitignore", location=loc)
    if st.state == "ignored":
        return ok("file.git", "Env file is ignored by git", "untracked and listed in .gitignore",
                  severity="high", location=loc)
    if st.state == "no-repo":
        return ok("file.git", "Env file is not in a git repository", "its directory is not a git work tree",
                  severity="high", location=loc)
    return None


@dataclass(frozen=True)
class StoredSecret:
    """A keyed digest of one secret aptui holds, and whose it is (names only)."""

    owner: str
    digest: bytes


class SecretIndex:
    """Digests of the local store's secrets under a random per-run key; the values are not kept."""

    def __init__(self) -> None:
        self._key = secrets.token_bytes(32)
        self.items: list[StoredSecret] = []

    def digest(self, value: str) -> bytes:
        return hmac.new(self._key, value.encode("utf-8"), sha256).digest()

    def add(self, owner: str, value: str) -> None:
        if isinstance(value, str) and len(value) >= MIN_COMPARED:
            self.items.append(StoredSecret(owner, self.digest(value)))

    def matches(self, value: str) -> list[str]:
        if len(value) < MIN_COMPARED:
            return []
        d = self.digest(value)
        found = []
        for item in self.items:  # compare every item: time does not depend on where a match is
            if hmac.compare_digest(d, item.digest):
                found.append(item.owner)
        return found


def store_secret_index(ctx) -> tuple[SecretIndex | None, str | None]:
    """Digests of every secret field of local secret-manager connections and profiles' API keys.

    Returns (index, None) or (None, reason-to-skip). Never opens (creates) a store that does not exist.
    """
    from aptui.providers.fields import PROVIDERS
    from aptui.store import connections, profiles

    if ctx is None:
        return None, "no local context"
    if not ctx.store_exists:
        return None, "no local aptui store yet"
    try:
        store = ctx.store
        index = SecretIndex()
        for conn in connections.list_all(store):
            auth = connections.auth(store, conn)
            spec = PROVIDERS.get(conn.provider_id)
            names = [f.name for f in spec.secret_fields] if spec else list(auth)
            for field_name in names:
                value = auth.get(field_name)
                if value:
                    index.add(f"secret-manager connection '{conn.name}' ({field_name})", value)
        for profile in profiles.list_all(store):
            key = profiles.api_key(store, profile) if profile.has_key else None
            if key:
                index.add(f"profile '{profile.name}' (API key)", key.reveal())
        return index, None
    except AptuiError as err:
        return None, f"local store not readable ({err.code})"


def check_store_secrets(env: EnvFile, index: SecretIndex) -> Finding:
    hits: list[str] = []
    for e in env.entries:
        owners = sorted(set(index.matches(e.value)) | set(index.matches(e.raw)))
        for owner in owners:
            hits.append(f"{e.key} equals the secret of {owner}")
    if hits:
        return problem("file.store_secrets", "high", "Env file repeats a secret aptui keeps encrypted",
                       "; ".join(hits),
                       "remove it from the env file (reference it from the secret manager instead) and rotate it "
                       "if the file was ever shared", location=env.label)
    return ok("file.store_secrets", "Env file repeats none of aptui's stored secrets",
              f"{len(env.entries)} value(s) compared with {len(index.items)} stored secret(s) by keyed hash",
              severity="high", location=env.label)
