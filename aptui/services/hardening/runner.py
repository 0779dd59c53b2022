"""``audit_hardening``: gather every check the given inputs allow into one ``AuditReport``.

Inputs are validated before any network call (bad files or URLs: exit 2). Exit-code policy for
callers: 1 when the report has an open high-severity finding. An unreachable site raises
URL_UNREACHABLE (exit 4) only when nothing offline (env or compose file) was given; otherwise it
is the high finding ``http.reachable``. An API failure is the high finding ``api.access`` unless
it is the only thing the audit could have reported, in which case the error itself is raised.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from pathlib import Path

from aptui.errors import AptuiError, usage
from aptui.services.hardening import (
    api_checks,
    compose_checks,
    connection_checks,
    env_checks,
    file_checks,
    http_checks,
)
from aptui.services.hardening.envfile import EnvFile, load_env_file
from aptui.services.hardening.findings import AuditReport, Progress, no_progress, problem

COMPOSE_NAMES = ("compose.yaml", "compose.yml", "docker-compose.yml", "docker-compose.yaml")


@dataclass
class HardeningOptions:
    env_file: Path | None = None
    compose_file: Path | None = None
    url: str | None = None
    http_port: int | None = None
    profile: str | None = None
    ca_bundle: str | None = None
    insecure: bool = False
    stale_days: int = 90
    timeout: float | None = None
    check_store: bool = True  # compare the env file with aptui's stored secrets
    live_url: bool = True  # False: skip the live URL checks (e.g. a profile's URL is not public)

    @property
    def empty(self) -> bool:
        return not (self.env_file or self.compose_file or self.url or self.profile)


def discover(directory: Path) -> HardeningOptions:
    """Defaults when no input is named: ``.env`` and a compose file in ``directory``, if present."""
    opts = HardeningOptions()
    if (directory / ".env").is_file():
        opts.env_file = directory / ".env"
    for name in COMPOSE_NAMES:
        if (directory / name).is_file():
            opts.compose_file = directory / name
            break
    return opts


def _ap_env(project: compose_checks.ComposeProject) -> EnvFile | None:
    """The environment to audit from a compose file: the API container's (APP or combined)."""
    aps = project.activepieces()
    if not aps:
        return None
    for s in aps:
        if (s.env.get("AP_CONTAINER_TYPE") or "WORKER_AND_APP").upper() != "WORKER":
            return s.env
    return aps[0].env


async def audit_hardening(ctx, opts: HardeningOptions, *, api: api_checks.PlatformApi | None = None,
                          progress: Progress = no_progress) -> AuditReport:
    """Run the hardening audit. ``ctx`` may be None (no profile, no store comparison)."""
    if opts.empty and api is None:
        raise usage("nothing to audit", hint="give --env-file, --compose-file, --url or --profile "
                    "(or run it in the directory holding .env / docker-compose.yml)")
    if opts.stale_days < 1:
        raise usage("stale days must be at least 1")
    report = AuditReport(kind="hardening")
    # -- inputs (exit 2 on bad input, before any network) -------------------------------------
    env = load_env_file(opts.env_file) if opts.env_file else None
    project = None
    if opts.compose_file:
        project_env = env.values if env else None
        project = compose_checks.load_compose(opts.compose_file, project_env)
    url, ca_bundle, insecure = opts.url, opts.ca_bundle, opts.insecure
    profile = None
    if opts.profile:
        from aptui.services.profiles import resolve_profile

        profile = resolve_profile(ctx, opts.profile)
        url = url or profile.base_url
        ca_bundle = ca_bundle or profile.ca_bundle
        insecure = insecure or not profile.verify_tls
    if url:
        http_checks.parse_site_url(url)
    if ca_bundle and not Path(ca_bundle).is_file():
        raise usage(f"CA bundle {ca_bundle} is not a readable file", code="FILE_NOT_FOUND")
    offline = env is not None or project is not None
    if url and not opts.live_url and not offline and api is None and profile is None:
        raise usage("nothing to audit: --no-live leaves only the URL",
                    hint="add --env-file, --compose-file or --profile")
    timeout = opts.timeout or (ctx.settings.timeout if ctx is not None else 10.0)
    report.targets = {"env_file": str(opts.env_file) if opts.env_file else None,
                      "compose_file": str(opts.compose_file) if opts.compose_file else None,
                      "url": url, "profile": profile.name if profile else None,
                      "stale_days": opts.stale_days if (profile or api) else None}
    steps = ["env", "compose", "url", "api"]
    total = len(steps)

    # -- environment and files ---------------------------------------------------------------
    progress("checking the environment", 0, total)
    audited_env = env if env is not None else (_ap_env(project) if project else None)
    if audited_env is not None:
        report.add(env_checks.check_env(audited_env, site_url=url, container_type=project is None))
    elif project is not None:
        report.skip("env", "no Activepieces service in the compose file, and no --env-file")
    files: list[EnvFile] = []
    seen: set[Path] = set()
    if env is not None and env.path is not None:
        files.append(env)
        seen.add(env.path.resolve())
    for s in project.services if project is not None else []:
        for p in s.env_files:  # the compose file's env_files get the same file checks
            if p.resolve() not in seen:
                seen.add(p.resolve())
                files.append(await asyncio.to_thread(load_env_file, p))
    index, why = (None, "disabled")
    if files and opts.check_store:
        index, why = await asyncio.to_thread(file_checks.store_secret_index, ctx)
    for ef in files:
        if ef.path is None:
            continue
        report.add(file_checks.check_mode(ef.path))
        git = await asyncio.to_thread(file_checks.check_git, ef.path)
        if git is None:
            report.skip("file.git", f"{ef.path}: {file_checks.git_state(ef.path).detail or 'git cannot tell'}")
        else:
            report.add(git)
        if index is not None:
            report.add(file_checks.check_store_secrets(ef, index))
        else:
            report.skip("file.store_secrets", f"{ef.path}: {why}")

    # -- compose -------------------------------------------------------------------------------
    progress("checking the compose file", 1, total)
    if project is not None:
        findings, skipped = compose_checks.check_compose(project)
        report.add(findings)
        for item in skipped:
            check, _, reason = item.partition(": ")
            report.skip(check, reason)

    # -- live URL ------------------------------------------------------------------------------
    progress("checking the live URL", 2, total)
    if url and opts.live_url:
        site = http_checks.SiteOptions(url=url, http_port=opts.http_port, ca_bundle=ca_bundle, insecure=insecure,
                                       timeout=timeout, proxy=(ctx.settings.proxy or None) if ctx is not None else None)
        result = await asyncio.to_thread(http_checks.check_site, site, url_only=not offline)
        report.add(result.findings)
        report.extra["site"] = result.info
    else:
        report.skip("http", "live URL checks turned off (--no-live)" if url else "no --url (or profile) to check")

    # -- API -------------------------------------------------------------------------------------
    progress("checking through the API", 3, total)
    client = None
    if api is None and profile is not None:
        from aptui.services.profiles import client_for

        try:
            client = client_for(ctx, profile)
        except AptuiError as err:
            report.add(problem("api.access", "high", "Platform API checks could not run", err.one_line(),
                               "fix the profile (`aptui profile test`) and rerun", location=url))
        else:
            api = api_checks.ClientApi(client)
    try:
        if api is not None:
            try:
                result = await api_checks.check_platform(api, stale_days=opts.stale_days,
                                                         location=url or "platform API", progress=progress)
            except AptuiError as err:
                if not report.findings:
                    raise
                report.add(problem("api.access", "high", "Platform API checks could not run", err.one_line(),
                                   "fix the profile (`aptui profile test`) and rerun", location=url))
            else:
                report.add(result.findings)
                for check, reason in result.skipped:
                    report.skip(check, reason)
                report.extra["platform"] = result.info
        elif client is None and profile is None:
            report.skip("api", "no --profile: stale connections and secret-manager usage not checked")
    finally:
        if client is not None:
            await client.aclose()
    # -- aptui's own connections (plain http:// to Vault/Conjur) ----------------------------------
    conn_findings, conn_skip = await asyncio.to_thread(connection_checks.check_connections, ctx)
    if conn_skip:
        report.skip(connection_checks.CHECK, conn_skip)
    report.add(conn_findings)
    progress("done", total, total)
    record_audit(ctx, report)
    return report


def record_audit(ctx, report: AuditReport) -> None:
    """One line in the local audit trail when a store already exists (no secret, counts only)."""
    if ctx is None or not ctx.store_exists or ctx.settings.read_only:
        return
    s = report.summary()
    t = report.targets
    target = t.get("url") or t.get("env_file") or t.get("compose_file") or t.get("path") or "-"
    with contextlib.suppress(AptuiError):  # a locked store must not hide the audit's result
        ctx.audit(f"audit.{report.kind}", str(target), "fail" if s["blocking"] else "pass",
                  f"{s['open']} open ({s['by_severity']['high']} high), {s['ok']} ok")
