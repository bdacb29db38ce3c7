"""Leak-free splits: whole object groups per split, stratified, seeded; repair; a frozen test set."""

from keepsight.splits.api import apply_split_file, repair_split, split_dataset
from keepsight.splits.assign import Ratios, parse_ratios
from keepsight.splits.frozen import FrozenTest, freeze_test, frozen_test_info, release_test
from keepsight.splits.report import Move, SplitReport

__all__ = [
    "FrozenTest",
    "Move",
    "Ratios",
    "SplitReport",
    "apply_split_file",
    "freeze_test",
    "frozen_test_info",
    "parse_ratios",
    "release_test",
    "repair_split",
    "split_dataset",
]
