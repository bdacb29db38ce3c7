"""Retraining policies (``drift.policies`` in keepsight.yaml) and their saved state.

* ``schedule``: fires every ``every`` (30m, 12h, 7d...) counted from the last firing (or from
  when the policy was first seen); a monitor that was down fires once, not once per missed period.
* ``annotated``: fires once ``count`` images gained their first annotation (or a verdict)
  since the last firing, counted by catalog ids so clock changes cannot double-count.
* ``drift``: fires after ``fire_after`` consecutive drifted windows (optionally of given
  categories), then stays disarmed until ``rearm_after`` consecutive clean windows: one odd
  image, or one long episode, fires once.

State lives in ``.keepsight/drift/policies.json`` so a restarted monitor keeps its streaks and schedule.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from keepsight.dataset import Dataset
from keepsight.drift.analysis import WindowResult
from keepsight.drift.config import AnnotatedPolicy, DriftPolicy, SchedulePolicy, parse_duration
from keepsight.drift.reference import drift_dir
from keepsight.drift.windows import Clock
from keepsight.errors import DatasetError
from keepsight.storage.blobs import atomic_write_bytes
from keepsight.storage.catalog.tables import metadata

AnyPolicy = SchedulePolicy | AnnotatedPolicy | DriftPolicy
_ANNOTATIONS = metadata.tables["annotations"]
_SAMPLES = metadata.tables["samples"]


@dataclass
class Firing:
    policy: AnyPolicy
    reason: str
    at: datetime
    trigger: dict[str, Any] = field(default_factory=dict)


def annotation_marks(ds: Dataset) -> tuple[int, int]:
    """(highest annotation id, highest sample id): the watermark new annotations are counted from."""
    with ds.reading() as conn:
        a = conn.execute(select(func.max(_ANNOTATIONS.c.id))).scalar() or 0
        s = conn.execute(select(func.max(_SAMPLES.c.id))).scalar() or 0
    return int(a), int(s)


def annotated_since(ds: Dataset, annotation_mark: int, sample_mark: int) -> int:
    """Active images annotated after the marks: a new annotation, or a new sample with a verdict."""
    active = _SAMPLES.c.status == "active"
    with ds.reading() as conn:
        by_annotation = set(conn.execute(
            select(_ANNOTATIONS.c.sample_id).join(_SAMPLES, _SAMPLES.c.id == _ANNOTATIONS.c.sample_id)
            .where(_ANNOTATIONS.c.id > annotation_mark, _ANNOTATIONS.c.deleted.is_(False), active)
        ).scalars())
        by_verdict = set(conn.execute(
            select(_SAMPLES.c.id).where(_SAMPLES.c.id > sample_mark, _SAMPLES.c.verdict.is_not(None), active)
        ).scalars())
    return len(by_annotation | by_verdict)


class PolicyEngine:
    def __init__(self, ds: Dataset, policies: list[AnyPolicy], *, clock: Clock) -> None:
        self.ds = ds
        self.policies = policies
        self.clock = clock
        self.path = drift_dir(ds) / "policies.json"
        self.state: dict[str, dict[str, Any]] = self._load()
        now = clock()
        marks: tuple[int, int] | None = None
        for policy in policies:
            st = self.state.get(policy.name)
            if st is None or st.get("kind") != policy.kind:
                st = {"kind": policy.kind, "since": now.isoformat(), "last_fired_at": None, "fired": 0}
                if isinstance(policy, AnnotatedPolicy):
                    marks = marks or annotation_marks(ds)
                    st.update(annotation_mark=marks[0], sample_mark=marks[1])
                if isinstance(policy, DriftPolicy):
                    st.update(armed=True, drifted_streak=0, clean_streak=0)
                self.state[policy.name] = st
        self._save()

    def _load(self) -> dict[str, dict[str, Any]]:
        if not self.path.exists():
            return {}
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise DatasetError(f"corrupt policy state: {exc}", path=self.path) from None
        return dict(data.get("policies", {}))

    def _save(self) -> None:
        atomic_write_bytes(self.path, json.dumps({"policies": self.state}, indent=1).encode("utf-8"))

    def _fired(self, policy: AnyPolicy, now: datetime) -> None:
        st = self.state[policy.name]
        st["last_fired_at"] = now.isoformat()
        st["fired"] = int(st.get("fired", 0)) + 1

    # -- evaluation ------------------------------------------------------------------------

    def on_window(self, window: WindowResult) -> list[Firing]:
        """Update the drift policies' streaks with one tested window; the firings it causes."""
        if window.status != "tested":
            return []
        now = self.clock()
        out = []
        for policy in self.policies:
            if not isinstance(policy, DriftPolicy):
                continue
            st = self.state[policy.name]
            relevant = [e for e in window.explanations if not policy.categories or e.category in policy.categories]
            if relevant:
                st["drifted_streak"] += 1
                st["clean_streak"] = 0
            else:
                st["clean_streak"] += 1
                st["drifted_streak"] = 0
            if not st["armed"] and st["clean_streak"] >= policy.rearm_after:
                st["armed"] = True
            if st["armed"] and st["drifted_streak"] >= policy.fire_after:
                st["armed"] = False
                self._fired(policy, now)
                out.append(Firing(policy, f"drift: {st['drifted_streak']} consecutive drifted windows "
                                          f"({relevant[0].message})", now,
                                  {"window": window.index, "categories": [e.category for e in relevant]}))
        self._save()
        return out

    def on_tick(self) -> list[Firing]:
        """Schedule and annotated-count policies, evaluated now."""
        now = self.clock()
        out = []
        for policy in self.policies:
            st = self.state[policy.name]
            if isinstance(policy, SchedulePolicy):
                due = datetime.fromisoformat(st["last_fired_at"] or st["since"]) + parse_duration(policy.every)
                if now >= due:
                    self._fired(policy, now)
                    out.append(Firing(policy, f"schedule: every {policy.every} (due {due.isoformat()})", now,
                                      {"due": due.isoformat()}))
            elif isinstance(policy, AnnotatedPolicy):
                count = annotated_since(self.ds, st["annotation_mark"], st["sample_mark"])
                if count >= policy.count:
                    st["annotation_mark"], st["sample_mark"] = annotation_marks(self.ds)
                    self._fired(policy, now)
                    out.append(Firing(policy, f"annotated: {count} newly annotated images (policy: {policy.count})",
                                      now, {"annotated": count}))
        if out:
            self._save()
        return out

    def describe(self) -> list[dict[str, Any]]:
        """Each policy with its state and, for schedules, when it is next due."""
        rows = []
        for policy in self.policies:
            st = dict(self.state[policy.name])
            if isinstance(policy, SchedulePolicy):
                st["next_due"] = (datetime.fromisoformat(st["last_fired_at"] or st["since"])
                                  + parse_duration(policy.every)).isoformat()
            if isinstance(policy, AnnotatedPolicy):
                st["annotated_since"] = annotated_since(self.ds, st["annotation_mark"], st["sample_mark"])
            rows.append({"name": policy.name, "kind": policy.kind, **st})
        return rows
