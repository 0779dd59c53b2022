"""Rendering an ``AuditReport`` as Markdown (for tickets and change reviews) or JSON-ready data."""

from __future__ import annotations

from typing import Any

from aptui.services.hardening.findings import SEVERITIES, AuditReport, Finding

TITLES = {"hardening": "Activepieces hardening audit", "pieces": "Private pieces review"}


def to_json(report: AuditReport) -> dict[str, Any]:
    return report.to_dict()


def _cell(text: Any) -> str:
    return str(text if text is not None else "").replace("|", "\\|").replace("\n", " ")


def _finding_md(f: Finding) -> list[str]:
    lines = [f"### [{f.severity.upper()}] {f.title}", "",
             f"- **Check:** `{f.id}`" + (f" — {f.subject}" if f.subject else "")]
    if f.location:
        lines.append(f"- **Where:** `{f.location}`")
    lines.append(f"- **Evidence:** {f.evidence}")
    if f.fix:
        lines.append(f"- **Fix:** {f.fix}")
    lines.append("")
    return lines


def to_markdown(report: AuditReport) -> str:
    s = report.summary()
    out = [f"# {TITLES.get(report.kind, report.kind)}", "", f"Generated {report.generated_at} by aptui.", ""]
    if report.targets:
        out += ["## Scope", ""]
        out += [f"- **{k}:** {_cell(v)}" for k, v in report.targets.items() if v not in (None, "", [])]
        out.append("")
    verdict = "**FAIL** — open high-severity findings" if s["blocking"] else "**PASS** — no open high-severity finding"
    out += ["## Summary", "", verdict, "", "| severity | open |", "|---|---|"]
    out += [f"| {sev} | {s['by_severity'][sev]} |" for sev in SEVERITIES]
    out += ["", f"{s['ok']} check(s) passed, {s['skipped']} skipped.", ""]
    pieces = report.extra.get("pieces")
    if pieces:
        out += ["## Pieces", "", "| piece | version | installed | findings | path |", "|---|---|---|---|---|"]
        for p in pieces:
            installed = p.get("installed_version") if p.get("installed") else (
                "no" if p.get("installed") is False else "not checked")
            out.append(f"| {_cell(p.get('name'))} | {_cell(p.get('version'))} | {_cell(installed)} | "
                       f"{p.get('open_findings', 0)} | `{_cell(p.get('path'))}` |")
        out.append("")
    open_items = report.open_findings
    out += ["## Open findings", ""]
    if not open_items:
        out += ["None.", ""]
    for f in open_items:
        out += _finding_md(f)
    passed = [f for f in report.sorted_findings() if not f.is_open]
    if passed:
        out += ["## Passed checks", "", "| check | evidence | where |", "|---|---|---|"]
        out += [f"| `{f.id}` {_cell(f.title)} | {_cell(f.evidence)} | {_cell(f.location)} |" for f in passed]
        out.append("")
    if report.skipped:
        out += ["## Not checked", ""]
        out += [f"- `{sk.check}`: {sk.reason}" for sk in report.skipped]
        out.append("")
    return "\n".join(out).rstrip() + "\n"
