"""What an audit produces: findings (open or ok) gathered in a report.

A finding's ``evidence`` describes a value ("set, 32 chars, hex"), never the value itself.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from aptui.clock import utc_now_iso

SEVERITIES: tuple[str, ...] = ("high", "medium", "low", "info")
SEVERITY_RANK = {name: i for i, name in enumerate(SEVERITIES)}
OPEN, OK = "open", "ok"

# progress(message, done, total): called before each step; ``total`` may grow as work is found.
Progress = Callable[[str, int, int], None]


def no_progress(message: str, done: int, total: int) -> None:
    """The default progress callback: ignore."""


@dataclass
class Finding:
    """One checked thing: ``status`` is ``open`` (a problem) or ``ok`` (checked and clean)."""

    id: str
    severity: str
    title: str
    evidence: str
    fix: str = ""
    status: str = OPEN
    category: str = ""
    location: str | None = None
    subject: str | None = None  # e.g. the piece name, for per-piece grouping

    def __post_init__(self) -> None:
        if self.severity not in SEVERITY_RANK:
            raise ValueError(f"unknown severity {self.severity!r}")
        if self.status not in (OPEN, OK):
            raise ValueError(f"unknown status {self.status!r}")
        if not self.category:
            self.category = self.id.split(".", 1)[0]

    @property
    def is_open(self) -> bool:
        return self.status == OPEN

    @property
    def blocking(self) -> bool:
        """An open high-severity finding: the audit exits 1."""
        return self.is_open and self.severity == "high"

    def sort_key(self) -> tuple:
        return (self.status != OPEN, SEVERITY_RANK[self.severity], self.category, self.id, self.location or "")

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.id, "severity": self.severity, "status": self.status, "category": self.category,
            "title": self.title, "evidence": self.evidence, "fix": self.fix,
        }
        if self.location:
            data["location"] = self.location
        if self.subject:
            data["subject"] = self.subject
        return data


def ok(id: str, title: str, evidence: str, *, severity: str = "info", **kw: Any) -> Finding:
    """A passed check. ``severity`` is what it would have been if open (kept for the report)."""
    return Finding(id=id, severity=severity, title=title, evidence=evidence, status=OK, **kw)


def problem(id: str, severity: str, title: str, evidence: str, fix: str, **kw: Any) -> Finding:
    return Finding(id=id, severity=severity, title=title, evidence=evidence, fix=fix, status=OPEN, **kw)


@dataclass
class Skipped:
    """A check that could not run, and why (no secret in ``reason``)."""

    check: str
    reason: str

    def to_dict(self) -> dict[str, str]:
        return {"check": self.check, "reason": self.reason}


@dataclass
class AuditReport:
    """The result of one audit run (hardening or pieces)."""

    kind: str
    targets: dict[str, Any] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)
    generated_at: str = field(default_factory=utc_now_iso)

    def add(self, items: Iterable[Finding] | Finding | None) -> None:
        if items is None:
            return
        if isinstance(items, Finding):
            self.findings.append(items)
        else:
            self.findings.extend(items)

    def skip(self, check: str, reason: str) -> None:
        self.skipped.append(Skipped(check, reason))

    def sorted_findings(self) -> list[Finding]:
        return sorted(self.findings, key=Finding.sort_key)

    @property
    def open_findings(self) -> list[Finding]:
        return [f for f in self.sorted_findings() if f.is_open]

    @property
    def has_blocking(self) -> bool:
        return any(f.blocking for f in self.findings)

    def summary(self) -> dict[str, Any]:
        counts = {s: 0 for s in SEVERITIES}
        for f in self.findings:
            if f.is_open:
                counts[f.severity] += 1
        return {
            "open": sum(counts.values()),
            "ok": sum(1 for f in self.findings if not f.is_open),
            "by_severity": counts,
            "skipped": len(self.skipped),
            "blocking": self.has_blocking,
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "generated_at": self.generated_at,
            "targets": self.targets,
            "summary": self.summary(),
            "findings": [f.to_dict() for f in self.sorted_findings()],
            "skipped": [s.to_dict() for s in self.skipped],
            **self.extra,
        }
