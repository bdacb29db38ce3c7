from __future__ import annotations

import pytest
from pydantic import ValidationError

from keepsight.model import ClassSpec, LabelBook


def test_add_records_the_kinds_a_class_is_drawn_with() -> None:
    book = LabelBook()
    book.add("scratch", kind="polygon")
    book.add("scratch", kind="box")
    assert book.classes["scratch"].kinds == ["box", "polygon"]
    assert book.classes["scratch"].colour.startswith("#")


def test_merge_keeps_existing_rules() -> None:
    mine = LabelBook(classes={"arrow": ClassSpec(name="arrow", orientation="directed", kinds=["rotated_box"])})
    theirs = LabelBook()
    theirs.add("arrow", kind="box", orientation="none")
    theirs.add("chip")
    merged = mine.merge(theirs)
    assert merged.classes["arrow"].orientation == "directed"
    assert merged.classes["arrow"].kinds == ["box", "rotated_box"]
    assert merged.names() == ["arrow", "chip"]
    assert mine.names() == ["arrow"]  # merge does not mutate


def test_unknown_kinds_and_orientations_are_refused() -> None:
    with pytest.raises(ValidationError, match="unknown annotation kinds"):
        ClassSpec(name="x", kinds=["ellipse"])
    with pytest.raises(ValidationError):
        ClassSpec(name="x", orientation="sideways")  # type: ignore[arg-type]
