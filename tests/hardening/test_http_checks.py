"""URL checks against a local HTTPS site (self-signed, generated now) and a plain-HTTP listener."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from aptui.errors import AptuiError
from aptui.services.hardening.http_checks import SiteOptions, check_site, parse_hsts, parse_site_url


def run(site, **kw):
    opts = SiteOptions(url=kw.pop("url", site.https_url), http_port=kw.pop("http_port", site.http_port),
                       timeout=kw.pop("timeout", 3.0), **kw)
    result = check_site(opts, url_only=True)
    return {f.id: f for f in result.findings}, result


def test_self_signed_certificate_is_reported_and_other_checks_continue(site):
    found, result = run(site)
    cert = found["http.certificate"]
    assert cert.is_open and cert.severity == "high" and "self-signed" in cert.evidence
    tls = found["http.tls_version"]
    assert tls.status == "ok" and tls.evidence.startswith("negotiated TLSv1.")
    assert found["http.hsts"].status == "ok" and "max-age=31536000" in found["http.hsts"].evidence
    assert found["http.redirect"].status == "ok" and "301" in found["http.redirect"].evidence
    assert found["http.tls_legacy"].status == "ok"
    assert found["http.certificate.expiry"].status == "ok"
    assert result.reachable and result.info["tls_version"] in ("TLSv1.2", "TLSv1.3")


def test_ca_bundle_makes_the_certificate_trusted(site, site_cert):
    found, _ = run(site, ca_bundle=str(site_cert.cert_pem))
    assert found["http.certificate"].status == "ok" and "custom CA bundle" in found["http.certificate"].evidence


def test_insecure_skips_verification(site):
    found, result = run(site, insecure=True)
    assert "http.certificate" not in found and result.info["certificate"] == "not verified (--insecure)"
    assert found["http.tls_version"].status == "ok"


def test_bad_ca_bundle_is_a_usage_error(site, tmp_path):
    bogus = tmp_path / "ca.pem"
    bogus.write_text("not a certificate")
    with pytest.raises(AptuiError) as exc:
        run(site, ca_bundle=str(bogus))
    assert exc.value.exit_code == 2


@pytest.mark.parametrize("header,status,severity,text", [
    (None, "open", "medium", "without HSTS"),
    ("max-age=3600", "open", "medium", "max-age=3600"),
    ("max-age=0", "open", "high", "forget"),
    ("includeSubDomains", "open", "medium", "numeric max-age"),
    ("max-age=15552000; preload", "ok", "medium", "preload"),
])
def test_hsts(site, header, status, severity, text):
    site.config.hsts = header
    found, _ = run(site, insecure=True)
    f = found["http.hsts"]
    assert (f.status, f.severity) == (status, severity) and text in f.evidence


def test_parse_hsts():
    assert parse_hsts('max-age="31536000"; includeSubDomains; preload') == (31536000, {"includesubdomains", "preload"})
    assert parse_hsts("max-age=abc") == (None, set())


@pytest.mark.parametrize("status,severity,state", [(308, "high", "ok"), (302, "medium", "open"),
                                                   (307, "medium", "open"), (200, "high", "open")])
def test_redirect_statuses(site, status, severity, state):
    site.config.redirect_status = status
    found, _ = run(site, insecure=True)
    f = found["http.redirect"]
    assert (f.status, f.severity) == (state, severity) and str(status) in f.evidence


def test_redirect_to_another_host(site):
    site.config.redirect_to = "https://elsewhere.example.com/"
    found, _ = run(site, insecure=True)
    f = found["http.redirect"]
    assert f.is_open and f.severity == "medium" and "elsewhere.example.com" in f.evidence


def test_redirect_to_plain_http_is_not_enough(site):
    site.config.redirect_to = "http://127.0.0.1/"
    found, _ = run(site, insecure=True)
    assert found["http.redirect"].severity == "high" and found["http.redirect"].is_open


def test_no_http_listener_is_low(site, free_port):
    found, _ = run(site, insecure=True, http_port=free_port)
    f = found["http.redirect"]
    assert f.is_open and f.severity == "low" and "connection refused" in f.evidence


def test_http_url_follows_the_redirect_to_https(site):
    site.config.redirect_to = site.https_url + "/"
    found, _ = run(site, url=site.http_url, http_port=None, insecure=True)
    assert found["http.redirect"].status == "ok"
    assert found["http.tls_version"].status == "ok" and found["http.hsts"].status == "ok"


def test_http_only_site(site):
    site.config.redirect_status = 200
    found, _ = run(site, url=site.http_url, http_port=None, insecure=True, timeout=1.0)
    assert found["http.redirect"].is_open and found["http.redirect"].severity == "high"
    assert found["http.tls_version"].is_open and "No TLS" in found["http.tls_version"].title


def test_plain_http_on_the_https_port(site):
    found, _ = run(site, url=f"https://127.0.0.1:{site.http_port}", http_port=site.http_port)
    f = found["http.tls_version"]
    assert f.is_open and f.severity == "high"


def test_legacy_tls_versions(make_site):
    s = make_site(legacy=True)
    found, _ = run(s, insecure=True)
    assert found["http.tls_version"].status == "ok"
    legacy = found["http.tls_legacy"]
    assert legacy.is_open and legacy.severity == "medium" and "TLSv1.1" in legacy.evidence


def test_only_old_tls(make_site):
    s = make_site(legacy_only=True)
    found, _ = run(s)
    f = found["http.tls_version"]
    assert f.is_open and f.severity == "high" and "TLSv1.1" in f.evidence


def test_certificate_expiring_soon_and_expired(make_site):
    s = make_site(days=5)
    found, _ = run(s, insecure=True)
    f = found["http.certificate.expiry"]
    assert f.is_open and f.severity == "medium" and ("in 4 days" in f.evidence or "in 5 days" in f.evidence)
    later = datetime.now(UTC) + timedelta(days=30)
    result = check_site(SiteOptions(url=s.https_url, http_port=s.http_port, insecure=True, timeout=3), now=later)
    f = {x.id: x for x in result.findings}["http.certificate.expiry"]
    assert f.is_open and f.severity == "high" and "expired" in f.evidence


def test_version_flags(site):
    site.config.flags = {"CURRENT_VERSION": "0.50.1", "LATEST_VERSION": "0.72.0"}
    found, result = run(site, insecure=True)
    f = found["http.version"]
    assert f.is_open and f.severity == "medium" and "0.50.1" in f.evidence and "0.72.0" in f.evidence
    site.config.flags = None  # no JSON flags: the check is simply absent
    found, result = run(site, insecure=True)
    assert "http.version" not in found and "flags_error" in result.info


def test_unreachable_url_only_exits_4(free_port):
    with pytest.raises(AptuiError) as exc:
        check_site(SiteOptions(url=f"https://127.0.0.1:{free_port}", http_port=free_port, timeout=2), url_only=True)
    assert exc.value.code == "URL_UNREACHABLE" and exc.value.exit_code == 4
    assert "connection refused" in exc.value.message


def test_unreachable_with_other_inputs_is_a_finding(free_port):
    result = check_site(SiteOptions(url=f"https://127.0.0.1:{free_port}", http_port=free_port, timeout=2))
    assert [f.id for f in result.findings] == ["http.reachable"] and result.findings[0].blocking
    assert not result.reachable


@pytest.mark.parametrize("url", ["ftp://ap.example.com", "ap.example.com", "https://", "https://u:p@ap.example.com",
                                 "https://ap.example.com:99999"])
def test_bad_urls_are_usage_errors(url):
    with pytest.raises(AptuiError) as exc:
        parse_site_url(url)
    assert exc.value.exit_code == 2 and "p@" not in exc.value.message.replace("u:p@", "")


def test_api_suffix_is_dropped():
    t = parse_site_url("https://ap.example.com/api")
    assert t.path == "/" and t.port == 443 and t.base() == "https://ap.example.com"
