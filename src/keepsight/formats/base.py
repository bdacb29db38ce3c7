"""The contract between format adapters and the rest of keepsight.

A format is a module folder ``keepsight/formats/<name>/`` exposing one object that
implements :class:`Format`: ``detect`` (how sure, and why not), ``read`` (a stream of
:class:`ImportItem`), and optionally ``write`` (an export from an :class:`ExportView`).
Formats know nothing of the catalog or blob store: the importer and exporter sit between.
"""

from __future__ import annotations

import shutil
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Protocol, runtime_checkable

from keepsight.errors import ImageError, KeepsightError, MissingFileError, UnsafePathError
from keepsight.model.annotation import Annotation, Sample, Split, Verdict
from keepsight.model.labelbook import LabelBook

IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp"})


@dataclass
class Detection:
    """How sure a format is that it can read a path, and why it said no."""

    format: str
    confidence: float  # 0 = certainly not, 1 = certainly
    reasons: list[str] = field(default_factory=list)
    root: Path | None = None  # what read() should be given, when not the path itself

    @classmethod
    def no(cls, format_name: str, *reasons: str) -> Detection:
        return cls(format_name, 0.0, list(reasons))


@dataclass
class ImportItem:
    """One image and its annotations, as a reader found them.

    ``path`` is the sample's name: a relative POSIX path under the imported root.
    ``source`` is where the bytes are: a file on disk or the bytes themselves (LabelMe's
    embedded ``imageData``). ``origin`` names the annotation file and element for errors.
    """

    path: str
    source: Path | bytes
    annotations: list[Annotation] = field(default_factory=list)
    verdict: Verdict | None = None
    split: Split | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    expected_size: tuple[int, int] | None = None  # (width, height) the annotation file states
    origin: str | None = None  # e.g. "annotations/instances_train.json"
    element: str | None = None  # e.g. "image id 7"


@dataclass
class Reading:
    """What ``Format.read`` returns: the declared label book and a lazy stream of items."""

    labelbook: LabelBook
    items: Iterator[ImportItem]
    classes_declared: bool = True  # False when classes are only known from the annotations
    total: int | None = None  # number of items, when known cheaply (for progress bars)


class ReadContext:
    """Options and the error policy handed to readers.

    ``fail_fast`` (the default) raises at the first bad element; with ``skip_bad`` the
    reader calls :meth:`problem`, which records the error and returns, and the reader
    skips that element and goes on.
    """

    def __init__(
        self,
        *,
        skip_bad: bool = False,
        options: dict[str, Any] | None = None,
        on_problem: Callable[[KeepsightError], None] | None = None,
    ) -> None:
        self.skip_bad = skip_bad
        self.options = dict(options or {})
        self.problems: list[KeepsightError] = []
        self._on_problem = on_problem

    def problem(self, error: KeepsightError) -> None:
        """Raise ``error`` (fail-fast) or record it and return (skip-bad)."""
        if not self.skip_bad:
            raise error
        self.problems.append(error)
        if self._on_problem is not None:
            self._on_problem(error)

    def option(self, name: str, default: Any) -> Any:
        return self.options.get(name, default)


def safe_join(root: Path, relative: str, *, origin: str | Path | None = None, element: str | None = None) -> Path:
    """``root / relative``, refusing absolute paths and any ``..`` that would escape ``root``."""
    rel = relative.replace("\\", "/")
    posix = PurePosixPath(rel)
    if posix.is_absolute() or (len(rel) > 1 and rel[1] == ":"):
        raise UnsafePathError(f"absolute path {relative!r} is not allowed; paths must be relative to the dataset root",
                              path=origin, element=element)
    if ".." in posix.parts:
        raise UnsafePathError(f"path {relative!r} escapes the dataset root", path=origin, element=element)
    return root.joinpath(*posix.parts)


def relative_name(path: Path, root: Path) -> str:
    """The POSIX path of ``path`` relative to ``root`` (the sample name)."""
    return path.resolve().relative_to(root.resolve()).as_posix()


def image_size(path: Path) -> tuple[int, int]:
    """(width, height) from the image header, without decoding pixels."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as img:
            return img.size
    except FileNotFoundError:
        raise MissingFileError("image file is missing", path=path) from None
    except (UnidentifiedImageError, OSError) as exc:
        raise ImageError(f"cannot read image header: {exc}", path=path) from None


def iter_images(root: Path) -> Iterator[Path]:
    """Image files below ``root`` in a stable order, skipping hidden folders."""
    for path in sorted(root.rglob("*")):
        if path.suffix.lower() in IMAGE_EXTENSIONS and path.is_file():
            if not any(part.startswith(".") for part in path.relative_to(root).parts):
                yield path


@runtime_checkable
class ExportView(Protocol):
    """What writers read: the label book, active samples with annotations, blob bytes."""

    labelbook: LabelBook

    def samples(self) -> Iterable[tuple[Sample, list[Annotation]]]: ...

    def copy_image(self, sample: Sample, dest: Path) -> None: ...


@dataclass
class MemoryView:
    """An :class:`ExportView` over in-memory samples whose images are files on disk (tests)."""

    labelbook: LabelBook
    items: list[tuple[Sample, list[Annotation], Path]]

    def samples(self) -> Iterable[tuple[Sample, list[Annotation]]]:
        for sample, annotations, _ in self.items:
            yield sample, annotations

    def copy_image(self, sample: Sample, dest: Path) -> None:
        source = next(p for s, _, p in self.items if s.id == sample.id)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, dest)


class WriteContext:
    """Options for writers and the record of what an export could not keep."""

    def __init__(self, *, options: dict[str, Any] | None = None, destination: Path | None = None) -> None:
        self.options = dict(options or {})
        self.losses: Counter[str] = Counter()
        # Where the export lives once renamed into place; writers that record their own
        # location (YOLO's data.yaml ``path``) must name it, not the temporary folder.
        self.destination = destination

    def loss(self, what: str, count: int = 1) -> None:
        """Record a conversion that loses information, e.g. 'rotated_box -> box (VOC)'."""
        self.losses[what] += count

    def option(self, name: str, default: Any) -> Any:
        return self.options.get(name, default)


class Format(Protocol):
    name: str
    description: str

    def detect(self, path: Path) -> Detection: ...

    def read(self, path: Path, ctx: ReadContext) -> Reading: ...


class WritableFormat(Format, Protocol):
    def write(self, view: ExportView, dest: Path, ctx: WriteContext) -> None: ...
