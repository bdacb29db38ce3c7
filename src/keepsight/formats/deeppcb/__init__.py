"""DeepPCB: PCB defect boxes on tested images, paired with defect-free template images.

Layout (``root`` is ``PCBData/``; its parent is accepted too)::

    PCBData/trainval.txt                          pairs of the train split
    PCBData/test.txt                              pairs of the test split
        (lines: group20085/20085/20085000.jpg group20085/20085_not/20085000.txt)
    PCBData/group20085/20085/20085000_test.jpg    tested image
    PCBData/group20085/20085/20085000_temp.jpg    its defect-free template
    PCBData/group20085/20085_not/20085000.txt     boxes of the tested image: "x1 y1 x2 y2 type"

Box classes: 1 open, 2 short, 3 mousebite, 4 spur, 5 copper (spurious copper), 6 pin-hole.

Every image gets metadata ``role`` (``test`` or ``template``), ``group`` (``group20085``),
``board`` (``20085``) and ``pair`` (``20085000``, shared by a tested image and its
template). A pair's split (from the lists) applies to both its images, so a template never
lands in another split than its tested image; pairs in no list stay unassigned. Tested
images are NG when their file lists boxes (OK when it is empty); templates are OK.
Read-only: keepsight does not write this layout.
"""

from __future__ import annotations

from pathlib import Path

from keepsight.formats.base import Detection, ReadContext, Reading
from keepsight.formats.deeppcb.read import SPLIT_LISTS, group_dirs, read_deeppcb

NAME = "deeppcb"
DATA_DIR = "PCBData"


def data_root(path: Path) -> Path | None:
    """The PCBData folder ``path`` is, holds, or (for a split list) sits in."""
    if path.is_file():
        return path.parent if path.name in SPLIT_LISTS and _lists_look_right(path) else None
    for candidate in (path, path / DATA_DIR):
        if candidate.is_dir() and (group_dirs(candidate) or any((candidate / n).is_file() for n in SPLIT_LISTS)):
            return candidate
    return None


def _lists_look_right(path: Path) -> bool:
    """The first line of a split list reads ``group*/<board>/<n>.jpg group*/<board>_not/<n>.txt``."""
    with path.open(encoding="utf-8", errors="replace") as stream:
        fields = stream.readline(4096).split()
    return len(fields) == 2 and fields[0].startswith("group") and "_not/" in fields[1]


class DeepPcbFormat:
    name = NAME
    description = "DeepPCB: group*/<board>/<n>_test.jpg + <board>_not/<n>.txt boxes, trainval.txt/test.txt"

    def detect(self, path: Path) -> Detection:
        root = data_root(path)
        if root is None:
            return Detection.no(
                NAME,
                "no group*/ folder with a <board>_not/ annotation folder, and no "
                "trainval.txt/test.txt of DeepPCB pairs",
            )
        groups = group_dirs(root)
        lists = [n for n in SPLIT_LISTS if (root / n).is_file()]
        if not groups and not any(_lists_look_right(root / n) for n in lists):
            return Detection.no(NAME, "trainval.txt/test.txt lines are not DeepPCB pairs")
        reasons = [f"{len(groups)} group folders, split lists {lists}"]
        return Detection(NAME, 0.95, reasons, root=root if root != path else None)

    def read(self, path: Path, ctx: ReadContext) -> Reading:
        return read_deeppcb(data_root(path) or path, ctx)


FORMAT = DeepPcbFormat()
