"""The label book: the dataset's classes and the rules for drawing them."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from keepsight.model.geometry import KINDS

Orientation = Literal["directed", "axial", "none"]

_PALETTE = [
    "#e6194b", "#3cb44b", "#ffe119", "#4363d8", "#f58231", "#911eb4", "#46f0f0", "#f032e6",
    "#bcf60c", "#fabebe", "#008080", "#e6beff", "#9a6324", "#800000", "#aaffc3", "#808000",
]


class AttributeSpec(BaseModel):
    """One attribute a region of a class may carry (e.g. ``text`` for an OCR box)."""

    model_config = ConfigDict(extra="forbid")
    type: Literal["text", "bool", "number", "choice"] = "text"
    choices: list[str] = Field(default_factory=list)
    required: bool = False


class ClassSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    kinds: list[str] = Field(default_factory=list, description="allowed annotation kinds; empty = any")
    orientation: Orientation = "axial"
    colour: str = ""
    description: str = ""
    attributes: dict[str, AttributeSpec] = Field(default_factory=dict)
    is_defect: bool | None = Field(default=None, description="None = unknown; used by OK/NG checks")

    def rgb(self) -> tuple[int, int, int] | None:
        """The colour as (r, g, b), or None when it is not a ``#rrggbb`` hex string."""
        text = self.colour.lstrip("#")
        try:
            return (int(text[0:2], 16), int(text[2:4], 16), int(text[4:6], 16)) if len(text) == 6 else None
        except ValueError:
            return None

    @field_validator("kinds")
    @classmethod
    def _known_kinds(cls, kinds: list[str]) -> list[str]:
        unknown = [k for k in kinds if k not in KINDS]
        if unknown:
            raise ValueError(f"unknown annotation kinds {unknown}; expected some of {list(KINDS)}")
        return sorted(set(kinds), key=KINDS.index)

    @field_validator("name")
    @classmethod
    def _non_empty(cls, name: str) -> str:
        if not name.strip():
            raise ValueError("a class name cannot be empty")
        return name


class LabelBook(BaseModel):
    model_config = ConfigDict(extra="forbid")
    classes: dict[str, ClassSpec] = Field(default_factory=dict)

    def names(self) -> list[str]:
        return list(self.classes)

    def __contains__(self, name: object) -> bool:
        return name in self.classes

    def add(self, name: str, *, kind: str | None = None, **fields: object) -> ClassSpec:
        """Add a class (or return the existing one), recording ``kind`` as allowed."""
        spec = self.classes.get(name)
        if spec is None:
            colour = fields.pop("colour", None) or _PALETTE[len(self.classes) % len(_PALETTE)]
            spec = ClassSpec(name=name, colour=str(colour), **fields)  # type: ignore[arg-type]
            self.classes[name] = spec
        if kind and spec.kinds and kind not in spec.kinds:
            spec.kinds = ClassSpec._known_kinds([*spec.kinds, kind])
        elif kind and not spec.kinds:
            spec.kinds = [kind]
        return spec

    def merge(self, other: LabelBook) -> LabelBook:
        """A new label book with ``other``'s classes added; existing entries win."""
        merged = self.model_copy(deep=True)
        for name, spec in other.classes.items():
            if name not in merged.classes:
                merged.classes[name] = spec.model_copy(deep=True)
            else:
                for kind in spec.kinds:
                    merged.add(name, kind=kind)
        return merged
