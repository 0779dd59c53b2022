"""Helpers for the rotation tests: AWS connections backed by moto IAM users, Vault AppRoles."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest

from aptui.store import connections as store_conn

ALL_ACTIONS = ["secretsmanager:*", "iam:*", "sts:*"]


@dataclass
class AwsConn:
    name: str
    id: str
    user: str
    key_id: str
    secret: str


@pytest.fixture
def aws_conn(ctx, moto_aws):
    """``make(name, actions)``: an IAM user with one key, stored as connection ``name``."""

    def make(name: str = "prod-aws", actions: list[str] | None = None, user: str | None = None) -> AwsConn:
        user = user or f"svc-{name}"
        key_id, secret = moto_aws.iam_user(user, actions or ALL_ACTIONS)
        conn = store_conn.create(ctx.store, provider_id="aws", name=name,
                                 config=moto_aws.config(key_id, secret), tested_ok=True)
        return AwsConn(name, conn.id, user, key_id, secret)

    return make


def iam_keys(moto_aws, user: str) -> dict[str, str]:
    """``{key id: status}`` of an IAM user, read with moto's admin credentials."""
    iam = moto_aws.client("iam")
    return {k["AccessKeyId"]: k["Status"] for k in iam.list_access_keys(UserName=user)["AccessKeyMetadata"]}


def admin_user(moto_aws) -> tuple[str, str]:
    """An IAM admin that still works after ``enforce_auth()``."""
    return moto_aws.iam_user("moto-admin", ["*"])


def stored_config(ctx, name: str) -> dict[str, str]:
    return store_conn.auth(ctx.store, store_conn.by_name(ctx.store, name))


@pytest.fixture
def vault_conn(ctx, vault_double):
    """``make(name, **approle kwargs)``: a Vault AppRole stored as connection ``name``."""

    def make(name: str = "vault-pay", role: str = "app", **kwargs):
        role_id, secret_id = vault_double.add_approle(role, **kwargs)
        conn = store_conn.create(ctx.store, provider_id="hashicorp", name=name,
                                 config=vault_double.config(role_id, secret_id), tested_ok=True)
        return conn, role_id, secret_id

    return make


def dump(obj) -> str:
    return json.dumps(obj, default=str)


@pytest.fixture
def cli_inproc(aptui_home, capsys):
    """``aptui ARGS`` in this process (for input-validation paths: no interpreter start-up).
    Returns the same ``CliResult`` as ``run_cli``; stdin is not a terminal, as in a pipe."""
    from aptui.cli import main
    from tests.conftest import CliResult

    def run(*args: str) -> CliResult:
        capsys.readouterr()
        try:
            main(list(args))
            code = 0
        except SystemExit as exc:
            code = int(exc.code or 0)
        out, err = capsys.readouterr()
        return CliResult(code, out, err)

    return run
