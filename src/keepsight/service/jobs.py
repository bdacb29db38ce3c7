"""The life of a job: assign, start, save drafts, submit, review image by image, accept or reject.

States: ``new`` -> ``in_progress`` (first save or start) -> ``submitted`` -> ``accepted``, or
``rejected`` (with a comment) -> back to the annotator -> ``submitted`` again. A reviewer
accepts or rejects each image; accepting a normal image commits its draft to the catalog
(three-way, see ``commit.py``); consensus copies wait for the merge; gold images are scored
against their known answer when the job is submitted and never reach the catalog.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from keepsight.errors import DatasetError
from keepsight.model.annotation import Annotation
from keepsight.service.annotations import from_dict, parse_set, to_dict
from keepsight.service.commit import Resolve, commit_three_way
from keepsight.service.context import ServiceContext
from keepsight.service.errors import PermissionDenied, RevisionConflict, StateConflict
from keepsight.service.matching import f1_against
from keepsight.service.roles import DRAFT_EDIT_STATES
from keepsight.service.store import accounts, library, work
from keepsight.service.store.accounts import Principal
from keepsight.service.store.catalog import active_sample
from keepsight.service.store.work import OPEN_STATES, Item, Job
from keepsight.storage.catalog import queries
from keepsight.storage.catalog.rows import now


def _aware(value: datetime | None) -> datetime | None:
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


def job_summary(job: Job, counts: dict[str, int], *, for_annotator: bool) -> dict[str, Any]:
    deadline = _aware(job.deadline)
    done = job.state in ("submitted", "accepted")
    summary = {
        "id": job.id, "task_id": job.task_id, "state": job.state, "assignee": job.assignee, "deadline": deadline,
        "overdue": bool(deadline and not done and deadline < now()), "comment": job.comment,
        "submitted_at": _aware(job.submitted_at), "reviewed_by": job.reviewed_by, "reviewed_at": _aware(job.reviewed_at),
        "images": sum(counts.values()),
    }
    visible = dict(counts)
    if for_annotator:  # gold images must not stand out
        gold = visible.pop("gold", 0)
        key = "accepted" if job.state == "accepted" else "pending"
        visible[key] = visible.get(key, 0) + gold
    return summary | {"reviews": visible}


def item_view(item: Item, sample: dict[str, Any], job: Job, *, for_annotator: bool) -> dict[str, Any]:
    view = {"id": item.id, "sample_id": item.sample_id, "position": item.position, **sample,
            "review": item.review, "review_comment": item.review_comment}
    if for_annotator:
        if item.role == "gold":
            view["review"] = "accepted" if job.state == "accepted" else "pending"
        return view
    return view | {"role": item.role, "gold_score": item.gold_score, "committed_at": _aware(item.committed_at)}


def job_detail(ctx: ServiceContext, job: Job, principal: Principal) -> dict[str, Any]:
    for_annotator = principal.role == "annotator"
    with ctx.ds.reading() as conn:
        items = work.items_of(conn, job.id)
        reviews = work.reviews_of(conn, job.id)
    counts: dict[str, int] = {}
    for item, _ in items:
        counts[item.review] = counts.get(item.review, 0) + 1
    detail = job_summary(job, counts, for_annotator=for_annotator)
    detail["items"] = [item_view(i, s, job, for_annotator=for_annotator) for i, s in items]
    hidden_items = {i.id for i, _ in items if i.role == "gold"} if for_annotator else set()
    detail["history"] = [{"reviewer": r["reviewer"], "decision": r["decision"], "comment": r["comment"],
                          "item_id": r["item_id"], "at": _aware(r["at"])}
                         for r in reviews if r["item_id"] not in hidden_items]
    return detail


# -- assignment ------------------------------------------------------------------------------

def assign(ctx: ServiceContext, job: Job, user_name: str | None) -> None:
    with ctx.ds.transaction() as conn:
        work.lock_task(conn, job.task_id)
        user_id = None
        if user_name is not None:
            user = accounts.user_by_name(conn, user_name, ctx.dataset_key)
            if not user["active"] or user["role"] == "viewer":
                raise DatasetError(f"user {user_name!r} is disabled or a viewer and cannot take jobs")
            user_id = int(user["id"])
            copies = sorted(work.consensus_samples_of_jobs(conn, [job.id])[job.id])
            if work.holds_copy_elsewhere(conn, task_id=job.task_id, job_id=job.id, user_id=user_id, sample_ids=copies):
                raise StateConflict(f"{user_name} already labels another copy of a consensus image of this job: "
                                    "consensus copies must go to different annotators")
        if not work.assign_job(conn, job.id, user_id):
            raise StateConflict(f"job {job.id} is {job.state}: only new, in-progress or rejected jobs can be reassigned")


def set_deadline(ctx: ServiceContext, job: Job, deadline: datetime | None) -> None:
    with ctx.ds.transaction() as conn:
        work.set_job(conn, job.id, deadline=deadline)


# -- the annotator's side --------------------------------------------------------------------

def start(ctx: ServiceContext, job: Job, principal: Principal) -> None:
    _require_assignee(job)
    if job.state == "in_progress":
        return
    with ctx.ds.transaction() as conn:
        if not work.set_job(conn, job.id, from_states=("new", "rejected"), state="in_progress"):
            raise StateConflict(f"job {job.id} is {job.state}; only new or rejected jobs can be started")


def _require_assignee(job: Job) -> None:
    if job.assignee_id is None:
        raise StateConflict(f"job {job.id} is not assigned to anyone yet")


def read_draft(ctx: ServiceContext, item: Item) -> tuple[int, list[dict[str, Any]]]:
    with ctx.ds.reading() as conn:
        draft = work.get_draft(conn, item.id)
    return int(draft["revision"]), list(draft["annotations"])


def _check_editor(job: Job, item: Item, principal: Principal) -> None:
    if item.review == "accepted":
        raise StateConflict(f"image {item.sample_id} of job {job.id} was accepted: its annotations are in the catalog")
    who = "assignee" if principal.user_id == job.assignee_id else principal.role
    states = DRAFT_EDIT_STATES.get(who)
    if states is None:
        raise PermissionDenied(f"job {job.id} is assigned to {job.assignee}")
    if job.state not in states:
        raise StateConflict(f"job {job.id} is {job.state}: {'its annotator' if who == 'assignee' else 'a ' + who} "
                            f"edits it only while it is {' or '.join(sorted(states))}")


def save_draft(ctx: ServiceContext, job: Job, item: Item, *, base_revision: int, annotations: list[dict[str, Any]],
               principal: Principal) -> tuple[int, list[dict[str, Any]]]:
    """Store the whole annotation set of one job image if nobody saved since ``base_revision``."""
    with ctx.ds.reading() as conn:
        sample = active_sample(conn, item.sample_id)
        book = queries.load_labelbook(conn)
    parsed = parse_set(annotations, sample=sample, book=book, tolerance=ctx.ds.config.ingest.out_of_image_tolerance)
    content = [to_dict(a) for a in parsed]
    with ctx.ds.transaction() as conn:
        fresh_job, fresh_item = work.get_job(conn, job.id), work.get_item(conn, job.id, item.id)
        _check_editor(fresh_job, fresh_item, principal)
        if not work.swap_draft(conn, item.id, base_revision=base_revision, annotations=content, by=principal.name):
            draft = work.get_draft(conn, item.id)
            raise RevisionConflict(
                f"image {item.sample_id} of job {job.id} was saved by {draft['updated_by']} since revision "
                f"{base_revision}: it is at revision {draft['revision']}; merge your change into it and save again",
                revision=int(draft["revision"]), annotations=list(draft["annotations"]))
        if principal.user_id == fresh_job.assignee_id and fresh_job.state in ("new", "rejected"):
            work.set_job(conn, job.id, from_states=("new", "rejected"), state="in_progress")
    return base_revision + 1, content


def submit(ctx: ServiceContext, job: Job, principal: Principal) -> None:
    _require_assignee(job)
    settings = ctx.settings
    with ctx.ds.transaction() as conn:
        if not work.set_job(conn, job.id, from_states=OPEN_STATES, state="submitted", submitted_at=now()):
            raise StateConflict(f"job {job.id} is {job.state}; only a job being worked on can be submitted")
        items = [i for i, _ in work.items_of(conn, job.id)]
        gold = library.gold_answers(conn, [i.sample_id for i in items if i.role == "gold"])
        for item in items:
            if item.role == "gold":
                answer = [from_dict(d) for d in work.get_draft(conn, item.id)["annotations"]]
                truth = gold.get(item.sample_id)
                score = None if truth is None else f1_against(answer, [from_dict(d) for d in truth],
                                                              threshold=settings.match_iou,
                                                              tolerance=settings.line_tolerance)
                work.set_item(conn, item.id, review="gold", gold_score=score)
            elif item.review == "rejected":
                work.set_item(conn, item.id, review="pending")


# -- the reviewer's side ---------------------------------------------------------------------

def _not_own_work(job: Job, principal: Principal) -> None:
    if principal.user_id == job.assignee_id:
        raise PermissionDenied("nobody reviews their own job")


def _accept(ctx: ServiceContext, conn: Any, job: Job, item: Item, *, reviewer: str, comment: str | None,
            resolve: Resolve | None) -> dict[str, Any]:
    result: dict[str, Any] = {}
    if item.role == "normal":
        draft = work.get_draft(conn, item.id)
        ours: list[Annotation] = [from_dict(d) for d in draft["annotations"]]
        commit = commit_three_way(conn, item.sample_id, base=list(draft["base"]), ours=ours,
                                  author=job.assignee or reviewer, reason=f"job {job.id} accepted by {reviewer}",
                                  resolve=resolve)
        result = commit.as_dict()
        work.set_item(conn, item.id, review="accepted", review_comment=comment, committed_at=now())
    else:
        work.set_item(conn, item.id, review="accepted", review_comment=comment)
    work.record_review(conn, job_id=job.id, item_id=item.id, reviewer=reviewer, decision="accept", comment=comment)
    return result


def review_item(ctx: ServiceContext, job: Job, item: Item, *, verdict: Literal["accept", "reject"],
                comment: str | None, resolve: Resolve | None, principal: Principal) -> dict[str, Any]:
    _not_own_work(job, principal)
    with ctx.ds.transaction() as conn:
        job, item = work.get_job(conn, job.id), work.get_item(conn, job.id, item.id)
        if job.state != "submitted":
            raise StateConflict(f"job {job.id} is {job.state}; images are reviewed while the job is submitted")
        if item.role == "gold":
            raise StateConflict("gold images are scored against their known answer, not reviewed")
        if item.review == "accepted":
            raise StateConflict(f"image {item.sample_id} of job {job.id} is already accepted")
        if verdict == "reject":
            work.set_item(conn, item.id, review="rejected", review_comment=comment)
            work.record_review(conn, job_id=job.id, item_id=item.id, reviewer=principal.name, decision="reject",
                               comment=comment)
            return {}
        return _accept(ctx, conn, job, item, reviewer=principal.name, comment=comment, resolve=resolve)


def review_job(ctx: ServiceContext, job: Job, *, decision: Literal["accept", "reject"], comment: str | None,
               resolve: Resolve | None, principal: Principal) -> dict[str, Any]:
    _not_own_work(job, principal)
    with ctx.ds.transaction() as conn:
        job = work.get_job(conn, job.id)
        if job.state != "submitted":
            raise StateConflict(f"job {job.id} is {job.state}; only a submitted job can be reviewed")
        items = [i for i, _ in work.items_of(conn, job.id)]
        committed = 0
        if decision == "accept":
            rejected = [i.sample_id for i in items if i.review == "rejected"]
            if rejected:
                raise StateConflict(f"{len(rejected)} image(s) of job {job.id} were rejected ({rejected[:5]}): reject "
                                    "the job so its annotator fixes them")
            # Lock samples in id order: two reviewers accepting overlapping jobs never deadlock.
            for item in sorted((i for i in items if i.review == "pending"), key=lambda i: i.sample_id):
                _accept(ctx, conn, job, item, reviewer=principal.name, comment=None, resolve=resolve)
                committed += item.role == "normal"
            work.set_job(conn, job.id, from_states=("submitted",), state="accepted", reviewed_by=principal.name,
                         reviewed_at=now())
        else:
            work.set_job(conn, job.id, from_states=("submitted",), state="rejected", comment=comment,
                         reviewed_by=principal.name, reviewed_at=now())
        work.record_review(conn, job_id=job.id, item_id=None, reviewer=principal.name, decision=decision,
                           comment=comment)
    return {"state": "accepted" if decision == "accept" else "rejected", "committed": committed}
