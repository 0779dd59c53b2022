"""Checks on Activepieces' environment (a .env file, or a compose service's merged environment).

Facts from ``tests/reference/hardening.md`` and the Activepieces source: AP_ENCRYPTION_KEY is used
as ``Buffer.from(key, 'binary')`` for AES-256-CBC, so it must be exactly 32 characters; with no key
and ``AP_REDIS_TYPE=MEMORY`` Activepieces generates one into its local file store, otherwise it
cannot encrypt at all.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from aptui.services.hardening.envfile import EnvFile
from aptui.services.hardening.findings import Finding, ok, problem
from aptui.services.hardening.strength import HEX, describe, is_placeholder, weakness

SECRET_NAME = re.compile(r"(PASSWORD|PASSWD|PASS|SECRET|TOKEN|API_KEY|PRIVATE_KEY|ACCESS_KEY|_KEY)$|_KEY_", re.I)
EXECUTION_MODES = {"UNSANDBOXED", "SANDBOX_CODE_ONLY", "SANDBOX_PROCESS", "SANDBOX_CODE_AND_PROCESS", "SANDBOXED"}
CONTAINER_TYPES = {"WORKER", "APP", "WORKER_AND_APP"}
KEY_FIX = ("set AP_ENCRYPTION_KEY to exactly 32 hex characters (`openssl rand -hex 16`); if connections were "
           "already saved with a working key, keep that key: changing it makes them unreadable (it is a migration)")


def _memory_queue(env: EnvFile) -> bool:
    return (env.get("AP_REDIS_TYPE") or "").upper() == "MEMORY" or (env.get("AP_QUEUE_MODE") or "").upper() == "MEMORY"


def _embedded_db(env: EnvFile) -> bool:
    return (env.get("AP_DB_TYPE") or "POSTGRES").upper() in {"PGLITE", "SQLITE3"}


def _unresolved(env: EnvFile, key: str, fid: str) -> Finding | None:
    e = env.entry(key)
    if e is not None and e.unresolved:
        return ok(fid, f"{key} comes from outside the file",
                  f"set through a ${{…}} reference not defined in {env.label}; not checked here",
                  location=env.where(key))
    return None


def check_encryption_key(env: EnvFile) -> list[Finding]:
    key = "AP_ENCRYPTION_KEY"
    loc = env.where(key)
    value = env.get(key)
    if not value:
        if _memory_queue(env):
            return [problem(
                "env.encryption_key.present", "medium", "AP_ENCRYPTION_KEY not set (generated key in use)",
                "not set; with AP_REDIS_TYPE=MEMORY Activepieces generates a key and keeps it in its local file "
                "store (AP_CONFIG_PATH): losing that file loses every credential",
                "back up AP_CONFIG_PATH together with the database, or copy the generated key into "
                "AP_ENCRYPTION_KEY so it is managed explicitly", location=loc)]
        return [problem(
            "env.encryption_key.present", "high", "AP_ENCRYPTION_KEY not set",
            "empty" if env.has(key) else "not set; without AP_REDIS_TYPE=MEMORY Activepieces generates no key and "
            "cannot encrypt or decrypt connections",
            KEY_FIX, location=loc)]
    out = [ok("env.encryption_key.present", "AP_ENCRYPTION_KEY is set", "set", severity="high", location=loc)]
    skipped = _unresolved(env, key, "env.encryption_key.length")
    if skipped:
        return [*out, skipped]
    n = len(value)
    if n != 32:
        why = (" (`openssl rand -hex 32` gives 64): Node's createCipheriv throws \"Invalid key length\" and every "
               "connection read or write fails") if n == 64 else (
               ": AES-256-CBC needs a 32-byte key and Activepieces uses the characters as bytes, so every "
               "connection read or write fails")
        out.append(problem("env.encryption_key.length", "high", "AP_ENCRYPTION_KEY has the wrong length",
                           f"set, {describe(value)}; Activepieces needs exactly 32 characters{why}",
                           KEY_FIX, location=loc))
        if is_placeholder(value):
            out.append(problem("env.encryption_key.strength", "high", "AP_ENCRYPTION_KEY is a placeholder",
                               f"set, {describe(value)}; a known placeholder/example value", KEY_FIX, location=loc))
        return out
    out.append(ok("env.encryption_key.length", "AP_ENCRYPTION_KEY has the right length",
                  f"set, {describe(value)}", severity="high", location=loc))
    reason = weakness(value)
    if reason:
        out.append(problem("env.encryption_key.strength", "high", "AP_ENCRYPTION_KEY is weak",
                           f"set, {describe(value)}; weak: {reason}", KEY_FIX, location=loc))
    elif not set(value) <= HEX:
        out.append(problem(
            "env.encryption_key.strength", "medium", "AP_ENCRYPTION_KEY is not hex",
            f"set, {describe(value)}; Activepieces generates 32 hex characters (128 bits); "
            + ("non-ASCII characters are truncated to one byte each" if not value.isascii()
               else "a hand-made key is rarely random"),
            KEY_FIX, location=loc))
    else:
        out.append(ok("env.encryption_key.strength", "AP_ENCRYPTION_KEY looks random",
                      f"set, {describe(value)}", severity="high", location=loc))
    return out


def _secret_checks(env: EnvFile, key: str, fid: str, *, missing_severity: str | None, min_length: int,
                   missing_why: str, fix: str, label: str | None = None) -> list[Finding]:
    label = label or key
    loc = env.where(key)
    value = env.get(key)
    if not value:
        if missing_severity is None:
            return []
        return [problem(f"{fid}.present", missing_severity, f"{label} not set",
                        "empty" if env.has(key) else f"not set; {missing_why}", fix, location=loc)]
    out: list[Finding] = []
    if missing_severity is not None:
        out.append(ok(f"{fid}.present", f"{label} is set", "set", severity=missing_severity, location=loc))
    skipped = _unresolved(env, key, f"{fid}.strength")
    if skipped:
        return [*out, skipped]
    reason = weakness(value, min_length=min_length)
    if reason:
        out.append(problem(f"{fid}.strength", "high", f"{label} is weak",
                           f"set, {describe(value)}; weak: {reason}", fix, location=loc))
    else:
        out.append(ok(f"{fid}.strength", f"{label} looks strong", f"set, {describe(value)}",
                      severity="high", location=loc))
    return out


def check_jwt_secret(env: EnvFile) -> list[Finding]:
    memory = _memory_queue(env)
    return _secret_checks(
        env, "AP_JWT_SECRET", "env.jwt_secret", missing_severity="medium" if memory else "high", min_length=32,
        missing_why=("Activepieces generates one into its local file store; back that file up"
                     if memory else "user sessions and worker tokens cannot be signed safely"),
        fix="set AP_JWT_SECRET to a long random value (`openssl rand -hex 32`); changing it logs everyone out")


def _url_password(url: str) -> str | None:
    try:
        return urlsplit(url).password
    except ValueError:
        return None


def check_database(env: EnvFile) -> list[Finding]:
    if _embedded_db(env):
        db = (env.get("AP_DB_TYPE") or "").upper()
        return [problem("env.postgres_password.present", "low", "Embedded database in use",
                        f"AP_DB_TYPE={db}: no database password to check; the embedded database is meant for "
                        "personal or test use", "use PostgreSQL for production (AP_DB_TYPE=POSTGRES)",
                        location=env.where("AP_DB_TYPE"))]
    fix = "set a long random database password (`openssl rand -hex 32`) in AP_POSTGRES_PASSWORD and in PostgreSQL"
    url = env.get("AP_POSTGRES_URL")
    if url:
        password = _url_password(url)
        loc = env.where("AP_POSTGRES_URL")
        if not password:
            return [problem("env.postgres_password.present", "medium", "AP_POSTGRES_URL has no password",
                            "AP_POSTGRES_URL is set without a password", fix, location=loc)]
        reason = weakness(password, min_length=16)
        if reason:
            return [problem("env.postgres_password.strength", "high", "Database password in AP_POSTGRES_URL is weak",
                            f"set, {describe(password)}; weak: {reason}", fix, location=loc)]
        return [ok("env.postgres_password.strength", "Database password in AP_POSTGRES_URL looks strong",
                   f"set, {describe(password)}", severity="high", location=loc)]
    return _secret_checks(env, "AP_POSTGRES_PASSWORD", "env.postgres_password", missing_severity="high",
                          min_length=16, missing_why="PostgreSQL needs a password", fix=fix)


def check_redis(env: EnvFile) -> list[Finding]:
    if _memory_queue(env):
        return [ok("env.redis_password.present", "In-memory queue",
                   "AP_REDIS_TYPE=MEMORY: no Redis password to check", location=env.where("AP_REDIS_TYPE"))]
    fix = "set AP_REDIS_PASSWORD (and requirepass in Redis) to a long random value"
    url = env.get("AP_REDIS_URL")
    if url:
        password = _url_password(url)
        loc = env.where("AP_REDIS_URL")
        if not password:
            return [problem("env.redis_password.present", "medium", "AP_REDIS_URL has no password",
                            "AP_REDIS_URL is set without a password: anyone who reaches Redis reads the job queue",
                            fix, location=loc)]
        reason = weakness(password, min_length=16)
        if reason:
            return [problem("env.redis_password.strength", "high", "Redis password in AP_REDIS_URL is weak",
                            f"set, {describe(password)}; weak: {reason}", fix, location=loc)]
        return [ok("env.redis_password.strength", "Redis password in AP_REDIS_URL looks strong",
                   f"set, {describe(password)}", severity="high", location=loc)]
    return _secret_checks(env, "AP_REDIS_PASSWORD", "env.redis_password", missing_severity="medium", min_length=16,
                          missing_why="anyone who reaches Redis reads and writes the job queue", fix=fix)


def check_api_key(env: EnvFile) -> list[Finding]:
    if not env.has("AP_API_KEY"):
        return [ok("env.api_key.present", "AP_API_KEY is not in the file", "not set", severity="low")]
    out = [problem("env.api_key.present", "low", "AP_API_KEY is stored in the env file",
                   "set in the env file; it grants platform-wide access",
                   "keep the file 0600 and out of git, or inject AP_API_KEY from a secret manager",
                   location=env.where("AP_API_KEY"))]
    out += _secret_checks(env, "AP_API_KEY", "env.api_key", missing_severity=None, min_length=32,
                          missing_why="", fix="replace AP_API_KEY with a long random value (`openssl rand -hex 32`)")
    return out


def check_queue_ui(env: EnvFile) -> list[Finding]:
    if (env.get("AP_QUEUE_UI_ENABLED") or "").lower() != "true":
        return []
    return _secret_checks(env, "AP_QUEUE_UI_PASSWORD", "env.queue_ui_password", missing_severity="high",
                          min_length=16, missing_why="AP_QUEUE_UI_ENABLED=true exposes the job queue dashboard",
                          fix="set AP_QUEUE_UI_PASSWORD to a long random value, or AP_QUEUE_UI_ENABLED=false")


def check_execution_mode(env: EnvFile) -> list[Finding]:
    raw = env.get("AP_EXECUTION_MODE")
    mode = (raw or "UNSANDBOXED").upper()
    loc = env.where("AP_EXECUTION_MODE")
    if mode == "UNSANDBOXED":
        return [problem("env.execution_mode", "medium", "Code steps run unsandboxed",
                        f"AP_EXECUTION_MODE={mode}" + ("" if raw else " (the default)")
                        + ": code steps and pieces run without isolation, with the worker's access",
                        "on multi-user platforms set AP_EXECUTION_MODE=SANDBOX_CODE_ONLY (or SANDBOX_PROCESS)",
                        location=loc)]
    if mode not in EXECUTION_MODES:
        return [problem("env.execution_mode", "low", "Unknown AP_EXECUTION_MODE",
                        f"AP_EXECUTION_MODE={mode} is not one Activepieces knows",
                        "use UNSANDBOXED, SANDBOX_CODE_ONLY, SANDBOX_PROCESS or SANDBOX_CODE_AND_PROCESS",
                        location=loc)]
    return [ok("env.execution_mode", "Code steps are sandboxed", f"AP_EXECUTION_MODE={mode}",
               severity="medium", location=loc)]


def container_type_finding(container_type: str | None, env: EnvFile, *, fid: str, where: str,
                           location: str | None) -> Finding:
    """The split-roles judgement, shared by the env and the compose checks."""
    ctype = (container_type or "WORKER_AND_APP").upper()
    default = "" if container_type else " (the default)"
    if ctype == "WORKER_AND_APP":
        if _memory_queue(env) or _embedded_db(env):
            return problem(fid, "low", "Web and worker share one container",
                           f"{where}AP_CONTAINER_TYPE=WORKER_AND_APP{default}; it cannot be split while using the "
                           "in-memory queue or the embedded database",
                           "move to PostgreSQL and Redis, then run AP_CONTAINER_TYPE=APP and WORKER containers",
                           location=location)
        return problem(fid, "medium", "Web and worker share one container",
                       f"{where}AP_CONTAINER_TYPE=WORKER_AND_APP{default}: heavy runs slow the API and a code step "
                       "shares the container that holds the database credentials",
                       "run one AP_CONTAINER_TYPE=APP container and separate AP_CONTAINER_TYPE=WORKER containers "
                       "(workers need only AP_FRONTEND_URL and AP_WORKER_TOKEN)", location=location)
    if ctype not in CONTAINER_TYPES:
        return problem(fid, "low", "Unknown AP_CONTAINER_TYPE", f"{where}AP_CONTAINER_TYPE={ctype}",
                       "use APP, WORKER or WORKER_AND_APP", location=location)
    return ok(fid, "Web and worker roles are split", f"{where}AP_CONTAINER_TYPE={ctype}", severity="medium",
              location=location)


def check_container_type(env: EnvFile) -> list[Finding]:
    return [container_type_finding(env.get("AP_CONTAINER_TYPE"), env, fid="env.container_type", where="",
                                   location=env.where("AP_CONTAINER_TYPE"))]


def check_telemetry(env: EnvFile) -> list[Finding]:
    raw = env.get("AP_TELEMETRY_ENABLED")
    value = (raw or "true").lower()
    loc = env.where("AP_TELEMETRY_ENABLED")
    if value == "false":
        return [ok("env.telemetry", "Telemetry is off", "AP_TELEMETRY_ENABLED=false", location=loc)]
    return [problem("env.telemetry", "info", "Telemetry is on",
                    f"AP_TELEMETRY_ENABLED={value}" + ("" if raw else " (the default)")
                    + ": product analytics are sent to Activepieces",
                    "set AP_TELEMETRY_ENABLED=false if your policy requires it (later changes: Platform Admin)",
                    location=loc)]


def url_host(url: str) -> str | None:
    try:
        return (urlsplit(url).hostname or "").lower() or None
    except ValueError:
        return None


def _public_form(url: str) -> str:
    """scheme://host[:port] — never userinfo, path or query."""
    try:
        parts = urlsplit(url)
        port = f":{parts.port}" if parts.port else ""
        return f"{parts.scheme}://{parts.hostname or ''}{port}"
    except ValueError:
        return "(unparseable URL)"


def _check_url_var(env: EnvFile, key: str, site_url: str | None, *, required: bool) -> list[Finding]:
    fid = "env." + key[3:].lower()
    loc = env.where(key)
    value = env.get(key)
    if not value:
        if not required:
            return []
        return [problem(f"{fid}.https", "medium", f"{key} not set",
                        "not set; Activepieces guesses the machine's IP, so webhook and OAuth redirect URLs are wrong",
                        f"set {key} to the final public https URL, e.g. https://ap.example.com", location=loc)]
    skipped = _unresolved(env, key, f"{fid}.https")
    if skipped:
        return [skipped]
    parts = urlsplit(value) if "://" in value else None
    if parts is None or parts.scheme not in ("http", "https") or not url_host(value):
        return [problem(f"{fid}.https", "medium", f"{key} is not a URL", f"{key} is set but not an http(s) URL",
                        f"set {key} to the final public https URL", location=loc)]
    out: list[Finding] = []
    shown = _public_form(value)
    if parts.scheme != "https":
        out.append(problem(f"{fid}.https", "high", f"{key} uses plain http",
                           f"{key}={shown}: webhook and OAuth redirect URLs are built from it and travel in clear",
                           f"serve Activepieces over https and set {key}=https://…", location=loc))
    else:
        out.append(ok(f"{fid}.https", f"{key} uses https", f"{key}={shown}", severity="high", location=loc))
    if site_url:
        want, have = url_host(site_url), url_host(value)
        if want and have != want:
            out.append(problem(f"{fid}.host", "medium", f"{key} names another host",
                               f"{key} host {have} differs from the audited URL host {want}",
                               f"set {key} to the public URL users and webhooks reach ({want})", location=loc))
        elif want:
            out.append(ok(f"{fid}.host", f"{key} matches the audited URL", f"host {have}",
                          severity="medium", location=loc))
    return out


def check_urls(env: EnvFile, site_url: str | None) -> list[Finding]:
    return (_check_url_var(env, "AP_FRONTEND_URL", site_url, required=True)
            + _check_url_var(env, "AP_SERVER_URL", site_url, required=False))


HANDLED = {"AP_ENCRYPTION_KEY", "AP_JWT_SECRET", "AP_POSTGRES_PASSWORD", "AP_REDIS_PASSWORD", "AP_API_KEY",
           "AP_QUEUE_UI_PASSWORD"}


def check_other_secrets(env: EnvFile) -> list[Finding]:
    """Any other secret-looking variable left at a placeholder value (names only)."""
    out: list[Finding] = []
    checked = 0
    for key, value in env.values.items():
        if key in HANDLED or not SECRET_NAME.search(key) or not value:
            continue
        checked += 1
        if is_placeholder(value):
            out.append(problem("env.placeholder", "high", f"{key} holds a placeholder",
                               f"{key} set, {describe(value)}; a known placeholder/example value",
                               f"replace {key} with the real, random value", location=env.where(key)))
    if checked and not out:
        out.append(ok("env.placeholder", "No placeholder secrets",
                      f"{checked} other secret-like variable(s) checked", severity="high", location=env.label))
    return out


def check_syntax(env: EnvFile) -> list[Finding]:
    out = []
    for key, lines in env.duplicates().items():
        out.append(problem("env.duplicate_key", "low", f"{key} is defined more than once",
                           f"lines {', '.join(map(str, lines))}; the last one wins",
                           f"keep one definition of {key}", location=f"{env.label}:{lines[-1]}"))
    for line, reason in env.problems:
        out.append(problem("env.syntax", "low", "A line is not understood", f"line {line}: {reason}",
                           "fix or remove the line (KEY=value)", location=f"{env.label}:{line}"))
    return out


def check_env(env: EnvFile, *, site_url: str | None = None, container_type: bool = True) -> list[Finding]:
    """Every environment check. ``container_type=False`` when the compose checks judge the split."""
    findings: list[Finding] = []
    findings += check_encryption_key(env)
    findings += check_jwt_secret(env)
    findings += check_database(env)
    findings += check_redis(env)
    findings += check_api_key(env)
    findings += check_queue_ui(env)
    findings += check_execution_mode(env)
    if container_type:
        findings += check_container_type(env)
    findings += check_telemetry(env)
    findings += check_urls(env, site_url)
    findings += check_other_secrets(env)
    findings += check_syntax(env)
    return findings

