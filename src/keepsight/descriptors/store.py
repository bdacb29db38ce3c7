"""Where descriptions live: one ``.npz`` per blob digest plus a small stats table.

    <dataset>/.keepsight/descriptors/<ab>/<digest>.npz   keypoints, descriptors, hashes, thumbnail, stats

The catalog table ``descriptor_stats`` (storage/catalog/tables.py, Alembic revision 0002) mirrors the scalar statistics so the audit can query them.
The ``.npz`` is the source of truth: a lost table row is rebuilt from it.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
from sqlalchemy import Engine, select

from keepsight.config import STATE_DIR
from keepsight.descriptors.compute import DESCRIBE_VERSION, Description
from keepsight.storage.blobs import atomic_write_bytes
from keepsight.storage.catalog.tables import descriptor_stats


def _signed(value: int) -> int:
    return value - (1 << 64) if value >= 1 << 63 else value


def _unsigned(value: int) -> int:
    return value + (1 << 64) if value < 0 else value


class DescriptorStore:
    def __init__(self, root: Path) -> None:
        self.folder = root / STATE_DIR / "descriptors"

    def path(self, digest: str) -> Path:
        return self.folder / digest[:2] / f"{digest}.npz"

    def has(self, digest: str) -> bool:
        return self.path(digest).exists()

    def save(self, desc: Description) -> None:
        buf = io.BytesIO()
        header = {
            "version": DESCRIBE_VERSION,
            "width": desc.width,
            "height": desc.height,
            "mode": desc.mode,
            "scale": desc.scale,
            "stats": desc.stats,
            "phash": str(desc.phash),
            "dhash": str(desc.dhash),
        }
        np.savez(
            buf,
            header=np.frombuffer(json.dumps(header).encode(), dtype=np.uint8),
            keypoints=desc.keypoints,
            descriptors=desc.descriptors,
            thumbnail=np.frombuffer(desc.thumbnail, dtype=np.uint8),
            **desc.extra,
        )
        atomic_write_bytes(self.path(desc.digest), buf.getvalue())

    def load(self, digest: str) -> Description:
        with np.load(self.path(digest)) as z:
            header = json.loads(z["header"].tobytes())
            extra = {k: z[k] for k in z.files if k not in ("header", "keypoints", "descriptors", "thumbnail")}
            return Description(
                digest=digest,
                width=header["width"],
                height=header["height"],
                mode=header["mode"],
                scale=header["scale"],
                stats=header["stats"],
                phash=int(header["phash"]),
                dhash=int(header["dhash"]),
                keypoints=z["keypoints"],
                descriptors=z["descriptors"],
                thumbnail=z["thumbnail"].tobytes(),
                extra=extra,
            )

    def version(self, digest: str) -> int:
        with np.load(self.path(digest)) as z:
            return int(json.loads(z["header"].tobytes())["version"])


def stats_row(desc: Description) -> dict[str, object]:
    return {
        "digest": desc.digest,
        "version": DESCRIBE_VERSION,
        "width": desc.width,
        "height": desc.height,
        "mode": desc.mode,
        **desc.stats,
        "phash": _signed(desc.phash),
        "dhash": _signed(desc.dhash),
        "keypoints": int(len(desc.keypoints)),
    }


def described_digests(engine: Engine) -> set[str]:
    with engine.connect() as conn:
        rows = conn.execute(select(descriptor_stats.c.digest).where(descriptor_stats.c.version == DESCRIBE_VERSION))
        return {r[0] for r in rows}


def load_stats(engine: Engine) -> dict[str, dict[str, object]]:
    """Digest -> the scalar statistics (hashes as unsigned ints)."""
    out: dict[str, dict[str, object]] = {}
    with engine.connect() as conn:
        for row in conn.execute(select(descriptor_stats)).mappings():
            rec = dict(row)
            rec["phash"], rec["dhash"] = _unsigned(rec["phash"]), _unsigned(rec["dhash"])
            out[rec.pop("digest")] = rec
    return out
