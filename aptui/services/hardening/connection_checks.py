"""Checks of aptui's own secret-manager connections: Vault/Conjur URLs in plain http://.

A Vault AppRole or a Conjur API key sent over http:// to a non-loopback host crosses the network in
clear. aptui refuses such URLs unless the connection carries the lab flag ``allowHttp``; this check
lists the connections that do, so a lab setting left on a real deployment shows up. Reads only the
connections' public config (URL, flag); never opens (creates) a store that does not exist.
"""

from __future__ import annotations

from aptui.net import host_of, plain_http
from aptui.providers.fields import flag
from aptui.services.hardening.findings import Finding, ok, problem

CHECK = "connection.plain_http"
PROVIDERS = ("hashicorp", "cyberark-conjur")


def check_connections(ctx) -> tuple[list[Finding], str | None]:
    """``(findings, None)`` or ``([], reason to skip)``."""
    from aptui.store import connections

    if ctx is None:
        return [], "no local context"
    if not ctx.store_exists:
        return [], "no local aptui store yet"
    conns = [c for c in connections.list_all(ctx.store) if c.provider_id in PROVIDERS]
    bad = [c for c in conns if plain_http(c.public_config.get("url", ""))]
    if not bad:
        return [ok(CHECK, "Vault/Conjur connections use https:// (or loopback)",
                   f"{len(conns)} Vault/Conjur connection(s) checked")], None
    findings = []
    for c in bad:
        lab = " with the lab flag allowHttp" if flag(c.public_config, "allowHttp") else ""
        findings.append(problem(
            CHECK, "high", f"connection '{c.name}' sends its credentials over plain http://",
            f"{c.provider_id} connection '{c.name}' ({c.id}) uses http://{host_of(c.public_config['url'])}{lab}",
            "use https:// (and caBundle for a private CA); keep allowHttp for labs only",
            location=c.name))
    return findings, None
