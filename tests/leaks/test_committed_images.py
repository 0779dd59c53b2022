"""The SVGs committed to the repository (snapshot baselines, README screenshots) hold none of the
fake secret values of the scenes they were drawn from."""

from __future__ import annotations

import html

from tests.conftest import ROOT
from tests.doubles.aws_moto import ADMIN_KEY, ADMIN_SECRET
from tests.doubles.onepassword_fake import VALID_TOKEN
from tests.incident.scenario import CANARY_VALUE
from tests.leaks.canary import Scanner
from tests.tui.scenes import SLACK_TOKEN

# every fake secret a snapshot or screenshot scene stores (tests/tui/scenes.py, tests/rotation,
# tests/incident, scripts/screenshots.py), and the word every canary carries
FAKE_SECRETS = {
    "scene slack token": SLACK_TOKEN, "scene stripe key": "sk_test_demo_0000", "scene db password": "demo-pw",
    "scene vault value": "demo-vault-value", "scene vault secret id": "demo-secret-id",
    "scene conjur key": "demo-conjur-key", "rotation conjur key": "old-conjur-key-0001",
    "moto admin secret": ADMIN_SECRET, "moto admin key id": ADMIN_KEY, "1password token": VALID_TOKEN,
    "incident canary": CANARY_VALUE,
}


def committed_svgs() -> list:
    return sorted([*(ROOT / "tests").rglob("__snapshots__/**/*.svg"), *(ROOT / "screenshots").glob("*.svg")])


def test_committed_svgs_hold_no_fake_secret():
    from tests.leaks.canary import CanarySet

    scanner = Scanner(CanarySet())
    for name, value in FAKE_SECRETS.items():
        scanner.harvested[name] = value
    svgs = committed_svgs()
    assert len(svgs) >= 20, [str(p) for p in svgs]
    for path in svgs:
        text = path.read_text("utf-8")
        scanner.add(str(path.relative_to(ROOT)), text)
        scanner.add(f"{path.relative_to(ROOT)} (entities decoded)", html.unescape(text).replace("\xa0", " "))
    findings, _ = scanner.scan()
    assert not findings, "\n".join(map(str, findings))
