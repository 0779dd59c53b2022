"""Env file mode, git tracking (real git repositories in tmp), and store-secret matching."""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess

import pytest

from aptui.masking import Secret
from aptui.services.hardening import file_checks
from aptui.services.hardening.envfile import load_env_file

needs_git = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
GIT_ENV = {"GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_SYSTEM": os.devnull, "GIT_AUTHOR_NAME": "t",
           "GIT_AUTHOR_EMAIL": "t@example.org", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.org"}


def git(repo, *args):
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True,
                   env={**os.environ, **GIT_ENV})


@pytest.fixture
def env_path(tmp_path):
    p = tmp_path / "deploy" / ".env"
    p.parent.mkdir()
    p.write_text("AP_JWT_SECRET=abc\n")
    return p


@pytest.mark.parametrize("mode,status,severity", [
    (0o600, "ok", "high"), (0o400, "ok", "high"), (0o640, "open", "medium"), (0o620, "open", "medium"),
    (0o644, "open", "high"), (0o602, "open", "high"),
])
def test_mode(env_path, mode, status, severity):
    os.chmod(env_path, mode)
    f = file_checks.check_mode(env_path)
    assert (f.status, f.severity) == (status, severity)
    assert f"{mode:04o}" in f.evidence


@needs_git
def test_git_no_repo(env_path, monkeypatch):
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(env_path.parent.parent))
    f = file_checks.check_git(env_path)
    assert f.status == "ok" and "not a git work tree" in f.evidence


@needs_git
def test_git_tracked(env_path, monkeypatch):
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", os.devnull)
    repo = env_path.parent
    git(repo, "init", "-q")
    git(repo, "add", ".env")
    f = file_checks.check_git(env_path)
    assert f.is_open and f.severity == "high" and "git rm --cached" in f.fix


@needs_git
def test_git_in_history(env_path, monkeypatch):
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", os.devnull)
    repo = env_path.parent
    git(repo, "init", "-q")
    git(repo, "add", ".env")
    git(repo, "commit", "-q", "-m", "oops")
    git(repo, "rm", "-q", "--cached", ".env")
    git(repo, "commit", "-q", "-m", "untrack")
    f = file_checks.check_git(env_path)
    assert f.is_open and f.severity == "high" and "committed before" in f.evidence


@needs_git
def test_git_untracked_and_ignored(env_path, monkeypatch):
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", os.devnull)
    repo = env_path.parent
    git(repo, "init", "-q")
    f = file_checks.check_git(env_path)
    assert f.is_open and f.severity == "low"
    (repo / ".gitignore").write_text(".env\n")
    f = file_checks.check_git(env_path)
    assert f.status == "ok" and ".gitignore" in f.evidence


def test_git_missing_binary(env_path, monkeypatch):
    monkeypatch.setattr(file_checks.shutil, "which", lambda name: None)
    assert file_checks.check_git(env_path) is None
    assert file_checks.git_state(env_path).detail == "git is not installed"


# -- the store's own secrets -------------------------------------------------------------------------


def test_store_secrets_match_by_name_only(ctx, tmp_path):
    from aptui.store import connections, profiles

    aws_secret = secrets.token_urlsafe(30)
    connections.create(ctx.store, provider_id="aws", name="prod-aws",
                       config={"accessKeyId": "AKIA" + "TESTONLY00000001", "secretAccessKey": Secret(aws_secret),
                               "region": "us-east-1"})
    api_key = "sk-profilekey0123456789abcdefABCDEF"
    profiles.create(ctx.store, "prod", "https://ap.example.com", api_key=Secret(api_key))
    envf = tmp_path / "x.env"
    envf.write_text(f"AWS_SECRET_ACCESS_KEY={aws_secret}\nAP_API_KEY=\"{api_key}\"\nAWS_REGION=us-east-1\n")
    index, why = file_checks.store_secret_index(ctx)
    assert why is None and len(index.items) == 3  # two AWS secret fields + one API key
    f = file_checks.check_store_secrets(load_env_file(envf), index)
    assert f.is_open and f.severity == "high"
    assert "prod-aws" in f.evidence and "secretAccessKey" in f.evidence and "profile 'prod'" in f.evidence
    assert aws_secret not in f.evidence and api_key not in f.evidence and "us-east-1" not in f.evidence


def test_store_secrets_clean(ctx, tmp_path):
    from aptui.store import profiles

    profiles.create(ctx.store, "prod", "https://ap.example.com", api_key=Secret("sk-something-else-entirely-1234"))
    envf = tmp_path / "x.env"
    envf.write_text("AP_API_KEY=sk-another-key-value-5678\n")
    index, _ = file_checks.store_secret_index(ctx)
    f = file_checks.check_store_secrets(load_env_file(envf), index)
    assert f.status == "ok" and "1 stored secret" in f.evidence


def test_store_index_without_a_store_does_not_create_one(aptui_home):
    from aptui.services.context import Context

    c = Context()
    index, why = file_checks.store_secret_index(c)
    assert index is None and "no local aptui store" in why
    assert not c.paths.store_file.exists()
    assert file_checks.store_secret_index(None) == (None, "no local context")


def test_store_index_unreadable_store_is_a_skip(ctx, monkeypatch):
    from aptui.errors import store_error

    assert ctx.store is not None  # create it
    monkeypatch.setattr(type(ctx), "store", property(lambda self: (_ for _ in ()).throw(
        store_error("STORE_LOCKED", "locked"))))
    index, why = file_checks.store_secret_index(ctx)
    assert index is None and "STORE_LOCKED" in why


def test_short_values_are_not_compared():
    idx = file_checks.SecretIndex()
    idx.add("short", "1234567")
    assert idx.items == [] and idx.matches("1234567") == []
