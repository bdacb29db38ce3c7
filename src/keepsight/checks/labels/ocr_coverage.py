"""labels.ocr_coverage: characters of per-region text (OCR) that the training data covers too thinly.

A text recogniser cannot read a character it never saw in training, and reads badly one it saw a few
times; a character that the test split never holds is never measured.
"""

from __future__ import annotations

from collections import Counter
from typing import ClassVar

from pydantic import Field

from keepsight.checks.base import Check, CheckParams, CheckResult, Finding, Severity, Skip
from keepsight.checks.context import AuditContext
from keepsight.model.annotation import Sample


class OcrCoverageParams(CheckParams):
    """``attributes``: the region attributes that hold text, first match wins (``text`` is what keepsight's
    formats write; ``ocr`` and ``transcription`` are common in exports). ``min_examples`` 10: CRNN and
    transformer recognisers seldom learn a glyph from fewer than about ten occurrences, so a rarer character
    needs more data (or synthetic text). Whitespace is not a character to learn."""

    attributes: list[str] = Field(default_factory=lambda: ["text", "ocr", "transcription"],
                                  description="region attributes holding the transcription")
    min_examples: int = Field(10, ge=1, description="occurrences in train a character needs")
    case_sensitive: bool = Field(True, description="count 'a' and 'A' as different characters")


class OcrCoverage(Check):
    id = "labels.ocr_coverage"
    title = "Characters of the OCR text too rare or missing from a split"
    severity: ClassVar[Severity] = "warning"
    inputs = frozenset({"samples", "annotations"})
    action = "add images holding this character to train (or synthesise text with it)"
    Params = OcrCoverageParams
    params: OcrCoverageParams

    def _text(self, attributes: dict[str, object]) -> str | None:
        for key in self.params.attributes:
            value = attributes.get(key)
            if isinstance(value, str) and value.strip():
                return value if self.params.case_sensitive else value.upper()
        return None

    def run(self, ctx: AuditContext) -> CheckResult:
        counts: dict[str, Counter[str]] = {}
        holders: dict[tuple[str, str], list[Sample]] = {}  # (split, char) -> samples holding it
        texts = 0
        for s in ctx.samples:
            for a in ctx.regions(s.id):
                text = self._text(a.attributes)
                if text is None:
                    continue
                texts += 1
                chars = [c for c in text if not c.isspace()]
                counts.setdefault(s.split, Counter()).update(chars)
                for c in set(chars):
                    holders.setdefault((s.split, c), []).append(s)
        if not texts:
            raise Skip(f"no region carries text (attributes {', '.join(self.params.attributes)})")
        findings: list[Finding] = []
        reference = "train" if "train" in counts else None
        ref_counts = counts[reference] if reference else sum(counts.values(), Counter())
        for split in ("val", "test"):
            if reference is None or split not in counts:
                continue
            for char, n in sorted(counts[split].items()):
                if char not in ref_counts:
                    findings.append(self._finding(
                        f"character {char!r} appears {n} time(s) in {split} but never in train", char,
                        holders[(split, char)], split=split, severity="error", score=float(n),
                        evidence={"character": char, "count": n, "train_count": 0},
                    ))
        for char, n in sorted(ref_counts.items()):
            if n < self.params.min_examples:
                where = reference or "the dataset"
                samples = [s for (split, c), ss in holders.items()
                           if c == char and (reference is None or split == reference) for s in ss]
                findings.append(self._finding(
                    f"character {char!r} appears only {n} time(s) in {where} (fewer than {self.params.min_examples})",
                    char, samples, split=reference, score=float(self.params.min_examples - n),
                    evidence={"character": char, "count": n, "min_examples": self.params.min_examples},
                ))
        if reference and "test" in counts:
            untested = sorted(c for c in ref_counts if c not in counts["test"])
            if untested:
                findings.append(self.finding(
                    f"{len(untested)} character(s) of train never appear in test, so they are never measured: "
                    + "".join(untested[:40]), severity="info", split="test", score=float(len(untested)),
                    evidence={"characters": untested}, action="add test images holding these characters",
                ))
        return self.result(findings, texts=texts, characters=len(ref_counts),
                           characters_per_split={k: len(v) for k, v in counts.items()})

    def _finding(self, message: str, char: str, samples: list[Sample], *, split: str | None, score: float,
                 evidence: dict[str, object], severity: Severity | None = None) -> Finding:
        unique = sorted({s.id: s for s in samples}.values(), key=lambda s: s.path)
        return self.finding(message, severity=severity, samples=[s.id for s in unique],
                            paths=[s.path for s in unique], split=split, score=score, evidence=evidence)
