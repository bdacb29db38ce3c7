"""Import problems as the checks read them: image-file problems sorted into categories, paths made relative.

The importer (run with skip-bad by ``keepsight audit``) refuses bad images and records each refusal
in the catalog's ``problems`` table: code ``missingfile`` for an image that is not there, ``image``
for one that cannot be read. Problems recorded before ``MissingFileError`` existed carry code
``image`` with the importer's "does not exist" wording; they still count as missing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import select

from keepsight.checks.context import AuditContext
from keepsight.storage.catalog import tables as t

Category = Literal["missing", "empty", "corrupt", "too_large", "unsupported", "not_a_file", "conflict"]

# The importer's wording (ingest/images.py, ingest/importer.py, formats/base.py), most specific first.
_PATTERNS: list[tuple[Category, re.Pattern[str]]] = [
    ("missing", re.compile(r"does not exist|file is missing")),
    ("conflict", re.compile(r"already in the catalog")),
    ("empty", re.compile(r"empty \(0 bytes\)|empty size")),
    ("too_large", re.compile(r"over the cap|decompression bomb")),
    ("unsupported", re.compile(r"unknown image extension")),
    ("not_a_file", re.compile(r"found a folder")),
]


@dataclass(frozen=True)
class ImageProblem:
    path: str  # relative to the imported folder when the problem named a file below it
    category: Category
    reason: str
    element: str | None
    import_id: int

    def evidence(self) -> dict[str, Any]:
        return {"category": self.category, "reason": self.reason, "element": self.element, "import": self.import_id}


def categorize(code: str, reason: str) -> Category | None:
    """The category of an image problem, or None when the problem is not about an image file."""
    if code == "missingfile":
        return "missing"
    if code != "image":
        return None
    for category, pattern in _PATTERNS:
        if pattern.search(reason):
            return category
    return "corrupt"  # cannot read the header, truncated data, not an image format


def relative_path(path: str | None, source: str | None) -> str:
    """A problem's path as the dataset names samples: relative to the imported folder when below it."""
    if not path:
        return ""
    if source and Path(path).is_absolute():
        root = Path(source)
        root = root if root.is_dir() else root.parent
        try:
            return Path(path).relative_to(root).as_posix()
        except ValueError:
            return path
    return path


def import_sources(ctx: AuditContext) -> dict[int, str]:
    """Import run id -> the folder or file it imported."""
    with ctx.ds.reading() as conn:
        return {int(i): str(src) for i, src in conn.execute(select(t.import_runs.c.id, t.import_runs.c.source))}


def image_problems(ctx: AuditContext) -> list[ImageProblem]:
    """Image problems whose file is not in the catalog now (a later import may have fixed it), one per path
    and category."""
    sources = import_sources(ctx)
    present = {s.path for s in ctx.samples}
    seen: set[tuple[str, str]] = set()
    out: list[ImageProblem] = []
    for problem in ctx.problems:
        category = categorize(str(problem["code"]), str(problem["reason"]))
        if category is None:
            continue
        path = relative_path(problem["path"], sources.get(problem["import_id"]))
        if path in present or (path, category) in seen:
            continue
        seen.add((path, category))
        out.append(ImageProblem(path, category, str(problem["reason"]), problem["element"], int(problem["import_id"])))
    return out
