"""The same-object engine's groups for ``--group auto``, computed once per dataset state.

``find_similar`` is incremental (descriptions, verified pairs and region verifications are
cached), but it still loads every description and searches the index on each call; a split, a
repair and a re-split of an unchanged dataset need the same groups, so they are kept in ``.keepsight/splits/similarity-groups.json`` under a fingerprint of everything the
engine reads (samples and their bytes, the metadata keys it links on, the live region
annotations, and the engine's versions). Any change to those inputs recomputes them.
"""

from __future__ import annotations

import json

from keepsight import __version__
from keepsight.config import STATE_DIR
from keepsight.dataset import Dataset
from keepsight.descriptors.compute import DESCRIBE_VERSION
from keepsight.descriptors.describe import Progress
from keepsight.model.annotation import Annotation, Sample
from keepsight.model.geometry import REGION_KINDS
from keepsight.runs import fingerprint
from keepsight.similarity.api import METADATA_KEYS, find_similar
from keepsight.similarity.verify import VERIFY_VERSION
from keepsight.storage.blobs import atomic_write_bytes

CACHE_NAME = "similarity-groups.json"


def _inputs(rows: list[tuple[Sample, list[Annotation]]]) -> str:
    return fingerprint([
        __version__, DESCRIBE_VERSION, VERIFY_VERSION, METADATA_KEYS,
        [(s.id, s.blob, [s.metadata.get(k) for k in METADATA_KEYS],
          sorted((a.uid, a.revision) for a in anns if a.kind in REGION_KINDS)) for s, anns in rows],
    ])


def similarity_groups(ds: Dataset, rows: list[tuple[Sample, list[Annotation]]],
                      progress: Progress | None = None) -> list[list[int]]:
    """The object groups (sample id lists) of the active samples ``rows``."""
    path = ds.root / STATE_DIR / "splits" / CACHE_NAME
    key = _inputs(rows)
    if path.exists():
        body = json.loads(path.read_text(encoding="utf-8"))
        if body.get("fingerprint") == key:
            return [list(g) for g in body["groups"]]
    groups = [list(g.samples) for g in find_similar(ds, progress=progress).groups]
    atomic_write_bytes(path, json.dumps({"fingerprint": key, "groups": groups}).encode("utf-8"))
    return groups
