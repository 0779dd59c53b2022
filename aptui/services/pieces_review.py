"""Review of a private pieces source tree (e.g. ``packages/pieces/custom``).

Per piece (a directory with ``package.json``): hard-coded credentials or tokens, ``process.env``
reads of secrets (pieces should take credentials from their ``auth``), plain ``http://`` URLs
(loopback and XML/schema namespaces ignored), TLS verification turned off, and the piece's
name/version. Through the API (``GET /v1/pieces``): whether each piece is installed on the
platform and at which version. Evidence is masked; findings carry ``file:line``.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aptui.errors import AptuiError, usage
from aptui.masking import mask
from aptui.services.hardening.files import bad_input
from aptui.services.hardening.findings import AuditReport, Finding, Progress, no_progress, ok, problem
from aptui.services.hardening.strength import entropy_bits, is_placeholder

SOURCE_EXT = {".ts", ".tsx", ".js", ".jsx", ".mjs", ".cjs", ".mts", ".cts", ".json"}
SKIP_DIRS = {"node_modules", "dist", "build", ".git", "coverage", ".turbo", ".next", "out", "tmp"}
SKIP_FILES = {"package-lock.json", "yarn.lock", "pnpm-lock.yaml", "tsconfig.json", "tsconfig.lib.json",
              "tsconfig.spec.json", "project.json", ".eslintrc.json"}
MAX_FILE_BYTES = 2 * 1024 * 1024
MAX_PIECES = 5000

# name, regex, what it is
TOKEN_PATTERNS: tuple[tuple[str, re.Pattern, str], ...] = (
    ("aws-access-key", re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"), "an AWS access key id"),
    ("openai-key", re.compile(r"\bsk-(?:proj-|live-|ant-)?[A-Za-z0-9_\-]{20,}"), "an sk-… API key"),
    ("stripe-key", re.compile(r"\b[rs]k_live_[0-9A-Za-z]{16,}"), "a Stripe live key"),
    ("github-token", re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{22,})"), "a GitHub token"),
    ("slack-token", re.compile(r"\bxox[abprs]-[A-Za-z0-9-]{10,}"), "a Slack token"),
    ("google-api-key", re.compile(r"\bAIza[0-9A-Za-z_\-]{35}\b"), "a Google API key"),
    ("private-key", re.compile(r"-----BEGIN (?:RSA |EC |DSA |OPENSSH |ENCRYPTED |PGP )?PRIVATE KEY"), "a private key"),
    ("jwt", re.compile(r"\beyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}"), "a JWT"),
    ("url-credentials", re.compile(r"\b[a-z][a-z0-9+.-]*://[^/\s:@'\"`]+:([^/\s@'\"`]{3,})@[^\s'\"`]+",
                                   re.I), "credentials inside a URL"),
    ("bearer", re.compile(r"['\"`]Bearer\s+([A-Za-z0-9._~+/=-]{16,})['\"`]"), "a bearer token"),
)
ASSIGNED_SECRET = re.compile(
    r"""(?ix)
    \b([a-z0-9_$]*(?:token|secret|passw(?:or)?d|passwd|api_?key|access_?key|client_?secret|private_?key|
        auth_?key|credential|bearer)[a-z0-9_$]*)
    ['"]?\s*(?::\s*[\w<>\[\]|.]+\s*)?[:=]\s*(['"`])([^'"`\n]{8,})\2""")
ENV_READ = re.compile(
    r"process\.env(?:\.([A-Za-z_][A-Za-z0-9_]*)|\[\s*['\"`]([A-Za-z_][A-Za-z0-9_]*)['\"`]\s*\])")
ENV_DESTRUCTURE = re.compile(r"\{([^{}]{1,300})\}\s*=\s*process\.env\b")
SECRET_ENV_WORDS = re.compile(r"TOKEN|SECRET|PASSWORD|PASSWD|APIKEY|API_KEY|PRIVATE_KEY|CREDENTIAL", re.I)
SECRET_ENV_PARTS = {"KEY", "PASS", "PWD", "AUTH", "CERT", "PAT", "JWT"}
HTTP_URL = re.compile(r"http://[^\s'\"`<>)\]}]+", re.I)
LOCAL_HOSTS = re.compile(r"^(localhost|127\.\d+\.\d+\.\d+|0\.0\.0\.0|\[::1\]|[a-z0-9.-]+\.localhost|"
                         r"example\.(com|org|net)|[a-z0-9.-]+\.example\.(com|org|net))$", re.I)
NAMESPACE_HOSTS = ("www.w3.org", "schemas.xmlsoap.org", "schemas.openxmlformats.org", "schemas.microsoft.com",
                   "purl.org", "ns.adobe.com", "json-schema.org", "docs.oasis-open.org", "xmlns.com",
                   "www.opengis.net", "schemas.android.com", "www.sitemaps.org", "xml.org", "relaxng.org")
TLS_OFF: tuple[tuple[re.Pattern, str], ...] = (
    (re.compile(r"rejectUnauthorized\s*:\s*(?:false|0)\b"), "rejectUnauthorized: false"),
    (re.compile(r"NODE_TLS_REJECT_UNAUTHORIZED"), "NODE_TLS_REJECT_UNAUTHORIZED"),
    (re.compile(r"strictSSL\s*:\s*false\b"), "strictSSL: false"),
    (re.compile(r"\binsecure\s*:\s*true\b"), "insecure: true"),
    (re.compile(r"ignoreHTTPSErrors\s*:\s*true\b"), "ignoreHTTPSErrors: true"),
    (re.compile(r"checkServerIdentity\s*:\s*(?:\(\)\s*=>\s*(?:undefined|null|\{\s*\})|function\s*\(\)\s*\{\s*\})"),
     "checkServerIdentity disabled"),
    (re.compile(r"\bverify(?:_ssl|Ssl|SSL|Tls|TLS)?\s*[:=]\s*false\b"), "certificate verification off"),
    (re.compile(r"(?:minVersion|secureProtocol)\s*:\s*['\"](?:TLSv1(?:\.1)?|TLSv1_method|TLSv1_1_method|SSLv3_method)['\"]"),
     "TLS below 1.2 allowed"),
)
COMMENT = re.compile(r"^\s*(//|\*|/\*)")


@dataclass
class PieceInfo:
    name: str
    version: str | None
    path: Path
    files: int = 0
    skipped_files: int = 0
    findings: list[Finding] = field(default_factory=list)
    installed: bool | None = None
    installed_version: str | None = None

    def to_dict(self, root: Path) -> dict[str, Any]:
        return {
            "name": self.name, "version": self.version, "path": _rel(self.path, root), "files": self.files,
            "skipped_files": self.skipped_files, "installed": self.installed,
            "installed_version": self.installed_version,
            "open_findings": sum(1 for f in self.findings if f.is_open),
        }


def _rel(path: Path, root: Path) -> str:
    try:
        rel = path.relative_to(root)
        return str(rel) if str(rel) != "." else path.name
    except ValueError:
        return str(path)


def _evidence(value: str) -> str:
    return mask(value)


def _host_of(url: str) -> str:
    rest = url[len("http://"):]
    host = re.split(r"[/?#]", rest, maxsplit=1)[0]
    host = host.rsplit("@", 1)[-1]
    if host.startswith("["):
        return host[: host.find("]") + 1] if "]" in host else host
    return host.split(":")[0].lower()


def secret_env_name(var: str) -> bool:
    """``API_KEY``, ``SLACK_TOKEN``, ``DB_PASS`` look secret; ``AUTHOR`` or ``NODE_ENV`` do not."""
    if SECRET_ENV_WORDS.search(var):
        return True
    parts = re.split(r"_|(?<=[a-z])(?=[A-Z])", var)
    return any(p.upper() in SECRET_ENV_PARTS for p in parts)


def scan_line(line: str) -> list[tuple[str, str, str, str]]:
    """Findings on one line: (check id, severity, title, masked evidence)."""
    out: list[tuple[str, str, str, str]] = []
    taken: list[tuple[int, int]] = []
    for _, rx, what in TOKEN_PATTERNS:
        for m in rx.finditer(line):
            value = m.group(1) if m.groups() and m.group(1) else m.group(0)
            evidence = "a PEM private key block" if what == "a private key" else f"{what}: {_evidence(value)}"
            out.append(("piece.hardcoded_credential", "high", "Hard-coded credential", evidence))
            taken.append(m.span())
    for m in ASSIGNED_SECRET.finditer(line):
        name, value = m.group(1), m.group(3)
        if any(a <= m.start(3) < b for a, b in taken):
            continue
        if is_placeholder(value) or re.search(r"\s|\$\{|\{\{|%s|<|>", value):
            continue
        if len(value) < 12 or entropy_bits(value) / len(value) < 3.0:
            continue
        out.append(("piece.hardcoded_credential", "high", "Hard-coded credential",
                    f"{name} = {_evidence(value)} (a literal, high-entropy value)"))
    for m in ENV_READ.finditer(line):
        var = m.group(1) or m.group(2)
        if var and secret_env_name(var) and var != "NODE_TLS_REJECT_UNAUTHORIZED":
            out.append(("piece.env_secret", "medium", "Secret read from process.env", f"process.env.{var}"))
    for m in ENV_DESTRUCTURE.finditer(line):
        names = [n.split(":")[0].split("=")[0].strip() for n in m.group(1).split(",")]
        for var in names:
            if var and secret_env_name(var):
                out.append(("piece.env_secret", "medium", "Secret read from process.env", f"process.env.{var}"))
    if not COMMENT.match(line):
        for m in HTTP_URL.finditer(line):
            url = m.group(0)
            host = _host_of(url)
            before = line[max(0, m.start() - 12) : m.start()]
            if LOCAL_HOSTS.match(host) or host in NAMESPACE_HOSTS or "xmlns" in before.lower():
                continue
            out.append(("piece.plain_http", "medium", "Plain http:// URL", f"http://{host}/…"))
    for rx, what in TLS_OFF:
        if rx.search(line):
            out.append(("piece.tls_disabled", "high", "TLS verification weakened", what))
    return out


FIXES = {
    "piece.hardcoded_credential": "remove it from the source, rotate it, and take it from the piece's auth "
                                  "(PieceAuth.SecretText/CustomAuth) so it is stored encrypted per connection",
    "piece.env_secret": "declare it in the piece's auth instead: process.env is not propagated into sandboxes "
                        "and is shared by every user of the platform",
    "piece.plain_http": "use https:// for every external call",
    "piece.tls_disabled": "keep certificate verification on; for a private CA pass its certificate (ca option)",
    "piece.env_file": "delete the file from the piece tree (and from git) and rotate what it held",
}


def iter_files(root: Path) -> Iterator[Path]:
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS and not d.startswith("."))
        for name in sorted(filenames):
            yield Path(dirpath) / name


def find_pieces(root: Path) -> list[Path]:
    """Directories with a package.json (outermost only; node_modules and build output skipped)."""
    if (root / "package.json").is_file():
        return [root]
    found: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS and not d.startswith("."))
        if "package.json" in filenames and Path(dirpath) != root:
            found.append(Path(dirpath))
            dirnames[:] = []  # a piece's own sub-packages belong to it
            if len(found) > MAX_PIECES:
                raise usage(f"more than {MAX_PIECES} packages under {root}", hint="point at the pieces folder")
    return found


def _read_package(piece_dir: Path, root: Path) -> tuple[str, str | None, list[Finding]]:
    pkg = piece_dir / "package.json"
    try:
        data = json.loads(pkg.read_text("utf-8"))
        if not isinstance(data, dict):
            raise ValueError("not an object")
    except (OSError, ValueError, UnicodeDecodeError):
        return piece_dir.name, None, [problem("piece.package_json", "low", "package.json cannot be read",
                                              "not a readable JSON object; name taken from the folder",
                                              "fix package.json (name, version)", location=_rel(pkg, root),
                                              subject=piece_dir.name)]
    name = data.get("name") if isinstance(data.get("name"), str) else piece_dir.name
    version = data.get("version") if isinstance(data.get("version"), str) else None
    return name, version, []


def scan_piece(piece_dir: Path, root: Path) -> PieceInfo:
    name, version, findings = _read_package(piece_dir, root)
    info = PieceInfo(name=name, version=version, path=piece_dir, findings=findings)
    for path in iter_files(piece_dir):
        rel = _rel(path, root)
        if path.name.startswith(".env") and path.name not in (".env.example", ".env.sample", ".env.template"):
            info.findings.append(problem("piece.env_file", "medium", "An env file inside the piece",
                                         f"{path.name} in the piece's source tree", FIXES["piece.env_file"],
                                         location=rel, subject=name))
            continue
        if path.suffix not in SOURCE_EXT or path.name in SKIP_FILES or path.name == "package.json":
            continue
        try:
            if path.stat().st_size > MAX_FILE_BYTES:
                info.skipped_files += 1
                continue
            data = path.read_bytes()
        except OSError:
            info.skipped_files += 1
            continue
        if b"\x00" in data:
            info.skipped_files += 1
            continue
        text = data.decode("utf-8", errors="replace")
        info.files += 1
        for lineno, line in enumerate(text.splitlines(), 1):
            if len(line) > 5000:  # minified bundles: scan, but do not report a huge line twice
                line = line[:5000]
            for fid, severity, title, evidence in scan_line(line):
                info.findings.append(problem(fid, severity, title, evidence, FIXES[fid],
                                             location=f"{rel}:{lineno}", subject=name))
    if not any(f.is_open and f.category == "piece" and f.id != "piece.package_json" for f in info.findings):
        info.findings.append(ok("piece.source", "No credential, http or TLS problem found",
                                f"{info.files} file(s) scanned", severity="high", location=_rel(piece_dir, root),
                                subject=name))
    return info


def scan_tree(root: Path, progress: Progress = no_progress) -> list[PieceInfo]:
    """Scan every piece under ``root`` (exit 2 when root is missing, unreadable or holds no piece)."""
    if not root.exists():
        raise bad_input("FILE_NOT_FOUND", f"pieces path {root} does not exist")
    if not root.is_dir():
        raise bad_input("FILE_INVALID", f"pieces path {root} is not a directory",
                        hint="give the folder holding the pieces, e.g. packages/pieces/custom")
    if not os.access(root, os.R_OK | os.X_OK):
        raise bad_input("FILE_UNREADABLE", f"pieces path {root} cannot be read (permission denied)")
    dirs = find_pieces(root)
    if not dirs:
        raise bad_input("FILE_INVALID", f"no piece found under {root} (no package.json)",
                        hint="give the folder holding the pieces, e.g. packages/pieces/custom")
    out = []
    for i, d in enumerate(dirs):
        progress(f"scanning {_rel(d, root)}", i, len(dirs))
        out.append(scan_piece(d, root))
    return out


def _version_tuple(v: str | None) -> tuple | None:
    m = re.match(r"^\s*v?(\d+)\.(\d+)\.(\d+)", v or "")
    return tuple(int(x) for x in m.groups()) if m else None


def installed_findings(pieces: list[PieceInfo], platform: list[dict[str, Any]], root: Path) -> list[Finding]:
    """Mark which local pieces are installed and at which version; mismatches are findings."""
    by_name: dict[str, dict[str, Any]] = {}
    for p in platform:
        if isinstance(p, dict) and isinstance(p.get("name"), str):
            by_name.setdefault(p["name"], p)
    out: list[Finding] = []
    for piece in pieces:
        remote = by_name.get(piece.name)
        loc = _rel(piece.path, root)
        if remote is None:
            piece.installed = False
            out.append(ok("piece.installed", "Not installed on the platform",
                          f"{piece.name} {piece.version or '?'} is not installed", location=loc, subject=piece.name))
            continue
        piece.installed = True
        piece.installed_version = remote.get("version") if isinstance(remote.get("version"), str) else None
        if piece.version and piece.installed_version and piece.version != piece.installed_version:
            older = (_version_tuple(piece.installed_version) or ()) < (_version_tuple(piece.version) or ())
            out.append(problem("piece.version", "low", "Installed version differs from the source",
                               f"source {piece.version}, platform {piece.installed_version}"
                               + (" (platform is older)" if older else " (platform is newer)"),
                               "publish the reviewed version to the platform (or review the installed one)",
                               location=loc, subject=piece.name))
        else:
            out.append(ok("piece.version", "Installed at the source version",
                          f"{piece.name} {piece.installed_version or '?'}", severity="low", location=loc,
                          subject=piece.name))
    return out


async def review_pieces(ctx, path: Path, *, profile: str | None = None, api=None,
                        progress: Progress = no_progress) -> AuditReport:
    """Scan ``path``; with ``profile`` (or ``api``), compare with the platform's installed pieces."""
    root = Path(path)
    pieces = await asyncio.to_thread(scan_tree, root, progress)
    report = AuditReport(kind="pieces", targets={"path": str(root), "profile": profile})
    for piece in pieces:
        report.add(piece.findings)
    client = None
    if api is None and profile:
        from aptui.services.hardening.api_checks import ClientApi
        from aptui.services.profiles import client_for, resolve_profile

        prof = resolve_profile(ctx, profile)
        report.targets["url"] = prof.base_url
        client = client_for(ctx, prof)
        api = ClientApi(client)
    try:
        if api is not None:
            progress("asking the platform which pieces are installed", len(pieces), len(pieces) + 1)
            try:
                platform = await api.list_pieces()
            except AptuiError as err:
                report.add(problem("api.access", "high", "Installed pieces could not be listed", err.one_line(),
                                   "fix the profile (`aptui profile test`) and rerun"))
            else:
                report.add(installed_findings(pieces, platform, root))
                local = {p.name for p in pieces}
                others = sorted(p["name"] for p in platform if isinstance(p, dict) and p.get("pieceType") == "CUSTOM"
                                and isinstance(p.get("name"), str) and p["name"] not in local)
                report.extra["platform_private_pieces_not_in_tree"] = others
        else:
            report.skip("piece.installed", "no --profile: installed versions not checked")
    finally:
        if client is not None:
            await client.aclose()
    report.extra["pieces"] = [p.to_dict(root) for p in pieces]
    progress("done", len(pieces) + 1, len(pieces) + 1)
    from aptui.services.hardening.runner import record_audit

    record_audit(ctx, report)
    return report
