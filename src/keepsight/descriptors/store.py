"""Where descriptions live: one ``.npz`` per blob digest plus a small stats table.

    <dataset>/.keepsight/descriptors/<ab>/<digest>.npz   keypoints, descriptors, hashes, thumbnail, stats

The catalog table ``descriptor_stats`` (storage/catalog/tables.py, Alembic revision 0002) mirrors the scalar statistics so the audit can query them.
The ``.npz`` is the source of truth: a lost table row is rebuilt from it.

A description is a cache: it can always be computed again from the blob. So files are written
atomically (a temporary name, then a rename; a batch becomes visible only once all of it is
written) but not fsynced: an fsync per file and folder cost 0.2-0.4 ms of CPU and 1-2.5 ms of wall
time per image here, a sixth of describing it. A crash can then leave a renamed file whose
contents never reached the disk (empty or cut short) under a table row. Every load checks the
file (the zip directory, each member's CRC-32, the header): a damaged one raises
:class:`CorruptDescription`, and a store that knows where the blobs are (``source``, see
:meth:`DescriptorStore.for_dataset`) describes the image again, rewrites the file and returns the
new description.
"""

from __future__ import annotations

import io
import json
import os
import tempfile
import zipfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from sqlalchemy import Engine, select

from keepsight.config import STATE_DIR
from keepsight.descriptors.compute import DESCRIBE_VERSION, Description, describe_bytes
from keepsight.storage.catalog.tables import descriptor_stats

if TYPE_CHECKING:
    from keepsight.dataset import Dataset


class CorruptDescription(ValueError):
    """A stored description that cannot be read back (cut short, damaged): describe the image again."""


# what reading a damaged .npz raises: no zip directory, a bad CRC-32, a missing member, a bad header
_DAMAGE = (zipfile.BadZipFile, EOFError, KeyError, ValueError, OSError, json.JSONDecodeError, TypeError)


def _signed(value: int) -> int:
    return value - (1 << 64) if value >= 1 << 63 else value


def _unsigned(value: int) -> int:
    return value + (1 << 64) if value < 0 else value


class DescriptorStore:
    """``source``: the bytes of a blob by digest; with it a damaged file is described again on load."""

    def __init__(self, root: Path, source: Callable[[str], bytes] | None = None) -> None:
        self.folder = root / STATE_DIR / "descriptors"
        self.source = source
        self.repaired = 0  # damaged files described again by this store

    @classmethod
    def for_dataset(cls, ds: Dataset) -> DescriptorStore:
        return cls(ds.root, ds.blobs.get)

    def path(self, digest: str) -> Path:
        return self.folder / digest[:2] / f"{digest}.npz"

    def has(self, digest: str) -> bool:
        return self.path(digest).exists()

    def save(self, desc: Description) -> None:
        self.save_many([desc])

    def save_many(self, descs: Sequence[Description]) -> None:
        """Write several descriptions atomically, as one batch (see the module docstring)."""
        write_atomically([(self.path(d.digest), encode_description(d)) for d in descs])

    def load(self, digest: str) -> Description:
        """The stored description; a damaged file is described again when the store has a ``source``
        (else :class:`CorruptDescription`). A missing file raises ``FileNotFoundError``."""
        try:
            return self._read(digest)
        except FileNotFoundError:
            raise
        except _DAMAGE as exc:
            if self.source is None:
                raise CorruptDescription(f"damaged description {self.path(digest)}: {exc}") from None
        desc = describe_bytes(digest, self.source(digest))
        self.save(desc)
        self.repaired += 1
        return desc

    def _read(self, digest: str) -> Description:
        with np.load(self.path(digest)) as z:
            header = json.loads(z["header"].tobytes())
            extra = {k: z[k] for k in z.files if k not in ("header", "keypoints", "descriptors", "thumbnail")}
            keypoints, descriptors = z["keypoints"], z["descriptors"]  # reading a member checks its CRC-32
            if keypoints.shape != (len(descriptors), 4) or descriptors.shape[1:] != (32,):
                raise ValueError(f"keypoints {keypoints.shape} and descriptors {descriptors.shape} disagree")
            return Description(
                digest=digest,
                width=header["width"],
                height=header["height"],
                mode=header["mode"],
                scale=header["scale"],
                stats=header["stats"],
                phash=int(header["phash"]),
                dhash=int(header["dhash"]),
                keypoints=keypoints,
                descriptors=descriptors,
                thumbnail=z["thumbnail"].tobytes(),
                extra=extra,
            )

    def version(self, digest: str) -> int:
        """The DESCRIBE_VERSION a file was written with; -1 when it is damaged."""
        try:
            with np.load(self.path(digest)) as z:
                return int(json.loads(z["header"].tobytes())["version"])
        except FileNotFoundError:
            raise
        except _DAMAGE:
            return -1


def encode_description(desc: Description) -> bytes:
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
        **desc.extra,  # type: ignore[arg-type]  # numpy's stub reads **extra as allow_pickle
    )
    return buf.getvalue()


_FOLDERS_MADE: set[Path] = set()  # folders this process has made or found: no mkdir call per file


def write_atomically(items: Sequence[tuple[Path, bytes]], *, durable: bool = False) -> None:
    """Many files at once: temporary files, all written before any is renamed into place.

    ``durable``: fsync each temporary file before the renames and the folders after them (what
    ``atomic_write_bytes`` does per file); descriptions skip it (see the module docstring).
    """
    staged: list[tuple[str, Path]] = []
    fds: list[int] = []
    try:
        for path, data in items:
            if path.parent not in _FOLDERS_MADE:
                path.parent.mkdir(parents=True, exist_ok=True)
                _FOLDERS_MADE.add(path.parent)
            try:
                fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=path.suffix)
            except FileNotFoundError:  # the folder was removed since: make it again
                path.parent.mkdir(parents=True, exist_ok=True)
                fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=path.suffix)
            fds.append(fd)
            staged.append((tmp, path))
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
        if durable:
            for fd in fds:
                os.fsync(fd)
        while fds:
            os.close(fds.pop())
        for tmp, path in staged:
            os.replace(tmp, path)
    except BaseException:
        for fd in fds:
            os.close(fd)
        for tmp, _ in staged:
            Path(tmp).unlink(missing_ok=True)
        raise
    if not durable:
        return
    for folder in {path.parent for _, path in staged}:
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


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
