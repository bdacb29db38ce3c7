"""integrity.missing_file: annotation entries whose image file does not exist.

The importer cannot store what is not there; it records each such entry (code ``missingfile``)
with the annotation file and element that named it.
"""

from __future__ import annotations

from typing import ClassVar

from keepsight.checks._problems import image_problems
from keepsight.checks.base import Check, CheckResult, Finding, Severity
from keepsight.checks.context import AuditContext


class MissingFiles(Check):
    id = "integrity.missing_file"
    title = "Annotated images that do not exist"
    severity: ClassVar[Severity] = "error"
    inputs = frozenset({"samples", "problems"})
    action = ("copy the missing image into the dataset folder (check the path's spelling and case), "
              "or delete the annotation entry")

    def run(self, ctx: AuditContext) -> CheckResult:
        findings: list[Finding] = []
        for problem in image_problems(ctx):
            if problem.category != "missing":
                continue
            named_by = f" (named by {problem.element})" if problem.element else ""
            findings.append(self.finding(
                f"the annotations name an image that is not there{named_by}; its annotations were not imported",
                paths=[problem.path], score=1.0, evidence=problem.evidence(),
            ))
        return self.result(findings, missing_files=len(findings))
