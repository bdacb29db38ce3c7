"""The explicit table of formats, plus third-party formats from entry points.

Add a format by adding one line to ``BUILTIN_FORMATS``; third-party packages register
``<name> = "package.module:FORMAT"`` under the ``keepsight.formats`` entry-point group.
"""

from __future__ import annotations

import importlib
from importlib.metadata import entry_points
from pathlib import Path

from keepsight.errors import UnknownFormatError
from keepsight.formats.base import Detection, Format

# name -> "module:attribute"; imported lazily so one broken adapter cannot break the rest.
BUILTIN_FORMATS: dict[str, str] = {
    "coco": "keepsight.formats.coco:FORMAT",
    "yolo": "keepsight.formats.yolo:FORMAT",
    "voc": "keepsight.formats.voc:FORMAT",
    "cvat": "keepsight.formats.cvat:FORMAT",
    "labelme": "keepsight.formats.labelme:FORMAT",
    "labelstudio": "keepsight.formats.labelstudio:FORMAT",
    "dota": "keepsight.formats.dota:FORMAT",
    "mvtec": "keepsight.formats.mvtec:FORMAT",
    "mask_folder": "keepsight.formats.mask_folder:FORMAT",
    "image_folder": "keepsight.formats.image_folder:FORMAT",
    "manifest": "keepsight.formats.manifest:FORMAT",
    "deeppcb": "keepsight.formats.deeppcb:FORMAT",
}

_ENTRY_POINT_GROUP = "keepsight.formats"


def format_names() -> list[str]:
    names = list(BUILTIN_FORMATS)
    names += [ep.name for ep in entry_points(group=_ENTRY_POINT_GROUP) if ep.name not in BUILTIN_FORMATS]
    return names


def get_format(name: str) -> Format:
    if name in BUILTIN_FORMATS:
        module_name, attr = BUILTIN_FORMATS[name].split(":")
        module = importlib.import_module(module_name)
        if not hasattr(module, attr):
            raise ImportError(f"{module_name} defines no {attr}")
        return getattr(module, attr)  # type: ignore[no-any-return]
    for ep in entry_points(group=_ENTRY_POINT_GROUP):
        if ep.name == name:
            return ep.load()  # type: ignore[no-any-return]
    raise UnknownFormatError(f"unknown format {name!r}; known formats: {', '.join(format_names())}")


def detect_all(path: Path) -> list[Detection]:
    """Every format's verdict on ``path``, most confident first."""
    results = []
    for name in format_names():
        try:
            fmt = get_format(name)
        except ImportError as exc:  # a broken or optional adapter must not hide the others
            results.append(Detection.no(name, f"adapter could not be loaded: {exc}"))
            continue
        results.append(fmt.detect(path))
    return sorted(results, key=lambda d: -d.confidence)


def detect_format(path: Path) -> Detection:
    """The best format for ``path``, or UnknownFormatError listing why each was rejected."""
    if not path.exists():
        raise UnknownFormatError("path does not exist", path=path)
    results = detect_all(path)
    best = results[0]
    if best.confidence <= 0:
        why = "; ".join(f"{d.format}: {', '.join(d.reasons) or 'no match'}" for d in results)
        raise UnknownFormatError(f"no importer recognises this path ({why})", path=path)
    return best
