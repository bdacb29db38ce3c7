"""labels.kind_mismatch: a class drawn with a tool its label-book entry does not allow, or with mixed tools.

A detector trained on boxes and polygons of the same class learns two different notions of its
extent; a class whose label book says ``kinds: [box]`` but holds rotated boxes loses them on export.
"""

from __future__ import annotations

from collections import Counter
from typing import Any, ClassVar

from pydantic import Field

from keepsight.checks._regions import box_evidence
from keepsight.checks.base import Check, CheckParams, CheckResult, Finding, Severity
from keepsight.checks.context import AuditContext
from keepsight.model.annotation import Annotation, Sample


class KindMismatchParams(CheckParams):
    """``equivalent``: groups of kinds that count as one tool when judging a mix. Default polygon = mask:
    both are area segmentations that trainers rasterise the same way, and COCO itself stores crowd regions
    as RLE masks next to polygons. Tags never count: an image-level class next to its regions (a folder
    named after the defect plus the defect's mask) is the usual layout, not a mix."""

    equivalent: list[list[str]] = Field(default_factory=lambda: [["polygon", "mask"]],
                                        description="kinds that count as the same tool")
    mixed: bool = Field(True, description="report classes drawn with more than one tool")


class KindMismatch(Check):
    id = "labels.kind_mismatch"
    title = "Classes drawn with the wrong or with mixed tools"
    severity: ClassVar[Severity] = "warning"
    inputs = frozenset({"samples", "annotations", "labelbook"})
    action = "redraw these regions with the class's tool (or convert them), or allow the tool in labelbook.yaml"
    Params = KindMismatchParams
    params: KindMismatchParams

    def _tool(self, kind: str) -> str:
        for group in self.params.equivalent:
            if kind in group:
                return "/".join(group)
        return kind

    def run(self, ctx: AuditContext) -> CheckResult:
        by_class: dict[str, list[tuple[Sample, Annotation]]] = {}
        for s in ctx.samples:
            for a in ctx.annotations.get(s.id, []):
                by_class.setdefault(a.label, []).append((s, a))
        findings: list[Finding] = []
        for label, hits in sorted(by_class.items()):
            spec = ctx.labelbook.classes.get(label)
            allowed = set(spec.kinds) if spec is not None and spec.kinds else None
            if allowed is not None:
                wrong = [(s, a) for s, a in hits if a.kind not in allowed]
                if wrong:
                    kinds = sorted({a.kind for _, a in wrong})
                    findings.append(self._finding(
                        f"class {label!r} allows {', '.join(sorted(allowed))} but {len(wrong)} annotation(s) are drawn "
                        f"as {', '.join(kinds)}", label, wrong, severity="error",
                        evidence={"allowed": sorted(allowed), "used": kinds},
                    ))
                    hits = [(s, a) for s, a in hits if a.kind in allowed]
            if not self.params.mixed:
                continue
            tools = Counter(self._tool(a.kind) for _, a in hits if a.kind != "tag")
            if len(tools) < 2:
                continue
            main, _ = tools.most_common(1)[0]
            minority = [(s, a) for s, a in hits if a.kind != "tag" and self._tool(a.kind) != main]
            findings.append(self._finding(
                f"class {label!r} is drawn with {len(tools)} tools: "
                + ", ".join(f"{n} as {tool}" for tool, n in tools.most_common()), label, minority,
                evidence={"tools": dict(tools.most_common()), "main_tool": main},
            ))
        return self.result(findings, classes_checked=len(by_class))

    def _finding(self, message: str, label: str, hits: list[tuple[Sample, Annotation]], *,
                 evidence: dict[str, Any], severity: Severity | None = None) -> Finding:
        samples = sorted({s.id: s for s, _ in hits}.values(), key=lambda s: s.path)
        evidence = {**evidence, **box_evidence(hits)}
        return self.finding(
            message, severity=severity, samples=[s.id for s in samples], paths=[s.path for s in samples],
            annotations=[a.uid or "" for _, a in hits], label=label, score=float(len(hits)), evidence=evidence,
        )
