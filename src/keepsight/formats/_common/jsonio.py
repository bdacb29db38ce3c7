"""JSON helpers shared by the JSON-based adapters (COCO here, Label Studio imports them)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from keepsight.errors import ParseError

PEEK_BYTES = 1 << 20  # detection reads at most this much of a file


def load_json(path: Path) -> Any:
    """The parsed file, or ParseError naming the file and the line of the first syntax error."""
    try:
        with path.open("rb") as fh:
            return json.load(fh)
    except json.JSONDecodeError as exc:
        raise ParseError(f"malformed JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})", path=path) from None
    except UnicodeDecodeError as exc:
        raise ParseError(f"not UTF-8 text: {exc.reason} at byte {exc.start}", path=path) from None
    except OSError as exc:
        raise ParseError(f"cannot read the file: {exc.strerror or exc}", path=path) from None


def peek_text(path: Path, limit: int = PEEK_BYTES) -> str:
    """The first ``limit`` bytes of a file as text ('' when unreadable); cheap enough for detect()."""
    try:
        with path.open("rb") as fh:
            return fh.read(limit).decode("utf-8", errors="ignore")
    except OSError:
        return ""


def write_json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as fh:
        json.dump(data, fh, ensure_ascii=False, allow_nan=False)
