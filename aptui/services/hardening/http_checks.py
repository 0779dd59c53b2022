"""Live checks on the public URL: http→https redirect, HSTS, TLS version and certificate, version flags.

Blocking (httpx + ssl sockets): callers run ``check_site`` in a worker thread. Certificate
problems become findings; after reporting one, the remaining checks continue without
verification so the operator still learns the TLS version and HSTS policy.
"""

from __future__ import annotations

import contextlib
import json
import re
import socket
import ssl
import warnings
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import urlsplit, urlunsplit

from aptui.errors import unreachable, usage
from aptui.net import proxy_for, system_ca_file
from aptui.services.hardening.findings import Finding, ok, problem

HSTS_MIN = 15552000  # 180 days
CERT_SOON_DAYS = 14
TLS_ORDER = {"SSLv3": 0, "TLSv1": 1, "TLSv1.1": 2, "TLSv1.2": 3, "TLSv1.3": 4}


@dataclass
class SiteOptions:
    url: str
    http_port: int | None = None
    ca_bundle: str | None = None
    insecure: bool = False
    timeout: float = 10.0
    proxy: str | None = None  # the configured proxy (aptui.net: never for loopback)


@dataclass
class SiteResult:
    findings: list[Finding] = field(default_factory=list)
    reachable: bool = False
    info: dict = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)


@dataclass
class Target:
    scheme: str
    host: str
    port: int
    path: str

    @property
    def netloc(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        default = 443 if self.scheme == "https" else 80
        return host if self.port == default else f"{host}:{self.port}"

    @property
    def url(self) -> str:
        return urlunsplit((self.scheme, self.netloc, self.path or "/", "", ""))

    def base(self) -> str:
        return f"{self.scheme}://{self.netloc}"


def parse_site_url(url: str) -> Target:
    """An http(s) URL with a host; anything else is a usage error (exit 2)."""
    text = (url or "").strip()
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        raise usage(f"not a valid URL: {text!r}", hint="e.g. --url https://ap.example.com") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise usage(f"not an http(s) URL with a host: {text!r}", hint="e.g. --url https://ap.example.com")
    if parts.username or parts.password:
        raise usage("the URL must not contain credentials", hint="give the public site URL only")
    path = parts.path or "/"
    path = re.sub(r"/api/?$", "/", path)  # a profile's base URL may end in /api
    return Target(parts.scheme, parts.hostname, port or (443 if parts.scheme == "https" else 80), path)


def _describe_error(exc: BaseException) -> str:
    """A short reason without echoing anything the server sent."""
    import httpx

    if isinstance(exc, httpx.TimeoutException | socket.timeout | TimeoutError):
        return "timed out"
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"certificate not trusted ({exc.verify_message or 'verification failed'})"
    if isinstance(exc, ssl.SSLError):
        return f"TLS handshake failed ({exc.reason or type(exc).__name__})"
    text = str(exc).lower()
    if "name or service not known" in text or "nodename nor servname" in text or "getaddrinfo" in text \
            or isinstance(exc, socket.gaierror):
        return "host name does not resolve"
    if "refused" in text:
        return "connection refused"
    if "certificate verify failed" in text:
        m = re.search(r"certificate verify failed: ([^()]+?)(?: \(|$)", str(exc))
        return f"certificate not trusted ({m.group(1).strip() if m else 'verification failed'})"
    if "ssl" in text or "tls" in text or "handshake" in text:
        return "TLS handshake failed"
    if "reset" in text:
        return "connection reset"
    return f"connection failed ({type(exc).__name__})"


def _verify_context(opts: SiteOptions) -> ssl.SSLContext:
    if opts.ca_bundle:
        try:
            ctx = ssl.create_default_context(cafile=opts.ca_bundle)
        except (OSError, ssl.SSLError):
            raise usage(f"CA bundle {opts.ca_bundle} cannot be read as PEM certificates",
                        code="FILE_INVALID") from None
    else:
        ctx = ssl.create_default_context(cafile=system_ca_file())  # the system store, never SSL_CERT_FILE
    return ctx


def _unverified_context(*, any_version: bool = False) -> ssl.SSLContext:
    """No certificate checks; ``any_version`` also allows TLS 1.0/1.1 so old servers can be named."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    if any_version:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            with contextlib.suppress(ValueError, ssl.SSLError):
                ctx.minimum_version = ssl.TLSVersion.TLSv1
                ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
    return ctx


def _handshake(target: Target, ctx: ssl.SSLContext, timeout: float) -> tuple[str, bytes | None, str]:
    """(TLS version, DER certificate, cipher name)."""
    with socket.create_connection((target.host, target.port), timeout=timeout) as raw, \
            ctx.wrap_socket(raw, server_hostname=target.host) as tls:
        cipher = tls.cipher()
        return tls.version() or "", tls.getpeercert(binary_form=True), cipher[0] if cipher else ""


def _legacy_accepted(target: Target, timeout: float) -> tuple[list[str], str | None]:
    """Which of TLS 1.0/1.1 the server still accepts; (accepted, reason-we-could-not-test)."""
    accepted = []
    for name, version in (("TLSv1", "TLSv1"), ("TLSv1.1", "TLSv1_1")):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            ctx = _unverified_context()
            try:
                tv = getattr(ssl.TLSVersion, version)
                ctx.minimum_version = tv
                ctx.maximum_version = tv
                ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
            except (ValueError, ssl.SSLError, AttributeError):
                return accepted, "this machine's OpenSSL cannot offer TLS 1.0/1.1"
        try:
            got, _, _ = _handshake(target, ctx, timeout)
        except ssl.SSLError as exc:
            if "NO_PROTOCOLS_AVAILABLE" in str(exc).upper():
                return accepted, "this machine's OpenSSL cannot offer TLS 1.0/1.1"
            continue
        except OSError:
            continue
        if got == name:
            accepted.append(name)
    return accepted, None


def _cert_findings(der: bytes | None, loc: str, now: datetime) -> list[Finding]:
    if not der:
        return []
    from cryptography import x509

    try:
        cert = x509.load_der_x509_certificate(der)
    except ValueError:
        return [problem("http.certificate.expiry", "medium", "Certificate cannot be parsed",
                        "the server's certificate is not valid DER", "install a valid certificate", location=loc)]
    not_after = cert.not_valid_after_utc
    days = (not_after - now).total_seconds() / 86400
    when = not_after.strftime("%Y-%m-%d")
    if days < 0:
        return [problem("http.certificate.expiry", "high", "Certificate has expired", f"expired on {when}",
                        "renew the certificate (e.g. certbot renew) and reload the reverse proxy", location=loc)]
    if days < CERT_SOON_DAYS:
        return [problem("http.certificate.expiry", "medium", "Certificate expires soon",
                        f"expires on {when} (in {int(days)} days)",
                        "renew the certificate now and check that automatic renewal works", location=loc)]
    return [ok("http.certificate.expiry", "Certificate is current", f"expires on {when} (in {int(days)} days)",
               severity="high", location=loc)]


def parse_hsts(header: str) -> tuple[int | None, set[str]]:
    max_age = None
    flags: set[str] = set()
    for part in header.split(";"):
        part = part.strip()
        if not part:
            continue
        name, _, value = part.partition("=")
        name = name.strip().lower()
        if name == "max-age":
            with contextlib.suppress(ValueError):
                max_age = int(value.strip().strip('"'))
        else:
            flags.add(name)
    return max_age, flags


def _version_tuple(text: str) -> tuple[int, ...] | None:
    m = re.match(r"^\s*v?(\d+)\.(\d+)\.(\d+)", str(text))
    return tuple(int(x) for x in m.groups()) if m else None


def _flags_finding(client, https: Target, loc: str) -> tuple[Finding | None, dict]:
    url = https.base() + "/api/v1/flags"
    try:
        r = client.get(url)
    except Exception as exc:
        return None, {"flags_error": _describe_error(exc)}
    if r.status_code != 200:
        return None, {"flags_error": f"GET /api/v1/flags answered {r.status_code}"}
    try:
        flags = r.json()
    except (ValueError, json.JSONDecodeError):
        return None, {"flags_error": "GET /api/v1/flags did not return JSON"}
    if not isinstance(flags, dict):
        return None, {"flags_error": "GET /api/v1/flags did not return a JSON object"}
    current, latest = flags.get("CURRENT_VERSION"), flags.get("LATEST_VERSION")
    info = {"current_version": current, "latest_version": latest}
    if not isinstance(current, str):
        return None, info
    cur_t, lat_t = _version_tuple(current), _version_tuple(latest) if isinstance(latest, str) else None
    if cur_t and lat_t and cur_t < lat_t:
        return problem("http.version", "medium", "Activepieces is behind the latest release",
                       f"running {current}; latest is {latest}",
                       "read the release notes for security fixes and upgrade (back up the database and "
                       "AP_ENCRYPTION_KEY first)", location=loc), info
    evidence = f"running {current}" + (f" (latest {latest})" if isinstance(latest, str) else "")
    return ok("http.version", "Activepieces version", evidence, severity="medium", location=loc), info


def check_site(opts: SiteOptions, *, url_only: bool = False, now: datetime | None = None) -> SiteResult:
    """Run every URL check. When ``url_only`` and nothing answers, raise URL_UNREACHABLE (exit 4)."""
    import httpx

    now = now or datetime.now(UTC)
    target = parse_site_url(opts.url)
    result = SiteResult()
    timeout = httpx.Timeout(opts.timeout)
    verify_ctx = None if opts.insecure else _verify_context(opts)

    # 1. http -> https
    if target.scheme == "http":
        http_t = target
        https_t = Target("https", target.host, 443, target.path)
    else:
        https_t = target
        http_t = Target("http", target.host, opts.http_port or 80, target.path)
    http_reached = False
    with httpx.Client(verify=False, timeout=timeout, follow_redirects=False, trust_env=False,
                      proxy=proxy_for(http_t.url, opts.proxy)) as plain:
        try:
            r = plain.get(http_t.url)
            http_reached = True
        except Exception as exc:
            r = None
            result.errors.append(f"{http_t.base()}: {_describe_error(exc)}")
    if r is not None:
        location = r.headers.get("location", "")
        dest = urlsplit(httpx.URL(http_t.url).join(location).__str__()) if location else None
        if r.status_code in (301, 308) and dest and dest.scheme == "https":
            if (dest.hostname or "").lower() != target.host.lower():
                result.findings.append(problem(
                    "http.redirect", "medium", "http redirects to another host",
                    f"{http_t.base()} answers {r.status_code} to https://{dest.hostname}",
                    f"redirect to https://{target.host}/ (the host in AP_FRONTEND_URL)", location=http_t.base()))
            else:
                result.findings.append(ok("http.redirect", "http redirects permanently to https",
                                          f"{http_t.base()} answers {r.status_code} to https://{dest.netloc}",
                                          severity="high", location=http_t.base()))
            if target.scheme == "http":
                https_t = Target("https", dest.hostname or target.host, dest.port or 443, target.path)
        elif r.status_code in (301, 302, 303, 307, 308) and dest and dest.scheme == "https":
            result.findings.append(problem(
                "http.redirect", "medium", "http redirect to https is temporary",
                f"{http_t.base()} answers {r.status_code} (temporary) to https",
                "answer 301 or 308 so clients and browsers remember the https URL", location=http_t.base()))
            if target.scheme == "http":
                https_t = Target("https", dest.hostname or target.host, dest.port or 443, target.path)
        else:
            where = f" to {dest.scheme}://{dest.hostname}" if dest else ""
            result.findings.append(problem(
                "http.redirect", "high", "Plain http is served, not redirected",
                f"{http_t.base()} answers {r.status_code}{where} instead of a 301/308 to https",
                "make the reverse proxy answer every http request with 301 to https://", location=http_t.base()))
    else:
        result.findings.append(problem(
            "http.redirect", "low", "Nothing answers on plain http",
            f"{http_t.base()}: {result.errors[-1].split(': ', 1)[1]}; users typing the bare host get an error",
            "answer http with a 301 to https (and keep HSTS on https)", location=http_t.base()))
    https_loc = https_t.base()

    # 2. TLS handshake, certificate
    der = None
    version = ""
    https_reached = False
    verified = False
    if opts.insecure:
        result.info["certificate"] = "not verified (--insecure)"
    else:
        try:
            version, der, cipher = _handshake(https_t, verify_ctx, opts.timeout)
            result.info["cipher"] = cipher
            https_reached = verified = True
            result.findings.append(ok("http.certificate", "Certificate is trusted",
                                      "valid chain" + (" (custom CA bundle)" if opts.ca_bundle else "")
                                      + f" for {https_t.host}", severity="high", location=https_loc))
        except ssl.SSLCertVerificationError as exc:
            https_reached = True
            result.findings.append(problem(
                "http.certificate", "high", "Certificate is not trusted",
                f"{exc.verify_message or 'verification failed'} for {https_t.host}",
                "install a certificate from a public CA (e.g. Let's Encrypt) or pass --ca-bundle for a private CA",
                location=https_loc))
        except ssl.SSLError as exc:
            https_reached = True
            result.errors.append(f"{https_loc}: {_describe_error(exc)}")
        except OSError as exc:
            result.errors.append(f"{https_loc}: {_describe_error(exc)}")
    if not verified and (opts.insecure or https_reached):
        try:
            version, der, cipher = _handshake(https_t, _unverified_context(any_version=True), opts.timeout)
            result.info["cipher"] = cipher
            https_reached = True
        except (OSError, ssl.SSLError) as exc:
            result.errors.append(f"{https_loc}: {_describe_error(exc)}")
            version = ""

    if not https_reached and not http_reached:
        reason = "; ".join(result.errors) or "no answer"
        if url_only:
            raise unreachable("URL_UNREACHABLE", f"{target.base()} is unreachable: {reason}",
                              hint="check the URL, DNS and firewall from this host")
        result.findings = [problem("http.reachable", "high", "The site cannot be reached", reason,
                                   "check the URL, DNS and firewall from this host; the URL checks did not run",
                                   location=target.base())]
        return result
    result.reachable = True

    if version:
        result.info["tls_version"] = version
        rank = TLS_ORDER.get(version, 0)
        if rank < TLS_ORDER["TLSv1.2"]:
            result.findings.append(problem("http.tls_version", "high", "Only an old TLS version is offered",
                                           f"negotiated {version}", "enable TLS 1.2 and 1.3 on the reverse proxy",
                                           location=https_loc))
        else:
            result.findings.append(ok("http.tls_version", "A modern TLS version is offered",
                                      f"negotiated {version}", severity="high", location=https_loc))
        legacy, cannot = _legacy_accepted(https_t, opts.timeout)
        if cannot:
            result.info["tls_legacy"] = cannot
        elif legacy:
            result.findings.append(problem("http.tls_legacy", "medium", "Old TLS versions still accepted",
                                           f"the server also accepts {', '.join(legacy)}",
                                           "set ssl_protocols TLSv1.2 TLSv1.3 (or the equivalent)", location=https_loc))
        else:
            result.findings.append(ok("http.tls_legacy", "TLS 1.0 and 1.1 are refused",
                                      "handshakes offering only TLS 1.0 or 1.1 fail", severity="medium",
                                      location=https_loc))
        result.findings += _cert_findings(der, https_loc, now)
    else:
        result.findings.append(problem("http.tls_version", "high", "No TLS on the https port",
                                       f"{https_loc}: " + (result.errors[-1].split(": ", 1)[1] if result.errors
                                                          else "handshake failed"),
                                       "serve Activepieces through an https reverse proxy (TLS 1.2+)",
                                       location=https_loc))
        return result

    # 3. HSTS and version flags over https
    client_verify = verify_ctx if verified else _unverified_context(any_version=True)
    with httpx.Client(verify=client_verify, timeout=timeout, follow_redirects=False, trust_env=False,
                      proxy=proxy_for(https_t.url, opts.proxy)) as client:
        try:
            r = client.get(https_t.url)
            header = r.headers.get("strict-transport-security")
            if not header:
                result.findings.append(problem(
                    "http.hsts", "medium", "No Strict-Transport-Security header",
                    f"{https_t.url} answers {r.status_code} without HSTS",
                    f'add "Strict-Transport-Security: max-age={HSTS_MIN}; includeSubDomains" on the https site',
                    location=https_loc))
            else:
                max_age, flags = parse_hsts(header)
                extra = (" with " + ", ".join(sorted(flags))) if flags else ""
                if max_age is None:
                    result.findings.append(problem("http.hsts", "medium", "HSTS header has no valid max-age",
                                                   "Strict-Transport-Security without a numeric max-age",
                                                   f"send max-age={HSTS_MIN} or more", location=https_loc))
                elif max_age == 0:
                    result.findings.append(problem("http.hsts", "high", "HSTS is switched off",
                                                   "max-age=0 tells browsers to forget the https policy",
                                                   f"send max-age={HSTS_MIN} or more", location=https_loc))
                elif max_age < HSTS_MIN:
                    result.findings.append(problem("http.hsts", "medium", "HSTS max-age is short",
                                                   f"max-age={max_age} (< {HSTS_MIN}, 180 days){extra}",
                                                   f"send max-age={HSTS_MIN} or more", location=https_loc))
                else:
                    result.findings.append(ok("http.hsts", "HSTS is on", f"max-age={max_age}{extra}",
                                              severity="medium", location=https_loc))
        except Exception as exc:
            result.errors.append(f"{https_t.url}: {_describe_error(exc)}")
            result.findings.append(problem("http.hsts", "medium", "HSTS could not be checked",
                                           _describe_error(exc), "check the https site answers GET /",
                                           location=https_loc))
        flag_finding, info = _flags_finding(client, https_t, https_loc)
        result.info.update(info)
        if flag_finding:
            result.findings.append(flag_finding)
    return result
