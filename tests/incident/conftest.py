"""The incident scene fixture (see ``tests/incident/scenario.py``)."""

from __future__ import annotations

import pytest

from tests.incident import scenario
from tests.rotation.conftest import aws_conn, cli_inproc  # noqa: F401  (shared fixtures)


@pytest.fixture
def scene(ctx, moto_aws, activepieces, tmp_path):
    return scenario.build(ctx, moto_aws, activepieces, tmp_path)


@pytest.fixture
def yes():
    return lambda step, text: True
