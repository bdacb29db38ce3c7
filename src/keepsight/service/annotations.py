"""Annotation sets as the API sees them: JSON in, validated against the label book and the image.

An annotation travels as ``{uid, label, kind, geometry, attributes, revision}`` with the
geometry in keepsight's JSON (absolute pixels, see ``keepsight.model.geometry``). ``revision``
is the catalog revision of an annotation that exists in the catalog, ``None`` for a new one.
"""

from __future__ import annotations

import re
from typing import Any

from keepsight.errors import AnnotationError
from keepsight.formats.base import ImportItem
from keepsight.ingest.validate import check_annotation
from keepsight.model.annotation import Annotation, Sample
from keepsight.model.geometry import geometry_from_json
from keepsight.model.labelbook import AttributeSpec, LabelBook
from keepsight.storage.catalog.rows import new_uid

_UID = re.compile(r"^[0-9a-f]{32}$")


def to_dict(annotation: Annotation) -> dict[str, Any]:
    return {
        "uid": annotation.uid, "label": annotation.label, "kind": annotation.kind,
        "geometry": annotation.geometry.to_json(), "attributes": dict(annotation.attributes),
        "revision": annotation.revision,
    }


def from_dict(data: dict[str, Any]) -> Annotation:
    """A stored (already validated) annotation dict back to the model."""
    return Annotation(label=data["label"], geometry=geometry_from_json(data["kind"], data["geometry"]),
                      attributes=dict(data.get("attributes") or {}), uid=data.get("uid"),
                      revision=data.get("revision"))


def parse_set(items: list[dict[str, Any]], *, sample: Sample, book: LabelBook, tolerance: float) -> list[Annotation]:
    """Validate a whole annotation set of ``sample``; raise AnnotationError naming the bad element."""
    out: list[Annotation] = []
    seen: set[str] = set()
    for index, item in enumerate(items):
        where = f"annotations[{index}]"
        uid = item.get("uid") or new_uid()
        if not _UID.match(uid):
            raise AnnotationError(f"uid {uid!r} must be 32 lowercase hex digits", path=sample.path, element=where)
        if uid in seen:
            raise AnnotationError(f"uid {uid} appears twice", path=sample.path, element=where)
        seen.add(uid)
        try:
            annotation = Annotation(label=item.get("label", ""), geometry=geometry_from_json(item.get("kind", ""),
                                                                                          item.get("geometry")),
                                    attributes=dict(item.get("attributes") or {}), uid=uid,
                                    revision=item.get("revision"))
        except AnnotationError as exc:
            raise exc.with_location(sample.path, where) from None
        except (TypeError, ValueError, KeyError) as exc:  # geometry of the wrong shape: a list of strings, a bad mask
            raise AnnotationError(f"bad {item.get('kind')} geometry: {exc}", path=sample.path, element=where) from None
        _check_class(annotation, book, sample, where)
        check_annotation(annotation, width=sample.width, height=sample.height, tolerance=tolerance, labelbook=book,
                         item=ImportItem(path=sample.path, source=b""), index=index)
        out.append(annotation)
    return out


def _check_class(annotation: Annotation, book: LabelBook, sample: Sample, where: str) -> None:
    spec = book.classes.get(annotation.label)
    if spec is None:
        raise AnnotationError(f"class {annotation.label!r} is not in the label book ({', '.join(book.names()) or 'empty'})",
                              path=sample.path, element=where)
    if spec.kinds and annotation.kind not in spec.kinds:
        raise AnnotationError(f"class {annotation.label!r} is drawn with {', '.join(spec.kinds)}, not {annotation.kind}",
                              path=sample.path, element=where)
    for name, attr in spec.attributes.items():
        if name not in annotation.attributes:
            if attr.required:
                raise AnnotationError(f"class {annotation.label!r} needs the attribute {name!r}",
                                      path=sample.path, element=where)
            continue
        problem = _attribute_problem(attr, annotation.attributes[name])
        if problem:
            raise AnnotationError(f"attribute {name!r}: {problem}", path=sample.path, element=where)


def _attribute_problem(spec: AttributeSpec, value: object) -> str | None:
    if spec.type == "text" and not isinstance(value, str):
        return f"expected text, got {value!r}"
    if spec.type == "bool" and not isinstance(value, bool):
        return f"expected true or false, got {value!r}"
    if spec.type == "number" and (isinstance(value, bool) or not isinstance(value, (int, float))):
        return f"expected a number, got {value!r}"
    if spec.type == "choice" and value not in spec.choices:
        return f"expected one of {spec.choices}, got {value!r}"
    return None
