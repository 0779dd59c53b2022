"""The private pieces review: every rule and its clean counterpart, installed versions, bad input."""

from __future__ import annotations

import json
import shutil

import pytest

from aptui.errors import AptuiError
from aptui.services.hardening import to_markdown
from aptui.services.pieces_review import installed_findings, review_pieces, scan_line, scan_tree
from tests.hardening.conftest import FIXTURES

# Token-shaped canaries are assembled at run time so that no credential-looking literal sits in git.
CANARIES = {
    "aws": "AKIA" + "Q7TESTCANARY2X9Z",
    "openai": "sk-" + "proj-" + "Zx9canaryTOKENvalue0123456789abcd",
    "github": "ghp_" + "canary0123456789abcdefghijklmnopqrstuv",
    "slack": "xoxb-" + "1234567890-canary-token-value",
    "google": "AIza" + "SyCanaryValue0123456789abcdefghijkl",
}


@pytest.fixture
def tree(tmp_path):
    root = tmp_path / "custom"
    shutil.copytree(FIXTURES / "pieces", root)
    leak = root / "acme-crm" / "src" / "lib" / "keys.ts"
    leak.write_text("\n".join([
        f"export const AWS_KEY = '{CANARIES['aws']}';",
        f"const openai = \"{CANARIES['openai']}\";",
        f"const gh = `{CANARIES['github']}`;",
        f"const slack = '{CANARIES['slack']}';",
        f"const g = '{CANARIES['google']}';",
        "const db = 'postgres://admin:" + "s3cr3tCanaryPw" + "@db.acme.net/crm';",
        "const headers = { Authorization: 'Bearer " + "abcdEFGH1234ijklMNOP5678" + "' };",
    ]) + "\n")
    (root / "acme-crm" / ".env").write_text("ACME_API_KEY=whatever\n")
    (root / "acme-crm" / ".env.example").write_text("ACME_API_KEY=\n")
    for skipped in ("dist", "node_modules/dep"):
        d = root / "clean-notes" / skipped
        d.mkdir(parents=True)
        (d / "bundle.js").write_text(f"const k = '{CANARIES['aws']}'; const u = 'http://bundled.example.net';\n")
    (root / "clean-notes" / "src" / "logo.js").write_bytes(b"\x00\x01binary" + CANARIES["aws"].encode())
    return root


def pieces_by_name(root):
    return {p.name: p for p in scan_tree(root)}


def test_bad_piece_every_rule(tree):
    crm = pieces_by_name(tree)["@acme/piece-crm"]
    assert crm.version == "0.3.1" and crm.files == 4
    found = [(f.id, f.severity, f.location, f.evidence) for f in crm.findings]
    ids = {f[0] for f in found}
    assert ids == {"piece.hardcoded_credential", "piece.env_secret", "piece.plain_http", "piece.tls_disabled",
                   "piece.env_file"}
    creds = [f for f in found if f[0] == "piece.hardcoded_credential"]
    assert {loc.rsplit(":", 1)[0] for _, _, loc, _ in creds} == {"acme-crm/src/lib/client.ts",
                                                                  "acme-crm/src/lib/keys.ts"}
    assert len([c for c in creds if "keys.ts" in c[2]]) == 7
    kinds = " ".join(c[3] for c in creds)
    for what in ("AWS access key", "sk-", "GitHub token", "Slack token", "Google API key", "credentials inside a URL",
                 "bearer token", "clientSecret ="):
        assert what in kinds, what
    assert ("piece.plain_http", "medium", "acme-crm/src/lib/client.ts:4", "http://api.acme-crm.net/…") in found
    env_reads = {f[3] for f in found if f[0] == "piece.env_secret"}
    assert env_reads == {"process.env.ACME_API_KEY", "process.env.ACME_DB_PASSWORD"}  # not NODE_ENV
    tls = {(f[2], f[3]) for f in found if f[0] == "piece.tls_disabled"}
    assert tls == {("acme-crm/src/lib/client.ts:9", "rejectUnauthorized: false"),
                   ("acme-crm/src/lib/client.ts:12", "NODE_TLS_REJECT_UNAUTHORIZED")}
    assert [f[2] for f in found if f[0] == "piece.env_file"] == ["acme-crm/.env"]


def test_evidence_is_masked(tree):
    crm = pieces_by_name(tree)["@acme/piece-crm"]
    text = json.dumps([f.to_dict() for f in crm.findings])
    for value in [*CANARIES.values(), "s3cr3tCanaryPw", "abcdEFGH1234ijklMNOP5678", "q8Vz3LmX7pR2tY9wK4nB6cJ1hF5dG0sA"]:
        assert value not in text and value[4:] not in text


def test_clean_piece_and_skipped_files(tree):
    notes = pieces_by_name(tree)["@acme/piece-notes"]
    assert [f.id for f in notes.findings] == ["piece.source"] and notes.findings[0].status == "ok"
    assert notes.files == 1 and notes.skipped_files == 1  # logo.js is binary; dist/ and node_modules/ never read


def test_broken_package_json(tree):
    broken = pieces_by_name(tree)["broken-meta"]
    assert broken.version is None
    assert [f.id for f in broken.findings if f.is_open] == ["piece.package_json"]


@pytest.mark.parametrize("line", [
    "const url = 'http://localhost:8080/x';",
    "const url = 'http://127.0.0.1:3000';",
    "const ns = 'http://www.w3.org/2001/XMLSchema';",
    "<svg xmlns=\"http://example.net/custom-ns\">",
    "// see http://docs.vendor.net for details",
    "const token = '{{connection.token}}';",
    "const password = 'changeme';",
    "const secret = `${auth.secret}`;",
    "const apiKey = auth.apiKey;",
    "const env = process.env.NODE_ENV;",
    "const author = process.env.AUTHOR_NAME;",
    "const agent = new https.Agent({ rejectUnauthorized: true });",
    "const tokenLabel = 'API token for the account';",
])
def test_clean_lines(line):
    assert scan_line(line) == []


@pytest.mark.parametrize("line,fid", [
    ("const key = process.env['STRIPE_SECRET'];", "piece.env_secret"),
    ("const { dbPass } = process.env;", "piece.env_secret"),
    ("request({ url, strictSSL: false })", "piece.tls_disabled"),
    ("got(url, { https: { insecure: true } })", "piece.tls_disabled"),
    ("tls.connect({ checkServerIdentity: () => undefined })", "piece.tls_disabled"),
    ("new https.Agent({ minVersion: 'TLSv1' })", "piece.tls_disabled"),
    ("fetch('http://203.0.113.9/api')", "piece.plain_http"),
    ("-----BEGIN RSA PRIVATE KEY-----", "piece.hardcoded_credential"),
    ("const password: string = 'Zq8#mW2$kL9!vR4x';", "piece.hardcoded_credential"),
])
def test_flagged_lines(line, fid):
    assert [f[0] for f in scan_line(line)] == [fid]


def test_installed_versions(tree):
    pieces = scan_tree(tree)
    platform = [{"name": "@acme/piece-crm", "version": "0.3.0", "pieceType": "CUSTOM"},
                {"name": "@acme/piece-notes", "version": "1.0.0", "pieceType": "CUSTOM"}]
    findings = {(f.subject, f.id): f for f in installed_findings(pieces, platform, tree)}
    crm = findings[("@acme/piece-crm", "piece.version")]
    assert crm.is_open and crm.severity == "low" and "source 0.3.1, platform 0.3.0 (platform is older)" in crm.evidence
    assert findings[("@acme/piece-notes", "piece.version")].status == "ok"
    assert findings[("broken-meta", "piece.installed")].status == "ok"
    by = {p.name: p for p in pieces}
    assert by["@acme/piece-crm"].installed and by["@acme/piece-crm"].installed_version == "0.3.0"
    assert by["broken-meta"].installed is False


async def test_review_through_the_double(ctx, activepieces, ap_profile, tree):
    activepieces.pieces.append(activepieces.make_piece("@acme/piece-notes", "Notes", "1.1.0", piece_type="CUSTOM"))
    report = await review_pieces(ctx, tree, profile="ap-test")
    assert report.has_blocking
    rows = {p["name"]: p for p in report.extra["pieces"]}
    assert rows["@acme/piece-notes"]["installed_version"] == "1.1.0" and rows["@acme/piece-crm"]["installed"] is False
    assert "ever-gauzy" in report.extra["platform_private_pieces_not_in_tree"]
    assert "@acme/piece-ledger" in report.extra["platform_private_pieces_not_in_tree"]
    mismatch = [f for f in report.findings if f.id == "piece.version" and f.is_open]
    assert mismatch and "(platform is newer)" in mismatch[0].evidence
    md = to_markdown(report)
    assert "| @acme/piece-notes | 1.0.0 | 1.1.0 |" in md
    for value in CANARIES.values():
        assert value not in md


async def test_review_without_profile_skips_installed(ctx, tree):
    report = await review_pieces(ctx, tree)
    assert [s.check for s in report.skipped] == ["piece.installed"]
    assert all(p["installed"] is None for p in report.extra["pieces"])


async def test_review_api_failure_is_a_finding(ctx, activepieces, ap_profile, tree):
    activepieces.fault("/v1/pieces", status=403, times=None)
    report = await review_pieces(ctx, tree, profile="ap-test")
    assert any(f.id == "api.access" and f.blocking for f in report.findings)


def test_single_piece_path(tree):
    (piece,) = scan_tree(tree / "clean-notes")
    assert piece.name == "@acme/piece-notes"


def test_bad_paths(tmp_path):
    with pytest.raises(AptuiError) as exc:
        scan_tree(tmp_path / "nope")
    assert exc.value.code == "FILE_NOT_FOUND" and exc.value.exit_code == 2
    f = tmp_path / "file.ts"
    f.write_text("x")
    with pytest.raises(AptuiError) as exc:
        scan_tree(f)
    assert exc.value.code == "FILE_INVALID" and "not a directory" in exc.value.message
    (tmp_path / "empty").mkdir()
    with pytest.raises(AptuiError) as exc:
        scan_tree(tmp_path / "empty")
    assert "no piece found" in exc.value.message


def test_unreadable_directory(tmp_path, monkeypatch):
    import aptui.services.pieces_review as pr

    monkeypatch.setattr(pr.os, "access", lambda path, mode: False)
    with pytest.raises(AptuiError) as exc:
        scan_tree(tmp_path)
    assert exc.value.code == "FILE_UNREADABLE"
