"""Helpers for the tests against the real OpenBao server (``tests/doubles/openbao.py``).

- ``bao_role(name, **kwargs)``: a fresh AppRole (unique per test) with the Activepieces policy;
- ``bao_conn(name, role=None, url=None)``: that role stored as an aptui connection (no live test);
- ``rotation_policy(role)``: the Activepieces policy plus what secret-id rotation needs, for ``role``.
"""

from __future__ import annotations

import re

import pytest

from aptui.store import connections as store_conn
from tests.doubles.openbao import ACTIVEPIECES_POLICY, ROTATION_POLICY


@pytest.fixture
def bao_role(openbao, request):
    base = re.sub(r"[^a-z0-9-]", "-", request.node.name.lower())[:40].strip("-")
    made = []

    def make(suffix: str = "", **kwargs):
        name = f"{base}{'-' + suffix if suffix else ''}"
        made.append(name)
        return openbao.approle(name, **kwargs)

    return make


@pytest.fixture
def bao_conn(ctx, openbao, bao_role):
    def make(name: str = "vault-bao", role=None, *, url: str | None = None, **role_kwargs):
        role = role or bao_role(name, **role_kwargs)
        conn = store_conn.create(ctx.store, provider_id="hashicorp", name=name,
                                 config=openbao.config(role, url=url), tested_ok=True)
        return conn, role

    return make


@pytest.fixture
def rotation_policy(openbao):
    def make(role: str, *, namespace: str = "") -> str:
        name = f"rotate-{role}"
        openbao.write_policy(name, ACTIVEPIECES_POLICY + ROTATION_POLICY.replace("{role}", role), namespace=namespace)
        return name

    return make
