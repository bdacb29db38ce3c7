"""labels.unknown_class: annotations whose class is not in the label book."""

from __future__ import annotations

from typing import ClassVar

from keepsight.checks.base import Check, CheckResult, Finding, Severity
from keepsight.checks.context import AuditContext


class UnknownClass(Check):
    id = "labels.unknown_class"
    title = "Classes missing from the label book"
    severity: ClassVar[Severity] = "error"
    inputs = frozenset({"samples", "annotations", "labelbook"})
    action = "add the class to labelbook.yaml (with its allowed tools), or rename the annotation to a known class"

    def run(self, ctx: AuditContext) -> CheckResult:
        known = set(ctx.labelbook.names())
        by_label: dict[str, list[tuple[int, str, str]]] = {}
        for s in ctx.samples:
            for a in ctx.annotations.get(s.id, []):
                if a.label not in known:
                    by_label.setdefault(a.label, []).append((s.id, s.path, a.uid or ""))
        findings: list[Finding] = []
        for label, hits in sorted(by_label.items()):
            findings.append(self.finding(
                f"class {label!r} is used by {len(hits)} annotation(s) but is not in the label book",
                samples=sorted({h[0] for h in hits}), paths=sorted({h[1] for h in hits}),
                annotations=[h[2] for h in hits], label=label, score=float(len(hits)),
                evidence={"annotations": len(hits), "known_classes": sorted(known)},
            ))
        return self.result(findings, unknown_classes=len(findings))
