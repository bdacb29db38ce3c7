"""What every check shares: findings, results, severities, and the ``Check`` base class.

One check = one file = one class (cleanlab's IssueManager, made stricter): a check declares
its id, the inputs it reads from the :class:`~keepsight.checks.context.AuditContext` and a typed
params model, and returns a :class:`CheckResult`. Checks never decode images or recompute
descriptors on their own when the context has them: data flows one way.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict

if TYPE_CHECKING:
    from keepsight.checks.context import AuditContext

Severity = Literal["error", "warning", "info"]
SEVERITIES: tuple[Severity, ...] = ("error", "warning", "info")
SEVERITY_RANK: dict[str, int] = {"error": 2, "warning": 1, "info": 0}

# What a check may read from the context; the runner prepares only what the chosen checks need.
Input = Literal["samples", "annotations", "labelbook", "problems", "descriptors", "similarity", "images"]


@dataclass
class Finding:
    """One problem, on one or more samples (a leak pair names two), with the evidence to show."""

    check: str
    severity: Severity
    message: str
    samples: list[int] = field(default_factory=list)  # sample ids
    paths: list[str] = field(default_factory=list)  # the samples' paths, or the file named by an import problem
    annotations: list[str] = field(default_factory=list)  # annotation uids
    label: str | None = None  # the class concerned, when there is one
    split: str | None = None
    score: float | None = None  # how strongly the check believes it (higher = more certain)
    evidence: dict[str, Any] = field(default_factory=dict)  # JSON-safe: boxes to draw, distances, counts
    action: str = ""  # what to do about it, in plain words

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class CheckResult:
    check: str
    title: str
    status: Literal["ok", "skipped", "failed"] = "ok"
    findings: list[Finding] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)  # one row: counts and rates a report tabulates
    reason: str | None = None  # why it was skipped or failed
    seconds: float = 0.0  # wall seconds of the check itself (shared stages it waited for are not in it)
    cpu_seconds: float = 0.0  # CPU seconds of the check itself, all threads and worker processes
    stage_seconds: float = 0.0  # wall seconds of shared stages (describe, same-object engine) first run for it

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = dict.fromkeys(SEVERITIES, 0)
        for f in self.findings:
            out[f.severity] += 1
        return out

    def as_dict(self) -> dict[str, Any]:
        return {
            "check": self.check, "title": self.title, "status": self.status, "reason": self.reason,
            "seconds": round(self.seconds, 3), "cpu_seconds": round(self.cpu_seconds, 3),
            "stage_seconds": round(self.stage_seconds, 3), "counts": self.counts(), "summary": self.summary,
        }


class CheckParams(BaseModel):
    """Base for a check's params; unknown keys are an error so typos in keepsight.yaml surface."""

    model_config = ConfigDict(extra="forbid")
    severity: Severity | None = None  # override the check's default severity for all its findings


class Skip(Exception):  # noqa: N818 - a control-flow signal, not an error
    """Raised by a check that does not apply to this dataset (e.g. no rotated boxes); the reason is shown."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Check(ABC):
    id: ClassVar[str]
    title: ClassVar[str]
    severity: ClassVar[Severity] = "warning"
    action: ClassVar[str] = ""  # the default suggested action of this check's findings
    inputs: ClassVar[frozenset[str]] = frozenset({"samples", "annotations"})
    Params: ClassVar[type[CheckParams]] = CheckParams

    def __init__(self, params: CheckParams | None = None) -> None:
        self.params = params if params is not None else self.Params()

    @abstractmethod
    def run(self, ctx: AuditContext) -> CheckResult:
        """Compute, score, threshold. Raise :class:`Skip` when the check does not apply."""

    # Helpers so that every check builds its output the same way.
    def finding(self, message: str, *, severity: Severity | None = None, **fields: Any) -> Finding:
        chosen = self.params.severity or severity or self.severity
        fields.setdefault("action", self.action)
        return Finding(check=self.id, severity=chosen, message=message, **fields)

    def result(self, findings: list[Finding], **summary: Any) -> CheckResult:
        return CheckResult(check=self.id, title=self.title, findings=findings, summary=summary)
