"""What changed between two versions (or a version and the live dataset, ``current``)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import select

from keepsight.dataset import Dataset
from keepsight.storage.catalog.tables import annotation_revisions
from keepsight.versions.api import load_manifest
from keepsight.versions.manifest import Manifest


@dataclass
class AnnotationChange:
    path: str
    uid: str
    change: str  # added | removed | changed
    before: dict[str, Any] | None = None  # label, kind, revision
    after: dict[str, Any] | None = None


@dataclass
class VersionDiff:
    a: str
    b: str
    added: list[str] = field(default_factory=list)  # sample paths
    removed: list[str] = field(default_factory=list)
    split_moves: list[dict[str, str]] = field(default_factory=list)  # path, from, to
    verdict_changes: list[dict[str, str | None]] = field(default_factory=list)
    metadata_changes: list[str] = field(default_factory=list)
    annotations: list[AnnotationChange] = field(default_factory=list)
    classes_added: list[str] = field(default_factory=list)
    classes_removed: list[str] = field(default_factory=list)
    classes_changed: list[str] = field(default_factory=list)  # drawing rules edited
    frozen_added: list[str] = field(default_factory=list)
    frozen_released: list[str] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        changes = [a.change for a in self.annotations]
        return {
            "samples_added": len(self.added), "samples_removed": len(self.removed),
            "split_moves": len(self.split_moves), "verdict_changes": len(self.verdict_changes),
            "metadata_changes": len(self.metadata_changes),
            "annotations_added": changes.count("added"), "annotations_removed": changes.count("removed"),
            "annotations_changed": changes.count("changed"),
            "classes_added": len(self.classes_added), "classes_removed": len(self.classes_removed),
            "classes_changed": len(self.classes_changed),
            "frozen_added": len(self.frozen_added), "frozen_released": len(self.frozen_released),
        }

    @property
    def empty(self) -> bool:
        return not any(self.counts().values())

    def as_dict(self) -> dict[str, Any]:
        return asdict(self) | {"counts": self.counts()}


def diff_versions(ds: Dataset, a: str, b: str) -> VersionDiff:
    """Samples added and removed, split moves, annotation changes and label-book changes from ``a`` to ``b``."""
    ma, mb = load_manifest(ds, a), load_manifest(ds, b)
    out = VersionDiff(a, b)
    ea, eb = ma.by_id(), mb.by_id()
    out.added = sorted(eb[i].path for i in eb.keys() - ea.keys())
    out.removed = sorted(ea[i].path for i in ea.keys() - eb.keys())
    common = sorted(ea.keys() & eb.keys(), key=lambda i: eb[i].path)
    changed_rows: list[tuple[str, set[int], set[int]]] = []
    for i in common:
        x, y = ea[i], eb[i]
        if x.split != y.split:
            out.split_moves.append({"path": y.path, "from": x.split, "to": y.split})
        if x.verdict != y.verdict:
            out.verdict_changes.append({"path": y.path, "from": x.verdict, "to": y.verdict})
        if x.meta != y.meta:
            out.metadata_changes.append(y.path)
        if set(x.revisions) != set(y.revisions):
            changed_rows.append((y.path, set(x.revisions), set(y.revisions)))
    out.annotations = _annotation_changes(ds, changed_rows)
    _labelbook_changes(ma, mb, out)
    paths = {**{i: e.path for i, e in ea.items()}, **{i: e.path for i, e in eb.items()}}
    out.frozen_added = sorted(paths[i] for i in set(mb.frozen_test) - set(ma.frozen_test))
    out.frozen_released = sorted(paths[i] for i in set(ma.frozen_test) - set(mb.frozen_test))
    return out


def _annotation_changes(ds: Dataset, changed: list[tuple[str, set[int], set[int]]]) -> list[AnnotationChange]:
    """Pair revision rows by annotation uid: a uid on one side only was added or removed."""
    rows = sorted({r for _, before, after in changed for r in before ^ after})
    info: dict[int, dict[str, Any]] = {}
    with ds.reading() as conn:
        for start in range(0, len(rows), 500):
            query = select(annotation_revisions.c.id, annotation_revisions.c.annotation_uid,
                           annotation_revisions.c.revision, annotation_revisions.c.label,
                           annotation_revisions.c.kind).where(annotation_revisions.c.id.in_(rows[start:start + 500]))
            for rid, uid, revision, label, kind in conn.execute(query):
                info[rid] = {"uid": uid, "revision": revision, "label": label, "kind": kind}
    out: list[AnnotationChange] = []
    for path, before, after in changed:
        old = {info[r]["uid"]: info[r] for r in before - after}
        new = {info[r]["uid"]: info[r] for r in after - before}
        for uid in sorted(old.keys() | new.keys()):
            x, y = old.get(uid), new.get(uid)
            change = "changed" if x and y else ("added" if y else "removed")
            out.append(AnnotationChange(path, uid, change, _brief(x), _brief(y)))
    return out


def _brief(row: dict[str, Any] | None) -> dict[str, Any] | None:
    return None if row is None else {"label": row["label"], "kind": row["kind"], "revision": row["revision"]}


def _labelbook_changes(ma: Manifest, mb: Manifest, out: VersionDiff) -> None:
    ca, cb = ma.labelbook.get("classes", {}), mb.labelbook.get("classes", {})
    out.classes_added = sorted(cb.keys() - ca.keys())
    out.classes_removed = sorted(ca.keys() - cb.keys())
    out.classes_changed = sorted(k for k in ca.keys() & cb.keys() if ca[k] != cb[k])
