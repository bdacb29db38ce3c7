"""The label-book pages: per class its rules, tools, orientation, examples and counter-examples."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request, Response

from keepsight.model.geometry import KINDS
from keepsight.model.labelbook import ClassSpec, LabelBook
from keepsight.service.context import ServiceContext, get_context
from keepsight.service.errors import NotFound
from keepsight.service.policy import allow
from keepsight.service.routes.media import IMAGE_RESPONSES, image_response
from keepsight.service.schemas import AttributeOut, ClassPageOut, ClassPatch, ExampleIn, ExampleOut, LabelBookOut, Ok
from keepsight.service.store import catalog, library
from keepsight.service.store.accounts import Principal
from keepsight.storage.catalog import queries, writes

router = APIRouter(tags=["labelbook"])

TOOLS = {"box": ["box"], "rotated_box": ["rotated_box"], "polygon": ["polygon"], "polyline": ["polyline"],
         "points": ["points"], "mask": ["brush", "eraser"], "tag": ["tag"]}
ORIENTATION_RULES = {
    "directed": "The object has a head: draw rotated boxes so the box's local +x axis (corner 0 to corner 1, the "
                "first edge drawn) points where the head points. Boxes 180 degrees apart are different.",
    "axial": "The object has no head: a rotated box and the same box turned by 180 degrees are equal.",
    "none": "Orientation means nothing for this class.",
}


def _example(row: dict[str, Any]) -> ExampleOut:
    return ExampleOut(id=row["id"], sample_id=row["sample_id"], path=row["path"], width=row["width"],
                      height=row["height"], counter=row["counter"], note=row["note"], added_by=row["added_by"],
                      added_at=row["added_at"], image_url=f"/labelbook/examples/{row['id']}/image")


def _page(spec: ClassSpec, examples: list[dict[str, Any]]) -> ClassPageOut:
    kinds = spec.kinds or list(KINDS)
    mine = [_example(e) for e in examples if e["class_name"] == spec.name]
    return ClassPageOut(
        name=spec.name, description=spec.description, kinds=kinds, tools=[t for k in kinds for t in TOOLS[k]],
        orientation=spec.orientation, orientation_rule=ORIENTATION_RULES[spec.orientation], colour=spec.colour,
        is_defect=spec.is_defect, attributes={k: AttributeOut(**v.model_dump()) for k, v in spec.attributes.items()},
        examples=[e for e in mine if not e.counter], counter_examples=[e for e in mine if e.counter])


def _spec(book: LabelBook, name: str) -> ClassSpec:
    if name not in book.classes:
        raise NotFound(f"no class {name!r} in the label book")
    return book.classes[name]


@router.get("/labelbook", response_model=LabelBookOut)
def get_labelbook(_: Principal = allow("labelbook.read"), ctx: ServiceContext = Depends(get_context)) -> LabelBookOut:
    with ctx.ds.reading() as conn:
        book = queries.load_labelbook(conn)
        examples = library.examples(conn)
    return LabelBookOut(rules=ctx.settings.rules, classes=[_page(s, examples) for s in book.classes.values()])


@router.get("/labelbook/classes/{name}", response_model=ClassPageOut)
def get_class(name: str, _: Principal = allow("labelbook.read"), ctx: ServiceContext = Depends(get_context)) -> ClassPageOut:
    with ctx.ds.reading() as conn:
        spec = _spec(queries.load_labelbook(conn), name)
        return _page(spec, library.examples(conn, name))


@router.patch("/labelbook/classes/{name}", response_model=ClassPageOut)
def update_class(name: str, body: ClassPatch, principal: Principal = allow("labelbook.edit"),
                 ctx: ServiceContext = Depends(get_context)) -> ClassPageOut:
    """Change a class's description, allowed kinds, orientation or colour (also written to labelbook.yaml)."""
    with ctx.ds.transaction() as conn:
        book = queries.load_labelbook(conn)
        spec = _spec(book, name)
        changes = body.model_dump(exclude_none=True)
        book.classes[name] = ClassSpec.model_validate(spec.model_dump() | changes)
        writes.save_labelbook(conn, book)
        writes.record_event(conn, "labelbook.update", actor=principal.name, target=name, details=changes)
        examples = library.examples(conn, name)
    ctx.ds.write_labelbook_file(book)
    return _page(book.classes[name], examples)


@router.post("/labelbook/classes/{name}/examples", response_model=ExampleOut, status_code=201)
def add_example(name: str, body: ExampleIn, principal: Principal = allow("labelbook.edit"),
                ctx: ServiceContext = Depends(get_context)) -> ExampleOut:
    """Attach an image as an example (or, with ``counter``, a counter-example) of the class."""
    with ctx.ds.transaction() as conn:
        _spec(queries.load_labelbook(conn), name)
        catalog.active_sample(conn, body.sample_id)
        example_id = library.add_example(conn, class_name=name, sample_id=body.sample_id, counter=body.counter,
                                         note=body.note, by=principal.name)
        return _example(next(e for e in library.examples(conn, name) if e["id"] == example_id))


@router.delete("/labelbook/classes/{name}/examples/{example_id}", response_model=Ok)
def remove_example(name: str, example_id: int, _: Principal = allow("labelbook.edit"),
                   ctx: ServiceContext = Depends(get_context)) -> Ok:
    with ctx.ds.transaction() as conn:
        library.delete_example(conn, name, example_id)
    return Ok()


@router.get("/labelbook/examples/{example_id}/image", response_class=Response, responses=IMAGE_RESPONSES)
def example_image(example_id: int, request: Request, _: Principal = allow("labelbook.read"),
                  ctx: ServiceContext = Depends(get_context)) -> Response:
    """An example image: every role may see these, annotators included (they are part of the rules)."""
    with ctx.ds.reading() as conn:
        sample = catalog.active_sample(conn, library.get_example(conn, example_id)["sample_id"])
    return image_response(ctx, sample, request)
