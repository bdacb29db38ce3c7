"""Unpacking an uploaded zip without letting it write outside its folder or fill the disk."""

from __future__ import annotations

import shutil
import stat
import zipfile
import zlib
from pathlib import Path, PurePosixPath

from keepsight.errors import FormatError, UnsafePathError
from keepsight.formats.base import safe_join
from keepsight.service.errors import TooLarge


def _skipped(name: str) -> bool:
    """macOS resource forks and hidden files: never images, always trouble."""
    return any(part == "__MACOSX" or part.startswith(".") for part in PurePosixPath(name).parts)


def extract_zip(archive: Path, dest: Path, *, max_members: int, max_bytes: int) -> int:
    """Extract ``archive`` into ``dest``; returns the number of files written.

    Refused before anything is written: member paths that are absolute or climb out with
    ``..`` (UnsafePathError), symbolic links, more than ``max_members`` entries or a declared
    total above ``max_bytes`` (TooLarge). The bytes actually inflated are counted too, so a
    member that lies about its size is stopped at the cap.
    """
    try:
        zf = zipfile.ZipFile(archive)
    except zipfile.BadZipFile as exc:
        raise FormatError(f"not a zip archive: {exc}", path=archive.name) from None
    with zf:
        infos = zf.infolist()
        if len(infos) > max_members:
            raise TooLarge(f"the archive holds {len(infos)} entries; the limit is {max_members}", path=archive.name)
        declared = sum(i.file_size for i in infos)
        if declared > max_bytes:
            raise TooLarge(f"the archive unpacks to {declared} bytes; the limit is {max_bytes}", path=archive.name)
        targets = []
        for info in infos:
            target = safe_join(dest, info.filename, origin=archive.name, element=info.filename)
            if stat.S_ISLNK(info.external_attr >> 16):
                raise UnsafePathError("symbolic links are not allowed in archives", path=archive.name,
                                      element=info.filename)
            targets.append((info, target))
        written = 0
        inflated = 0
        for info, target in targets:
            if info.is_dir() or _skipped(info.filename):
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                with zf.open(info) as src, target.open("wb") as out:
                    while block := src.read(1 << 20):
                        inflated += len(block)
                        if inflated > max_bytes:
                            raise TooLarge(f"the archive inflates beyond {max_bytes} bytes", path=archive.name,
                                           element=info.filename)
                        out.write(block)
            except (zipfile.BadZipFile, zlib.error) as exc:  # a CRC or deflate error inside the archive
                raise FormatError(f"corrupt archive member: {exc}", path=archive.name, element=info.filename) from None
            written += 1
    return written


def remove_tree(path: Path) -> None:
    if path.exists():
        shutil.rmtree(path)
