"""A summary of a dataset: what ``keepsight info`` prints."""

from __future__ import annotations

from typing import Any

from keepsight.dataset import Dataset
from keepsight.model.geometry import KINDS
from keepsight.storage.catalog import queries


def dataset_info(ds: Dataset) -> dict[str, Any]:
    with ds.reading() as conn:
        kinds, labels = queries.annotation_counts(conn)
        book = queries.load_labelbook(conn)
        splits = queries.counts_by(conn, "split")
        verdicts = queries.counts_by(conn, "verdict")
        samples = queries.count_samples(conn)
        removed = queries.count_samples(conn, statuses=("removed",))
        problems = len(queries.list_problems(conn))
    classes = {name: labels.get(name, 0) for name in book.names()}
    classes.update({name: n for name, n in labels.items() if name not in classes})
    return {
        "name": ds.config.name,
        "samples": samples,
        "removed": removed,
        "annotations": {kind: kinds.get(kind, 0) for kind in KINDS},
        "classes": classes,
        "splits": splits,
        "verdicts": verdicts,
        "import_problems": problems,
        "catalog": ds.engine.url.render_as_string(hide_password=True),
        "blobs": ds.blobs.url,
    }
