"""Blobs as files under ``root/ab/cd/<sha256>``, written atomically."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from keepsight.errors import IntegrityError, StorageError
from keepsight.storage.blobs.base import BlobInfo, check_digest, digest_bytes


def _umask() -> int:
    mask = os.umask(0)  # the only way to read it; set back at once (module import, one thread)
    os.umask(mask)
    return mask


# mkstemp creates 0600 files: reports and exports get the mode any other new file would get.
_NEW_FILE_MODE = 0o666 & ~_umask()


def atomic_write_bytes(path: Path, data: bytes, *, mode: int | None = None, exclusive: bool = False) -> bool:
    """Write ``data`` to ``path`` so that readers see the old file or the whole new one.

    Temporary file in the same folder, fsync, rename, fsync of the folder: a crash at any
    moment leaves either nothing or the complete file. ``mode`` defaults to what the umask
    gives a new file; secrets pass 0o600, set before the file appears under its name.
    ``exclusive`` never replaces an existing file (a hard link instead of a rename), so of
    several processes creating one file, one wins and all read its bytes; returns whether
    this call wrote the file.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=path.suffix)
    written = True
    try:
        os.fchmod(fd, _NEW_FILE_MODE if mode is None else mode)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        if exclusive:
            try:
                os.link(tmp, path)
            except FileExistsError:
                written = False
            Path(tmp).unlink()
        else:
            os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
    return written


class LocalBlobStore:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.url = self.root.as_uri() if self.root.is_absolute() else str(self.root)
        self.root.mkdir(parents=True, exist_ok=True)

    def _path(self, digest: str) -> Path:
        check_digest(digest)
        return self.root / digest[:2] / digest[2:4] / digest

    def put(self, data: bytes, digest: str | None = None) -> BlobInfo:
        actual = digest_bytes(data)
        if digest is not None and digest != actual:
            raise IntegrityError(f"bytes do not match their digest: expected {digest}, got {actual}")
        target = self._path(actual)
        if target.exists() and target.stat().st_size == len(data):
            return BlobInfo(actual, len(data), created=False)
        atomic_write_bytes(target, data)
        return BlobInfo(actual, len(data), created=True)

    def exists(self, digest: str) -> bool:
        return self._path(digest).exists()

    def get(self, digest: str) -> bytes:
        try:
            data = self._path(digest).read_bytes()
        except FileNotFoundError:
            raise StorageError(f"blob {digest} is missing from the store", path=self.root) from None
        if digest_bytes(data) != digest:
            raise IntegrityError(f"blob {digest} is corrupt: its bytes no longer match the digest", path=self._path(digest))
        return data

    def copy_to(self, digest: str, dest: Path) -> None:
        source = self._path(digest)
        if not source.exists():
            raise StorageError(f"blob {digest} is missing from the store", path=self.root)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, dest)

    def delete(self, digest: str) -> None:
        self._path(digest).unlink(missing_ok=True)

    def local_path(self, digest: str) -> Path | None:
        return self._path(digest)
