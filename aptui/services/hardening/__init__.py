"""The hardening audit of a self-hosted Activepieces (env file, compose file, live URL, API).

Public API (plain data, no printing; the CLI and the Audit pane render it):

- ``audit_hardening(ctx, HardeningOptions(...), api=None, progress=cb) -> AuditReport`` (async)
- ``discover(directory) -> HardeningOptions`` — ``.env`` / compose file found in a directory
- ``AuditReport`` (``findings``, ``skipped``, ``summary()``, ``has_blocking``, ``to_dict()``),
  ``Finding`` (id, severity, title, evidence, fix, status, category, location, subject)
- ``to_markdown(report)`` / ``to_json(report)``
- ``Progress``: ``cb(message, done, total)``, called before each step
"""

from aptui.services.hardening.findings import SEVERITIES, AuditReport, Finding, Progress, Skipped
from aptui.services.hardening.report import to_json, to_markdown
from aptui.services.hardening.runner import HardeningOptions, audit_hardening, discover

__all__ = ["SEVERITIES", "AuditReport", "Finding", "HardeningOptions", "Progress", "Skipped", "audit_hardening",
           "discover", "to_json", "to_markdown"]
