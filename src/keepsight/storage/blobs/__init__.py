"""Blob stores: local files by default, any S3-compatible server for a team."""

from __future__ import annotations

from pathlib import Path

from keepsight.storage.blobs.base import BlobInfo, BlobStore, digest_bytes, digest_file
from keepsight.storage.blobs.local import LocalBlobStore, atomic_write_bytes


def open_blob_store(url: str, *, base: Path | None = None) -> BlobStore:
    """``s3://bucket/prefix?endpoint_url=...`` or a local folder (``file://`` URL or path,
    relative paths resolved against ``base``)."""
    if url.startswith("s3://"):
        from keepsight.storage.blobs.s3 import S3BlobStore

        return S3BlobStore(url)
    path = Path(url.removeprefix("file://"))
    if not path.is_absolute() and base is not None:
        path = base / path
    return LocalBlobStore(path)


__all__ = ["BlobInfo", "BlobStore", "LocalBlobStore", "atomic_write_bytes", "digest_bytes", "digest_file",
           "open_blob_store"]
