"""Which split pairs leak into each other: train vs val or test, and val vs test."""

from __future__ import annotations

EVALUATED = ("train", "val", "test")


def leaking(split_a: str, split_b: str) -> bool:
    """True when the two splits must never share an image or an object."""
    return split_a != split_b and split_a in EVALUATED and split_b in EVALUATED
