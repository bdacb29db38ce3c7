"""The HTML report: one self-contained file whose pictures decode and show the regions and evidence."""

from __future__ import annotations

import base64
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

import cv2
import numpy as np
import pytest

from keepsight.audit import plots
from keepsight.audit.html import render_html, write_html
from keepsight.audit.runner import AuditReport, run_audit
from keepsight.checks.base import CheckResult, Finding
from keepsight.dataset import Dataset
from keepsight.descriptors import describe_dataset
from keepsight.model.convert import array_to_mask
from tests.audit.build import dataset_from, textured

SCRIPT_NAME = "odd/x<script>alert(1)</script>.png"
LABELBOOK = {"classes": {
    "scratch": {"name": "scratch", "kinds": ["box"], "colour": "#00ff00"},
    "spot": {"name": "spot", "kinds": ["mask"], "colour": "#ff00ff"},
    "a$b<i>": {"name": "a$b<i>", "kinds": ["box"], "colour": "#0000ff"},
}}


@dataclass(repr=False)
class Element:
    tag: str
    attrs: dict[str, str]
    parents: list[Element]
    children: list[Element] = field(default_factory=list)

    def __repr__(self) -> str:  # the default would walk the whole tree through parents and children
        return f"<{self.tag} {self.attrs}>"


class Tree(HTMLParser):
    """Every element with its ancestors (void and self-closed elements handled)."""

    VOID = {"meta", "img", "input", "br", "hr", "link", "use", "image", "rect", "path", "polygon", "polyline",
            "circle", "line"}

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[Element] = []
        self.stack: list[Element] = []
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        el = Element(tag, {k: v or "" for k, v in attrs}, list(self.stack))
        if self.stack:
            self.stack[-1].children.append(el)
        self.elements.append(el)
        if tag not in self.VOID:
            self.stack.append(el)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        el = Element(tag, {k: v or "" for k, v in attrs}, list(self.stack))
        if self.stack:
            self.stack[-1].children.append(el)
        self.elements.append(el)

    def handle_endtag(self, tag: str) -> None:
        if tag not in {e.tag for e in self.stack}:  # </rect> after a shape we never pushed
            return
        while self.stack:
            if self.stack.pop().tag == tag:
                break

    def find(self, tag: str, **attrs: str) -> list[Element]:
        return [e for e in self.elements if e.tag == tag and all(e.attrs.get(k) == v for k, v in attrs.items())]


def _planted(tmp_path: Path) -> Dataset:
    same = textured(7)
    spot = np.zeros((96, 128), bool)
    spot[40:60, 70:95] = True
    return dataset_from(tmp_path, [
        # An exact leak whose first copy carries a scratch box and a spot mask: the pair is drawn with them.
        {"image": "a.png", "split": "train", "pixels": same, "annotations": [
            {"kind": "box", "label": "scratch", "geometry": [10, 12, 50, 40]},
            {"kind": "mask", "label": "spot", "geometry": array_to_mask(spot).to_json()}]},
        {"image": "b.png", "split": "test", "pixels": same},
        {"image": "c.png", "split": "train", "seed": 3, "annotations": [
            {"kind": "box", "label": "scratch", "geometry": [0, 30, 12, 60]}]},
        {"image": SCRIPT_NAME, "split": "val", "seed": 4, "annotations": [
            {"kind": "box", "label": "a$b<i>", "geometry": [5, 5, 20, 20]}]},
        *({"image": f"g{i}.png", "split": "train", "seed": 10 + i} for i in range(5)),
    ], labelbook=LABELBOOK)


def _by_path(ds: Dataset) -> dict[str, tuple]:  # type: ignore[type-arg]
    return {s.path: (s, anns) for s, anns in ds.samples_with_annotations()}


def _with_drawn_findings(ds: Dataset, report: AuditReport) -> AuditReport:
    """Add findings that use the drawing conventions: an edge margin, a marking box, a group, an import problem."""
    by_path = _by_path(ds)
    c, c_anns = by_path["c.png"]
    a, _ = by_path["a.png"]
    group = [by_path[f"g{i}.png"][0] for i in range(5)] + [a, by_path[SCRIPT_NAME][0]]
    report.results += [
        CheckResult("position.edge", "Regions at the image border", findings=[Finding(
            "position.edge", "warning", "scratch touches the left border", samples=[c.id], paths=[c.path],
            annotations=[c_anns[0].uid or ""], label="scratch", evidence={"margin": 8, "distance": 0.0})]),
        CheckResult("image.markings", "Drawn markings", findings=[Finding(
            "image.markings", "warning", "a drawn circle", samples=[a.id], paths=[a.path],
            evidence={"box": [60, 20, 100, 70], "markings": [
                {"box": [60, 20, 100, 70], "kind": "circle", "colour": "red", "score": 0.9}]})]),
        CheckResult("image.retouched", "Retouched", findings=[Finding(
            "image.retouched", "warning", "a cloned patch", samples=[c.id], paths=[c.path],
            evidence={"box": [80, 10, 100, 30], "edits": [
                {"kind": "clone", "box": [80, 10, 100, 30], "source_box": [20, 50, 40, 70], "score": 1.0}]})]),
        CheckResult("labels.capture_conflict", "Conflicting captures", findings=[Finding(
            "labels.capture_conflict", "warning", "two views, two classes", samples=[a.id, c.id],
            paths=[a.path, c.path], evidence={"boxes_by_path": {c.path: [[1, 2, 3, 4]]}, "classes": ["x", "y"]})]),
        CheckResult("diversity.repeated_object", "One object many times", findings=[Finding(
            "diversity.repeated_object", "info", "one object captured 7 times", samples=[s.id for s in group],
            paths=[s.path for s in group])]),
        CheckResult("integrity.missing_file", "Missing files", findings=[Finding(
            "integrity.missing_file", "error", "the annotation names a missing image", paths=["gone/<b>x</b>.png"])]),
        CheckResult("balance.class_counts", "Class counts", status="skipped", reason="no classes <here>"),
    ]
    return report


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Dataset, str]]:
    tmp_path = tmp_path_factory.mktemp("rendered")
    ds = _planted(tmp_path)
    describe_dataset(ds, workers=1)  # stored thumbnails (group tiles) and image statistics (histograms)
    report = run_audit(ds, only=["split.exact_leak", "labels.unknown_class"])
    _with_drawn_findings(ds, report)
    out = tmp_path / "report" / "audit.html"
    size = write_html(ds, report, out)
    text = out.read_text(encoding="utf-8")
    assert size == len(text.encode("utf-8"))
    yield ds, text
    ds.close()


def _section(tree: Tree, check: str) -> Element:
    [section] = tree.find("section", id=f"check-{check}")
    return section


def _inside(tree: Tree, ancestor: Element, tag: str) -> list[Element]:
    return [e for e in tree.elements if e.tag == tag and any(p is ancestor for p in e.parents)]


def _image_sources(tree: Tree) -> dict[str, str]:
    return {e.attrs["id"]: e.attrs["href"] for e in tree.find("image")}


def _decode_jpeg(uri: str) -> np.ndarray:
    assert uri.startswith("data:image/jpeg;base64,")
    image = cv2.imdecode(np.frombuffer(base64.b64decode(uri.split(",", 1)[1], validate=True), np.uint8),
                         cv2.IMREAD_UNCHANGED)
    assert image is not None
    return image


def test_header_sections_and_gate(rendered: tuple[Dataset, str]) -> None:
    ds, text = rendered
    tree = Tree(text)
    assert ds.config.name in text and "FAILED" in text  # the leak is an error: the default gate fails
    run_id = re.search(r"run <span class=\"mono\">([^<]+)</span>", text)
    assert run_id is not None and (ds.root / ".keepsight" / "runs" / "audit" / run_id.group(1)).is_dir()
    for check in ("split.exact_leak", "labels.unknown_class", "position.edge", "image.markings",
                  "diversity.repeated_object", "integrity.missing_file", "balance.class_counts"):
        section = _section(tree, check)
        assert tree.find("a", href=f"#check-{check}"), check  # linked from the overview table
        assert section.attrs["data-state"] in {"error", "warning", "info", "clean", "skipped"}
    assert _section(tree, "split.exact_leak").attrs["data-state"] == "error"
    assert _section(tree, "labels.unknown_class").attrs["data-state"] == "clean"
    assert _section(tree, "balance.class_counts").attrs["data-state"] == "skipped"
    assert "no classes &lt;here&gt;" in text
    assert "keep one copy, or move every copy into the same split" in text  # the suggested action
    # Counts per class and split, as a table and a chart.
    assert tree.find("img", alt="annotations per class and split")
    # Findings per check: a bar per overview row, the widest check filling it.
    def bar(check: str) -> list[tuple[str, str]]:
        [link] = tree.find("a", href=f"#check-{check}")
        row = next(p for p in reversed(link.parents) if p.tag == "tr")
        return [(e.attrs["class"], e.attrs["style"]) for e in _inside(tree, row, "span") if "style" in e.attrs]

    assert bar("split.exact_leak") == [("error", "width:100.0%")]
    [chip] = tree.find("a", href="#check-labels.unknown_class")  # a clean check: a chip under the table
    assert chip.attrs["class"] == "chip clean" and not [p for p in chip.parents if p.tag == "tr"]
    assert tree.find("img", alt="image statistics")


def test_embedded_images_decode_and_nothing_is_external(rendered: tuple[Dataset, str]) -> None:
    _, text = rendered
    tree = Tree(text)
    images = _image_sources(tree)
    assert len(images) >= 9  # leak pair, edge, group members (each picture once)
    for uri in images.values():
        assert _decode_jpeg(uri).size > 0
    uses = {e.attrs["href"].lstrip("#") for e in tree.find("use")}
    assert uses and uses <= set(images)
    for img in tree.find("img"):
        uri = img.attrs["src"]
        assert uri.startswith("data:image/svg+xml;base64,")
        ET.fromstring(base64.b64decode(uri.split(",", 1)[1], validate=True))  # a well-formed SVG chart
    for el in tree.elements:
        for name in ("src", "href", "action", "poster", "data"):
            value = el.attrs.get(name, "")
            assert not value.lower().startswith(("http:", "https:", "//", "file:")), (el.tag, name, value[:60])
    assert not tree.find("link") and all("src" not in e.attrs for e in tree.find("script"))
    assert "url(" not in text and "@import" not in text


def test_regions_are_drawn_in_their_class_colours(rendered: tuple[Dataset, str]) -> None:
    _, text = rendered
    tree = Tree(text)
    leak = _section(tree, "split.exact_leak")
    [card] = _inside(tree, leak, "article")
    assert card.attrs["class"].split() == ["card", "pair"]
    views = _inside(tree, card, "svg")
    assert len(views) == 2 and all(v.attrs["viewbox"] == "0 0 128 96" for v in views)  # original pixel grid
    first = views[0]
    [box] = [e for e in _inside(tree, first, "rect") if e.attrs.get("stroke") == "#00ff00"]
    assert (box.attrs["x"], box.attrs["y"], box.attrs["width"], box.attrs["height"]) == ("10", "12", "40", "28")
    [mask] = [e for e in _inside(tree, first, "polygon") if e.attrs.get("stroke") == "#ff00ff"]
    xs, ys = zip(*(map(float, p.split(",")) for p in mask.attrs["points"].split()), strict=True)
    assert (min(xs), max(xs), min(ys), max(ys)) == (70, 94, 40, 59)  # the outline of the planted spot
    # The picture under the overlay is the sample's own image, reduced.
    images = _image_sources(tree)
    [use] = _inside(tree, first, "use")
    picture = _decode_jpeg(images[use.attrs["href"].lstrip("#")])
    assert picture.shape[:2] == (96, 128)
    assert abs(float(picture.mean()) - float(textured(7).mean())) < 3


def test_evidence_margin_boxes_and_groups_are_drawn(rendered: tuple[Dataset, str]) -> None:
    _, text = rendered
    tree = Tree(text)
    edge = _section(tree, "position.edge")
    [view] = _inside(tree, edge, "svg")
    [band] = [e for e in _inside(tree, view, "path") if e.attrs.get("class") == "margin"]
    assert band.attrs["d"].startswith("M0,0H128V96H0Z M8,8")  # the 8 px frame the region should keep clear of
    [named] = [e for e in _inside(tree, view, "rect") if e.attrs.get("stroke") == "#00ff00"]
    assert named.attrs["class"] == "region on"  # the finding's own region, bold
    markings = _section(tree, "image.markings")
    [view] = _inside(tree, markings, "svg")
    [box] = [e for e in _inside(tree, view, "rect") if e.attrs.get("class") == "evidence"]
    assert (box.attrs["x"], box.attrs["y"], box.attrs["width"], box.attrs["height"]) == ("60", "20", "40", "50")
    assert "<title>red circle</title>" in text  # a marking is named by its colour and shape
    retouched = _section(tree, "image.retouched")
    [view] = _inside(tree, retouched, "svg")
    [source] = [e for e in _inside(tree, view, "rect") if e.attrs.get("class") == "evidence source"]
    [arrow] = [e for e in _inside(tree, view, "line") if e.attrs.get("class") == "evidence source"]
    assert (source.attrs["x"], source.attrs["y"]) == ("20", "50")
    assert (arrow.attrs["x1"], arrow.attrs["y1"], arrow.attrs["x2"], arrow.attrs["y2"]) == ("30", "60", "90", "20")
    conflict = _section(tree, "labels.capture_conflict")
    first, second = _inside(tree, conflict, "svg")
    assert not [e for e in _inside(tree, first, "rect") if e.attrs.get("class") == "evidence"]
    [own] = [e for e in _inside(tree, second, "rect") if e.attrs.get("class") == "evidence"]
    assert (own.attrs["x"], own.attrs["y"], own.attrs["width"], own.attrs["height"]) == ("1", "2", "2", "2")
    group = _section(tree, "diversity.repeated_object")
    [card] = _inside(tree, group, "article")
    assert "group" in card.attrs["class"] and len(_inside(tree, card, "svg")) == 7
    missing = _section(tree, "integrity.missing_file")
    [card] = _inside(tree, missing, "article")
    assert card.attrs["class"] == "card text" and "gone/&lt;b&gt;x&lt;/b&gt;.png" in text


def test_file_and_class_names_are_escaped(rendered: tuple[Dataset, str]) -> None:
    _, text = rendered
    assert "<script>alert" not in text and "<b>x</b>" not in text and "a$b<i>" not in text
    assert text.count("<script>") == 1  # our own few lines of JS
    assert 'title="odd/x&lt;script&gt;alert(1)&lt;/script&gt;.png"' in text  # a group member, escaped
    assert "a$b&lt;i&gt;" in text  # the class, in the class table and the legend


def test_findings_beyond_the_limit_become_rows_then_a_count(tmp_path: Path) -> None:
    with _planted(tmp_path) as ds:
        report = run_audit(ds, only=["labels.unknown_class"], save=False)
        [s] = [s for s, _ in _by_path(ds).values() if s.path == "c.png"]
        report.results[0].findings = [Finding("labels.unknown_class", "warning", f"finding number {i}", samples=[s.id],
                                              paths=[s.path]) for i in range(10)]
        tree = Tree(render_html(ds, report, max_findings=3, max_rows=4))
        section = _section(tree, "labels.unknown_class")
        assert len(_inside(tree, section, "article")) == 3
        assert len([r for r in _inside(tree, section, "tr") if r.attrs.get("data-sev")]) == 4
        text = render_html(ds, report, max_findings=3, max_rows=4)
        assert "and 3 more findings of this check" in text
        assert len(_image_sources(tree)) == 1  # the same picture, embedded once for three cards
        # A group names more captures than a mosaic shows: the first twelve are looked up, the rest counted.
        ids = [s.id for s, _ in _by_path(ds).values()]
        report.results[0].findings = [Finding("labels.unknown_class", "info", "a big group",
                                              samples=ids + [10**6 + i for i in range(6)])]
        text = render_html(ds, report)
        tree = Tree(text)
        [card] = _inside(tree, _section(tree, "labels.unknown_class"), "article")
        assert len(_inside(tree, card, "svg")) == len(ids) == 9 and "+6 more" in text


def test_an_unreadable_picture_is_named_not_fatal(tmp_path: Path) -> None:
    with _planted(tmp_path) as ds:
        report = run_audit(ds, only=["split.exact_leak"], save=False)
        a, _ = _by_path(ds)["a.png"]
        blob = next((ds.root / ".keepsight" / "blobs").rglob(a.blob))
        blob.unlink()
        text = render_html(ds, report)
        assert text.count("no picture: ") == 2 and "is missing from the store" in text  # both copies share the blob


def test_gate_never_and_clean_report(tmp_path: Path) -> None:
    with dataset_from(tmp_path, [{"image": "a.png", "split": "train"}, {"image": "b.png", "split": "test"}]) as ds:
        report = run_audit(ds, only=["split.exact_leak"], save=False)
        text = render_html(ds, report, fail_on="warning")
        assert "PASSED" in text and "FAILED" not in text and "Nothing found." in text
    with _planted(tmp_path / "leaky") as ds:
        report = run_audit(ds, only=["split.exact_leak"], save=False)
        assert "NO GATE" in render_html(ds, report, fail_on="never")
        # A check that could not run is a gap in the audit: it fails even the 'never' gate, and says so.
        report.results.append(CheckResult("image.outlier", "Outliers", status="failed", reason="no descriptors"))
        text = render_html(ds, report, fail_on="never")
        assert "FAILED" in text and "1 check failed to run" in text and "Failed: no descriptors" in text


def test_charts_are_svg_and_take_any_label() -> None:
    svg = plots.class_split_counts({"a$b": {"train": 3, "test": 1}, "<c>": {"val": 2}}, ["train", "val", "test"])
    assert svg is not None
    root = ET.fromstring(svg)
    texts = "".join(root.itertext())
    assert "a$b" in texts and "<c>" in texts
    assert plots.class_split_counts({"x": {"train": 0}}, ["train"]) is None
    hist = plots.stat_histograms({"sharpness": {"train": [10.0, 100.0, 1000.0], "val": [50.0]}, "brightness": {}})
    assert hist is not None and b"sharpness" in hist
