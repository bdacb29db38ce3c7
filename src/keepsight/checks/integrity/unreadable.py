"""integrity.unreadable: image files that cannot be decoded (corrupt, truncated, zero-byte, too large).

Such files never enter the catalog: the importer refuses them and records why (code ``image``).
Blobs the importer accepted but the describe stage could not decode are reported too.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from keepsight.checks._problems import image_problems
from keepsight.checks.base import Check, CheckParams, CheckResult, Finding, Severity
from keepsight.checks.context import AuditContext

_WHAT = {
    "empty": "the file is empty",
    "corrupt": "the file is corrupt or truncated",
    "too_large": "the image is over the pixel cap",
    "unsupported": "the file type is not an image keepsight reads",
    "not_a_file": "the name points at a folder",
}


class UnreadableParams(CheckParams):
    """``decode_check``: also report blobs the describe stage failed to decode. Default on: the describe
    stage runs once per audit and the image, similarity and learned checks need it anyway; turn it off to
    run the integrity checks alone without describing every image."""

    decode_check: bool = Field(True, description="report blobs the describe stage could not decode")


class UnreadableImages(Check):
    id = "integrity.unreadable"
    title = "Unreadable images"
    severity: ClassVar[Severity] = "error"
    inputs = frozenset({"samples", "problems", "descriptors"})
    action = "re-export or re-copy the file from the source; delete it from the dataset if it cannot be recovered"
    Params = UnreadableParams
    params: UnreadableParams

    def run(self, ctx: AuditContext) -> CheckResult:
        findings: list[Finding] = []
        for problem in image_problems(ctx):
            if problem.category not in _WHAT:
                continue  # missing files and name conflicts are other checks' business
            findings.append(self.finding(
                f"{_WHAT[problem.category]}, so the image was not imported: {problem.reason}",
                paths=[problem.path], score=1.0, evidence=problem.evidence(),
            ))
        refused = len(findings)
        if self.params.decode_check:
            by_blob: dict[str, list[tuple[int, str]]] = {}
            for s in ctx.samples:
                by_blob.setdefault(s.blob, []).append((s.id, s.path))
            for digest, reason in sorted(ctx.describe_failed.items()):
                holders = by_blob.get(digest, [])
                if not holders:
                    continue
                findings.append(self.finding(
                    f"the image was imported but its pixels cannot be decoded: {reason}",
                    samples=[h[0] for h in holders], paths=[h[1] for h in holders], score=1.0,
                    evidence={"category": "decode_failed", "reason": reason, "digest": digest},
                ))
        return self.result(findings, refused_at_import=refused, undecodable_blobs=len(findings) - refused)
