"""Request and response bodies of the REST API (they make ``/openapi.json``)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from keepsight.model.geometry import Kind
from keepsight.service.roles import Role


def _utc(value: datetime) -> datetime:
    """SQLite hands back naive datetimes; everything keepsight stores is UTC, so say so on the wire."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


Stamp = Annotated[datetime, AfterValidator(_utc)]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Ok(BaseModel):
    status: str = "ok"


class ErrorOut(BaseModel):
    detail: str
    code: str


# -- accounts -------------------------------------------------------------------------------

class LoginIn(Body):
    name: str
    password: str


class LoginOut(BaseModel):
    token: str
    token_type: str = "bearer"
    expires_at: Stamp | None
    user: str
    role: Role


class MeOut(BaseModel):
    user: str
    role: Role
    dataset: str
    token_id: int


class TokenIn(Body):
    name: str = Field(..., min_length=1, max_length=128)
    days: float | None = Field(None, gt=0, description="lifetime in days (default: until revoked)")


class TokenCreatedOut(BaseModel):
    id: int
    name: str
    token: str = Field(..., description="shown once: only its hash is stored")
    expires_at: Stamp | None


class TokenOut(BaseModel):
    id: int
    name: str
    kind: str
    created_at: Stamp
    expires_at: Stamp | None
    last_used_at: Stamp | None
    revoked: bool


class UserIn(Body):
    name: str = Field(..., min_length=1, max_length=128)
    role: Role
    password: str | None = Field(None, min_length=8, description="None: the user signs in with API tokens only")


class UserPatch(Body):
    role: Role | None = None
    password: str | None = Field(None, min_length=8)
    active: bool | None = None


class UserOut(BaseModel):
    id: int
    name: str
    role: Role
    active: bool
    created_at: Stamp


class AuditEntryOut(BaseModel):
    id: int
    at: Stamp
    user_name: str | None
    role: str | None
    method: str
    path: str
    action: str
    status: int
    details: dict[str, Any]


class InfoOut(BaseModel):
    dataset: str
    samples: int
    annotations: dict[str, int]
    classes: list[str]
    roles: list[str]
    limits: dict[str, int]
    version: str


# -- annotations ----------------------------------------------------------------------------

class AnnotationModel(BaseModel):
    uid: str | None = Field(None, description="32 hex digits; new annotations may leave it out")
    label: str
    kind: Kind
    geometry: Any = Field(None, description="keepsight geometry JSON in absolute pixels (see docs/service.md)")
    attributes: dict[str, Any] = Field(default_factory=dict)
    revision: int | None = Field(None, description="catalog revision; None for an annotation not in the catalog yet")


class AnnotationSetOut(BaseModel):
    revision: int
    annotations: list[AnnotationModel]


class AnnotationSaveIn(Body):
    base_revision: int = Field(..., ge=0, description="the revision the edit started from")
    annotations: list[AnnotationModel]


class ConflictOut(BaseModel):
    detail: str
    code: str
    revision: int = Field(..., description="the current revision: save again with this as base_revision")
    annotations: list[AnnotationModel] = Field(..., description="the current content, to merge your change into")


class FindingOut(BaseModel):
    check: str | None
    severity: str | None
    message: str | None
    label: str | None
    annotations: list[str] | None
    score: float | None
    evidence: dict[str, Any] | None
    action: str | None


class FindingsOut(BaseModel):
    run_id: str | None
    findings: list[FindingOut]


class SampleOut(BaseModel):
    id: int
    path: str
    width: int
    height: int
    split: str
    verdict: str | None
    format: str
    annotations: int


# -- label book -----------------------------------------------------------------------------

class ExampleIn(Body):
    sample_id: int
    counter: bool = Field(False, description="True: a counter-example, what the class is not")
    note: str = ""


class ExampleOut(BaseModel):
    id: int
    sample_id: int
    path: str
    width: int
    height: int
    counter: bool
    note: str
    added_by: str | None
    added_at: Stamp
    image_url: str


class AttributeOut(BaseModel):
    type: str
    choices: list[str]
    required: bool


class ClassPageOut(BaseModel):
    name: str
    description: str
    kinds: list[str]
    tools: list[str] = Field(..., description="the drawing tools the annotation page offers for this class")
    orientation: str
    orientation_rule: str
    colour: str
    is_defect: bool | None
    attributes: dict[str, AttributeOut]
    examples: list[ExampleOut]
    counter_examples: list[ExampleOut]


class LabelBookOut(BaseModel):
    rules: list[str]
    classes: list[ClassPageOut]


class ClassPatch(Body):
    description: str | None = None
    kinds: list[Kind] | None = None
    orientation: Literal["directed", "axial", "none"] | None = None
    colour: str | None = None


# -- tasks, jobs, review --------------------------------------------------------------------

class TaskOut(BaseModel):
    id: int
    name: str
    description: str
    query: dict[str, Any]
    job_size: int
    consensus_share: float
    consensus_annotators: int
    gold_per_job: int
    deadline: Stamp | None
    state: str
    created_by: str | None
    created_at: Stamp
    jobs: dict[str, int] = Field(..., description="jobs per state")


class AssignIn(Body):
    annotators: list[str] = Field(default_factory=list, description="only these users (default: every annotator)")


class AssignOut(BaseModel):
    assigned: int
    unassigned: int
    jobs_per_user: dict[str, int]


class MergeIn(Body):
    min_votes: int | None = Field(None, ge=1, description="annotators who must agree (default: a majority)")


class MergeOut(BaseModel):
    sample_id: int
    copies: int
    accepted: int
    state: Literal["merged", "waiting", "conflict"]
    annotations: int | None = None
    inserted: int | None = None
    updated: int | None = None
    deleted: int | None = None
    kept_theirs: int | None = None
    reason: str | None = None


class AgreementRowOut(BaseModel):
    matched: int
    regions: int
    agreement: float | None = Field(..., description="2 x matched / regions: the F1 between annotators")
    mean_iou: float | None
    fleiss_kappa: float | None = None
    samples: int | None = None
    cohen_kappa: float | None = None


class AgreementOut(BaseModel):
    samples: int
    iou_threshold: float
    per_class: dict[str, AgreementRowOut]
    per_annotator: dict[str, AgreementRowOut]
    overall: AgreementRowOut


class QualityOut(BaseModel):
    user: str
    gold_f1: float | None
    agreement: float | None
    acceptance: float | None
    gold_images: int
    consensus_images: int
    reviewed_images: int
    score: float | None


class JobOut(BaseModel):
    id: int
    task_id: int
    state: str
    assignee: str | None
    deadline: Stamp | None
    overdue: bool
    comment: str | None
    submitted_at: Stamp | None
    reviewed_by: str | None
    reviewed_at: Stamp | None
    images: int
    reviews: dict[str, int] = Field(..., description="images per review state")


class JobItemOut(BaseModel):
    id: int
    sample_id: int
    position: int
    path: str
    width: int
    height: int
    review: str
    review_comment: str | None
    role: str | None = Field(None, description="normal | consensus | gold; hidden from annotators")
    gold_score: float | None = None
    committed_at: Stamp | None = None


class ReviewEventOut(BaseModel):
    reviewer: str
    decision: str
    comment: str | None
    item_id: int | None
    at: Stamp


class JobDetailOut(JobOut):
    items: list[JobItemOut]
    history: list[ReviewEventOut]


class JobPatch(Body):
    deadline: Stamp | None


class AssigneeIn(Body):
    user: str | None = Field(..., description="the user to give the job to; null takes it back")


class _Decision(Body):
    comment: str | None = None
    resolve: Literal["ours", "theirs"] | None = Field(
        None, description="when an annotation changed in the catalog and in the draft: which side wins")


class JobReviewIn(_Decision):
    decision: Literal["accept", "reject"]

    @model_validator(mode="after")
    def _comment_on_reject(self) -> JobReviewIn:
        if self.decision == "reject" and not (self.comment or "").strip():
            raise ValueError("a rejection needs a comment telling the annotator what to fix")
        return self


class ItemReviewIn(_Decision):
    verdict: Literal["accept", "reject"]

    @model_validator(mode="after")
    def _comment_on_reject(self) -> ItemReviewIn:
        if self.verdict == "reject" and not (self.comment or "").strip():
            raise ValueError("a rejection needs a comment telling the annotator what to fix")
        return self


class ReviewOut(BaseModel):
    job_state: str
    item_review: str | None = None
    committed: dict[str, int] = Field(default_factory=dict, description="catalog changes the acceptance made")


# -- gold, uploads, exports -----------------------------------------------------------------

class GoldIn(Body):
    annotations: list[AnnotationModel]


class GoldOut(BaseModel):
    sample_id: int
    path: str
    annotations: list[AnnotationModel]
    updated_by: str | None
    updated_at: Stamp


class UploadOut(BaseModel):
    id: str
    filename: str
    length: int
    offset: int
    sha256: str
    state: str
    expires_at: Stamp
    result: dict[str, Any] | None
    error: str | None


class ExportIn(Body):
    format: str
    splits: list[str] = Field(default_factory=list)
    strict: bool = False


class ExportOut(BaseModel):
    id: str
    format: str
    options: dict[str, Any]
    size: int
    sha256: str
    report: dict[str, Any]
    created_by: str | None
    url: str = Field(..., description="signed download link, valid until 'expires'")
    expires: int = Field(..., description="unix time the link expires")
