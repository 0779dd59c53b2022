"""A leaked-credential scene for the incident tests and ``benchmarks/runbook.py``.

An AWS connection ``prod-aws`` (a moto IAM user's key; the platform knows a connection of the same
name, seeded from the fixtures), a profile on the Activepieces double, failed runs in both seeded
projects (some recent, one too old, one that succeeded), a config file that references the
connection, a cached value, and canary values that must never show up in an export.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

CANARY_VALUE = "canary-slack-token-never-export-0001"
PROJECTS = ("prj8Kq2LmN4pQ7rS9tUv1", "prj2Ab3Cd4Ef5Gh6Ij7Kl")


@dataclass
class Scene:
    connection_id: str
    user: str
    key_id: str
    secret_key: str
    refs_dir: Path
    recent_runs: list[str] = field(default_factory=list)
    other_runs: list[str] = field(default_factory=list)

    def canaries(self) -> list[str]:
        return [CANARY_VALUE, self.secret_key]


def stamp(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def build(ctx: Any, moto_aws: Any, activepieces: Any, tmp: Path, *, profile: bool = True,
          runs_per_project: tuple[int, int] = (3, 2)) -> Scene:
    from aptui.masking import Secret
    from aptui.store import connections as store_conn
    from aptui.store import profiles as store_profiles
    from aptui.store.cache import cache_for

    key_id, secret = moto_aws.iam_user("svc-activepieces", ["secretsmanager:*", "iam:*", "sts:*"])
    moto_aws.create_secret("prod/slack", {"token": CANARY_VALUE})
    conn = store_conn.create(ctx.store, provider_id="aws", name="prod-aws", config=moto_aws.config(key_id, secret),
                             tested_ok=True)
    cache_for(ctx.store).put(conn.id, "prod/slack:token", CANARY_VALUE, 300)
    cache_for(ctx.store).flush()
    refs = tmp / "flows"
    refs.mkdir(parents=True, exist_ok=True)
    (refs / "slack.json").write_text(json.dumps({
        "auth": {"token": "{{" + conn.id + "|ap_sep_v1|prod/slack:token}}"},
        "other": "{{someOtherConn0000001|ap_sep_v1|x/y:z}}"}, indent=2))
    (refs / ".env").write_text("SLACK_TOKEN={{" + conn.id + "|ap_sep_v1|prod/slack:token}}\n")
    scene = Scene(conn.id, "svc-activepieces", key_id, secret, refs)
    if profile:
        store_profiles.create(ctx.store, "prod", activepieces.url, api_key=Secret(activepieces.api_key),
                              default_project=PROJECTS[0], make_default=True)
        from tests.doubles.activepieces import store_session

        store_session(ctx.store, "prod", activepieces.session_token())  # the platform's secret managers need it
    now = datetime.now(UTC)
    for project, n in zip(PROJECTS, runs_per_project, strict=True):
        for i in range(n):
            run = activepieces.add_run(project_id=project, created=stamp(now - timedelta(minutes=30 + i)),
                                       status="FAILED" if i % 2 == 0 else "TIMEOUT")
            scene.recent_runs.append(run["id"])
    scene.other_runs.append(activepieces.add_run(project_id=PROJECTS[0], created=stamp(now - timedelta(days=3)))["id"])
    scene.other_runs.append(activepieces.add_run(project_id=PROJECTS[0], status="SUCCEEDED",
                                                 created=stamp(now - timedelta(minutes=10)))["id"])
    return scene
