"""Agreement of a task's consensus images and a quality score per annotator.

The score is the mean of what is known about an annotator, each in [0, 1]:

* ``gold_f1`` — mean F1 of their answers on gold images against the known answers;
* ``agreement`` — their region/tag agreement with the other annotators of consensus images;
* ``acceptance`` — share of their reviewed images that reviewers accepted.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from keepsight.service.agreement import AgreementReport, agreement
from keepsight.service.annotations import from_dict
from keepsight.service.context import ServiceContext
from keepsight.service.store import accounts, work


def task_agreement(ctx: ServiceContext, task_id: int | None) -> AgreementReport:
    with ctx.ds.reading() as conn:
        if task_id is not None:
            work.get_task(conn, task_id)
        copies = work.consensus_copies(conn, task_id)
    by_sample = {sample: {str(c["user"] or f"item-{c['item_id']}"): [from_dict(d) for d in c["annotations"]]
                          for c in rows} for sample, rows in copies.items()}
    return agreement(by_sample, threshold=ctx.settings.match_iou, tolerance=ctx.settings.line_tolerance)


def annotator_quality(ctx: ServiceContext) -> list[dict[str, Any]]:
    with ctx.ds.reading() as conn:
        members = accounts.list_users(conn, ctx.dataset_key)
        gold = work.gold_scores(conn)
        decisions = work.review_decisions(conn)
    agreed = task_agreement(ctx, None).per_annotator
    names = sorted({m["name"] for m in members if m["role"] == "annotator"} | set(gold) | set(decisions) | set(agreed))
    rows = []
    for name in names:
        accepts = decisions.get(name, {}).get("accept", 0)
        rejects = decisions.get(name, {}).get("reject", 0)
        parts = {
            "gold_f1": float(np.mean(gold[name])) if gold.get(name) else None,
            "agreement": agreed.get(name, {}).get("agreement"),
            "acceptance": accepts / (accepts + rejects) if accepts + rejects else None,
        }
        known = [v for v in parts.values() if v is not None]
        rows.append({"user": name, **parts, "gold_images": len(gold.get(name, [])),
                     "consensus_images": agreed.get(name, {}).get("samples", 0), "reviewed_images": accepts + rejects,
                     "score": float(np.mean(known)) if known else None})
    return rows
