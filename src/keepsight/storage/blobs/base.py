"""Content-addressed blob storage: every image is stored once, under its sha256."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from keepsight.errors import IntegrityError

HASH_NAME = "sha256"


def digest_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def digest_file(path: Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


def check_digest(digest: str) -> str:
    if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
        raise IntegrityError(f"not a sha256 hex digest: {digest!r}")
    return digest


@dataclass(frozen=True)
class BlobInfo:
    digest: str
    size: int
    created: bool  # False when the store already held these bytes


class BlobStore(Protocol):
    """Where image bytes live. Writes are atomic and verified against the digest."""

    url: str

    def put(self, data: bytes, digest: str | None = None) -> BlobInfo: ...

    def exists(self, digest: str) -> bool: ...

    def get(self, digest: str) -> bytes: ...

    def copy_to(self, digest: str, dest: Path) -> None: ...

    def delete(self, digest: str) -> None: ...

    def local_path(self, digest: str) -> Path | None:
        """A file path for fast local reads, or None for remote stores."""
        ...
