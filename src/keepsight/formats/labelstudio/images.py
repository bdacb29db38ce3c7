"""Finding the image a Label Studio task names, under the export's folder."""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath
from urllib.parse import parse_qs, unquote, urlsplit

from keepsight.errors import AnnotationError
from keepsight.formats.base import iter_images, safe_join

_UPLOAD_PREFIX = re.compile(r"^[0-9a-f]{8}-(.+)$")  # Label Studio prefixes uploaded file names with 8 hex chars


class ImageIndex:
    """Finds the image a task names (an upload URL, a local-files URL, a web URL, a relative path)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._by_name: dict[str, list[Path]] | None = None
        self._by_stem: dict[str, list[Path]] = {}

    def resolve(self, ref: str, *, origin: str, element: str) -> tuple[str, Path]:
        """(sample path relative to the root, image path); the path may not exist."""
        parts = urlsplit(ref)
        local = parse_qs(parts.query).get("d")  # /data/local-files/?d=folder/image.jpg
        tail = unquote(local[0] if local else parts.path).replace("\\", "/")
        if not parts.scheme and not local and not ref.startswith("/"):
            direct = safe_join(self.root, tail, origin=origin, element=element)
            if direct.is_file():
                return tail, direct
        name = PurePosixPath(tail).name
        if not name:
            raise AnnotationError(f"image reference {ref!r} names no file")
        found = self._lookup(name, PurePosixPath(tail).parts)
        if found is not None:
            return found.relative_to(self.root).as_posix(), found
        if not parts.scheme and not local and not ref.startswith("/"):
            return tail, self.root / tail
        return name, self.root / name

    def _lookup(self, name: str, tail: tuple[str, ...]) -> Path | None:
        if self._by_name is None:  # built on first use: one walk of the export's folder
            self._by_name = {}
            for path in iter_images(self.root):
                self._by_name.setdefault(path.name, []).append(path)
                self._by_stem.setdefault(path.stem, []).append(path)
        upload = _UPLOAD_PREFIX.match(name)
        candidates = (
            self._by_name.get(name)
            or (self._by_name.get(upload.group(1)) if upload else None)
            or (self._by_stem.get(name) if not PurePosixPath(name).suffix else None)
        )
        if not candidates:
            return None
        # Several files share the name: prefer the one whose folders match the reference's.
        return max(candidates, key=lambda p: _common_tail(p.relative_to(self.root).parts, tail))


def _common_tail(a: tuple[str, ...], b: tuple[str, ...]) -> int:
    n = 0
    while n < min(len(a), len(b)) and a[-1 - n] == b[-1 - n]:
        n += 1
    return n
