"""Roles and the one policy table: which role may do which action.

Every route names exactly one action (see ``policy.py``); this table is the only place that
says who may do it. ``own_jobs`` narrows a role to the jobs assigned to the caller, which is
how annotators see only the images of their own jobs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Role = Literal["admin", "manager", "reviewer", "annotator", "viewer"]
ROLES: tuple[Role, ...] = ("admin", "manager", "reviewer", "annotator", "viewer")

EVERYONE: frozenset[str] = frozenset(ROLES)
STAFF: frozenset[str] = frozenset({"admin", "manager"})
REVIEWERS: frozenset[str] = frozenset({"admin", "manager", "reviewer"})
READERS: frozenset[str] = frozenset({"admin", "manager", "reviewer", "viewer"})
WORKERS: frozenset[str] = frozenset({"admin", "manager", "annotator"})
ANNOTATOR_OWN: frozenset[str] = frozenset({"annotator"})

# Actions that need no account: the route checks something else (a signed link) or nothing.
PUBLIC = "public"
SIGNED = "signed"


@dataclass(frozen=True)
class Rule:
    roles: frozenset[str]
    doing: str  # completes "role X may not ..."
    own_jobs: frozenset[str] = frozenset()


POLICY: dict[str, Rule] = {
    "session.read": Rule(EVERYONE, "read its own account"),
    "session.end": Rule(EVERYONE, "sign out"),
    "tokens.own": Rule(EVERYONE, "manage its own API tokens"),
    "info.read": Rule(EVERYONE, "read the dataset summary"),
    "users.list": Rule(STAFF, "list users"),
    "users.manage": Rule(frozenset({"admin"}), "create or change users"),
    "auditlog.read": Rule(frozenset({"admin"}), "read the audit log"),
    "samples.read": Rule(READERS, "browse samples outside its jobs"),
    "samples.edit": Rule(REVIEWERS, "edit catalog annotations"),
    "labelbook.read": Rule(EVERYONE, "read the label book"),
    "labelbook.edit": Rule(STAFF, "edit the label book"),
    "tasks.read": Rule(READERS, "read tasks"),
    "tasks.manage": Rule(STAFF, "create, assign or merge tasks"),
    "quality.read": Rule(REVIEWERS, "read annotator quality"),
    "gold.read": Rule(REVIEWERS, "read gold answers"),
    "gold.edit": Rule(STAFF, "edit gold answers"),
    "jobs.read": Rule(EVERYONE, "read jobs", own_jobs=ANNOTATOR_OWN),
    "jobs.manage": Rule(STAFF, "change jobs"),
    "jobs.work": Rule(WORKERS, "start or submit jobs", own_jobs=ANNOTATOR_OWN),
    "jobs.review": Rule(REVIEWERS, "review jobs"),
    "items.read": Rule(EVERYONE, "open job images", own_jobs=ANNOTATOR_OWN),
    "items.edit": Rule(frozenset({"admin", "manager", "reviewer", "annotator"}), "save job annotations",
                       own_jobs=ANNOTATOR_OWN),
    "uploads.write": Rule(STAFF, "upload images"),
    "exports.create": Rule(STAFF, "export the dataset"),
}

# Who may change a job image's draft in which job state (the role check above comes first):
# its annotator while working on it, reviewers while it waits for review, staff until accepted.
DRAFT_EDIT_STATES: dict[str, frozenset[str]] = {
    "assignee": frozenset({"new", "in_progress", "rejected"}),
    "reviewer": frozenset({"submitted"}),
    "manager": frozenset({"new", "in_progress", "rejected", "submitted"}),
    "admin": frozenset({"new", "in_progress", "rejected", "submitted"}),
}
