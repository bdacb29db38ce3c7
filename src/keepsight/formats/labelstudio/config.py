"""Label Studio labeling configs (``<View>`` XML): the classes they declare, and one for our exports."""

from __future__ import annotations

import re
import xml.etree.ElementTree as StdET
from dataclasses import dataclass, field
from pathlib import Path

from defusedxml import DefusedXmlException
from defusedxml import ElementTree as SafeET

from keepsight.errors import ParseError
from keepsight.model.labelbook import LabelBook

CONFIG_NAME = "label_config.xml"
# Control tag (lower case) -> the keepsight kinds its labels are drawn with; () = any kind.
CONTROL_KINDS: dict[str, tuple[str, ...]] = {
    "rectanglelabels": ("box", "rotated_box"),
    "polygonlabels": ("polygon",),
    "brushlabels": ("mask",),
    "keypointlabels": ("points",),
    "choices": ("tag",),
    "labels": (),
}
_HEX_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")


@dataclass
class LabelConfig:
    labelbook: LabelBook = field(default_factory=LabelBook)
    image_key: str = "image"  # the task data field holding the image (``<Image value="$image">``)
    declared: bool = False


def read_config(path: Path) -> LabelConfig:
    """The classes a config declares; ParseError when the XML is malformed or unsafe."""
    try:
        root = SafeET.parse(path).getroot()
    except (StdET.ParseError, DefusedXmlException) as exc:
        raise ParseError(f"malformed label config XML: {exc}", path=path) from None
    config = LabelConfig(declared=True)
    images = [el.get("value", "") for el in root.iter() if el.tag.lower() == "image"]
    if images and images[0].startswith("$"):
        config.image_key = images[0][1:]
    for control in root.iter():
        kinds = CONTROL_KINDS.get(control.tag.lower())
        if kinds is None or control.get("perRegion", "").lower() == "true":  # per-region choices are attributes
            continue
        for option in control.iter():
            name = option.get("value")
            if option.tag.lower() not in ("label", "choice") or not name:
                continue
            colour = option.get("background", "")
            spec = config.labelbook.add(name, colour=colour if _HEX_COLOUR.match(colour) else None)
            for kind in kinds:
                config.labelbook.add(spec.name, kind=kind)
    return config


def render_config(controls: dict[str, tuple[str, list[str]]], labelbook: LabelBook, *, text: bool) -> str:
    """A ``<View>`` with one control per ``name -> (tag, class names)`` and an optional region text box."""
    view = StdET.Element("View")
    StdET.SubElement(view, "Image", name="image", value="$image")
    for name, (tag, classes) in controls.items():
        if not classes:
            continue
        attrs = {"name": name, "toName": "image"}
        if tag == "Choices":
            attrs["choice"] = "multiple"
        control = StdET.SubElement(view, tag, attrs)
        for cls in classes:
            spec = labelbook.classes.get(cls)
            colour = {"background": spec.colour} if spec is not None and _HEX_COLOUR.match(spec.colour) else {}
            StdET.SubElement(control, "Choice" if tag == "Choices" else "Label", {"value": cls, **colour})
    if text:
        StdET.SubElement(view, "TextArea", name="text", toName="image", perRegion="true", editable="true")
    StdET.indent(view)
    return StdET.tostring(view, encoding="unicode") + "\n"
