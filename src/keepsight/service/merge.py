"""Merging blind copies of one image by vote.

Regions are clustered across annotators (each annotator's regions matched one-to-one to the
clusters so far, Hungarian on IoU, same class); a cluster backed by at least ``min_votes``
annotators (default: a majority) becomes one merged region:

* boxes: the median of each coordinate;
* masks: a pixel is set when a majority of the cluster's masks set it;
* rotated boxes, polygons, polylines, points (and mixed kinds): the medoid, the member
  with the highest total IoU to the others;
* attributes: each key's most common value, when a majority of the members carry it.

A tag is kept when at least ``min_votes`` annotators gave it.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from scipy.optimize import linear_sum_assignment

from keepsight.model.annotation import Annotation
from keepsight.model.convert import array_to_mask
from keepsight.model.geometry import Box, Mask, Tag
from keepsight.service.matching import iou_matrix, regions, tags


def majority(copies: int) -> int:
    return copies // 2 + 1


def merge_by_vote(copies: Mapping[str, Sequence[Annotation]], *, threshold: float, tolerance: float,
                  min_votes: int | None = None) -> list[Annotation]:
    votes = min_votes if min_votes is not None else majority(len(copies))
    clusters: list[list[tuple[str, Annotation]]] = []
    for user in sorted(copies):
        mine = regions(copies[user])
        if not mine:
            continue
        reps = [c[0][1] for c in clusters]
        ious = iou_matrix(mine, reps, tolerance=tolerance) if reps else np.zeros((len(mine), 0))
        taken: set[int] = set()
        if ious.size:
            for i, j in zip(*linear_sum_assignment(ious, maximize=True), strict=True):
                if ious[i, j] >= threshold:
                    clusters[j].append((user, mine[i]))
                    taken.add(int(i))
        clusters += [[(user, a)] for i, a in enumerate(mine) if i not in taken]
    merged = [_combine([a for _, a in c], tolerance) for c in clusters if len({u for u, _ in c}) >= votes]
    tag_votes = Counter(label for anns in copies.values() for label in tags(anns))
    merged += [Annotation(label, Tag()) for label, n in sorted(tag_votes.items()) if n >= votes]
    return merged


def _combine(members: list[Annotation], tolerance: float) -> Annotation:
    label = members[0].label
    attributes = _vote_attributes(members)
    kinds = {a.kind for a in members}
    if kinds == {"box"}:
        coords = np.median(np.array([a.geometry.to_json() for a in members]), axis=0)
        return Annotation(label, Box(*(float(c) for c in coords)), attributes)
    if kinds == {"mask"}:
        stack = np.stack([a.geometry.decode() for a in members if isinstance(a.geometry, Mask)])
        return Annotation(label, array_to_mask(stack.sum(axis=0) >= majority(len(members))), attributes)
    ious = iou_matrix(members, members, tolerance=tolerance)
    medoid = members[int(np.argmax(ious.sum(axis=1)))]
    return Annotation(label, medoid.geometry, attributes)


def _vote_attributes(members: list[Annotation]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    keys = {k for a in members for k in a.attributes}
    for key in sorted(keys):
        values = [json.dumps(a.attributes[key], sort_keys=True) for a in members if key in a.attributes]
        if len(values) >= majority(len(members)):
            out[key] = json.loads(Counter(values).most_common(1)[0][0])
    return out
