"""The one exception tree of keepsight.

Every error a user can cause derives from :class:`KeepsightError` and carries structured
fields (``path``, ``element``, ``reason``) so the CLI can print one clear line and map the
error class to an exit code, and ``--skip-bad`` imports can record the same fields in the
catalog for the audit.

    KeepsightError
    ├── DatasetError            dataset folder missing, not initialised, bad config
    ├── StorageError            catalog or blob store failures
    │   └── IntegrityError      a blob does not match its hash
    ├── FormatError             a file cannot be understood
    │   ├── UnknownFormatError  no importer recognises a path
    │   ├── ParseError          malformed JSON / XML / text
    │   ├── AnnotationError     bad geometry, undeclared class, missing image
    │   ├── ImageError          unreadable, truncated, zero-byte, too large, unknown type
    │   │   └── MissingFileError  the image an annotation names does not exist
    │   └── UnsafePathError     a path escapes the root
    └── ConflictError           a concurrent or contradictory change
"""

from __future__ import annotations

from pathlib import Path


class KeepsightError(Exception):
    """Root of every error keepsight raises on purpose."""

    exit_code = 1

    def __init__(
        self,
        reason: str,
        *,
        path: str | Path | None = None,
        element: str | None = None,
    ) -> None:
        self.reason = reason
        self.path = str(path) if path is not None else None
        self.element = element
        super().__init__(self.message)

    def with_location(self, path: str | Path, element: str | None = None) -> KeepsightError:
        """This error naming ``path`` and ``element`` where it does not name them already.

        Geometry and parsing helpers raise without knowing the file; the reader that called
        them adds where the bad element sits.
        """
        return type(self)(self.reason, path=self.path or path, element=self.element or element)

    @property
    def code(self) -> str:
        """A stable machine-readable name, e.g. ``ImageError`` -> ``image``."""
        name = type(self).__name__.removesuffix("Error")
        return name.lower() or "error"

    @property
    def message(self) -> str:
        where = ""
        if self.path:
            where = self.path
            if self.element:
                where += f" ({self.element})"
            where += ": "
        elif self.element:
            where = f"{self.element}: "
        return f"{where}{self.reason}"


class DatasetError(KeepsightError):
    exit_code = 2


class StorageError(KeepsightError):
    exit_code = 3


class IntegrityError(StorageError):
    pass


class FormatError(KeepsightError):
    exit_code = 4


class UnknownFormatError(FormatError):
    pass


class ParseError(FormatError):
    pass


class AnnotationError(FormatError):
    pass


class ImageError(FormatError):
    pass


class MissingFileError(ImageError):
    """The image file an annotation or listing names is not there (code ``missingfile``)."""


class UnsafePathError(FormatError):
    pass


class ConflictError(KeepsightError):
    exit_code = 5


__all__ = [
    "AnnotationError",
    "ConflictError",
    "DatasetError",
    "FormatError",
    "ImageError",
    "IntegrityError",
    "KeepsightError",
    "MissingFileError",
    "ParseError",
    "StorageError",
    "UnknownFormatError",
    "UnsafePathError",
]
