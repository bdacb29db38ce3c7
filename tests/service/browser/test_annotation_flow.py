"""Acceptance 1: in headless Chromium an annotator draws every kind of annotation and submits, a
reviewer accepts one image and rejects another with a comment; the catalog holds what was drawn."""

from __future__ import annotations

import math
from typing import Any

import pytest

pytest.importorskip("playwright.sync_api", reason="Playwright for Python is not installed "
                    "(pip install -c constraints.txt playwright)")

from playwright.sync_api import expect  # noqa: E402

from keepsight.model.geometry import Mask  # noqa: E402
from keepsight.runs import finish_run, start_run  # noqa: E402
from tests.service.browser.conftest import TIMEOUT_MS, Served, login  # noqa: E402
from tests.service.browser.driver import AnnotationPage  # noqa: E402

TOL = 1.0  # pixels: pointer positions are rounded to screen pixels, about half an image pixel here

BOX = ((20, 20), (80, 60))
ROTATED = ((100, 130), (150, 100))  # the first edge: tail -> head
ROTATED_HEIGHT = 20.0
POLYGON = ((30, 150), (90, 140), (100, 200), (40, 210))
POLYLINE = ((130, 180), (160, 160), (190, 200))
STROKE = ((200, 60), (260, 60))  # brush, 16 px wide
ERASE = ((230, 35), (230, 85))  # eraser across the middle of the stroke
CHAR = ((250, 160), (290, 220))
JOB_COMMENT = "two images need another look"
ITEM_COMMENT = "the box misses the end of the scratch"


def expected_rotated_box() -> list[float]:
    (x0, y0), (x1, y1) = ROTATED
    w = math.hypot(x1 - x0, y1 - y0)
    ux, uy = (x1 - x0) / w, (y1 - y0) / w
    nx, ny = -uy, ux  # local +y: +x turned clockwise on screen
    cx, cy = (x0 + x1) / 2 + nx * ROTATED_HEIGHT / 2, (y0 + y1) / 2 + ny * ROTATED_HEIGHT / 2
    return [cx, cy, w, ROTATED_HEIGHT, math.degrees(math.atan2(y1 - y0, x1 - x0)) % 360]


def height_click() -> tuple[float, float]:
    (x0, y0), (x1, y1) = ROTATED
    w = math.hypot(x1 - x0, y1 - y0)
    return x1 - (y1 - y0) / w * ROTATED_HEIGHT, y1 + (x1 - x0) / w * ROTATED_HEIGHT


def close(got: list[float], want: list[float], tol: float = TOL) -> bool:
    return len(got) == len(want) and all(abs(a - b) <= tol for a, b in zip(got, want, strict=True))


def plant_finding(served: Served, sample_id: int) -> None:
    run = start_run(served.ds, "audit", {}, fingerprint="browser")
    run.write_json("findings.json", {"findings": [
        {"check": "image.markings", "severity": "warning", "message": "a pen mark next to the part",
         "samples": [sample_id], "evidence": {"box": [285.0, 10.0, 315.0, 40.0]}}]})
    finish_run(served.ds, run, {})


def draw_every_kind(ui: AnnotationPage) -> None:
    ui.choose_class("scratch")
    ui.key("b")
    ui.drag(*BOX)
    ui.key("r")
    ui.clicks(*ROTATED, height_click())
    ui.key("p")
    ui.clicks(*POLYGON)
    ui.key("Enter")
    ui.key("l")
    ui.clicks(*POLYLINE)
    ui.key("Enter")
    ui.expect_regions(4)
    ui.choose_class("spot")
    ui.key("m")
    ui.drag(*STROKE)
    ui.key("e")
    ui.drag(*ERASE)
    ui.choose_class("ng")
    ui.key("t")
    expect(ui.page.locator("#tags [data-tag='ng']")).to_be_checked()
    ui.choose_class("char")
    ui.key("b")
    ui.drag(*CHAR)
    attribute = ui.page.locator("#attr-text")
    expect(attribute).to_be_focused()  # a required attribute asks for its value at once
    attribute.fill("A")
    attribute.press("Enter")
    ui.expect_regions(6)


def catalog_of(served: Served, sample_id: int) -> dict[str, list[Any]]:
    by_kind: dict[str, list[Any]] = {}
    for sample, annotations in served.ds.samples_with_annotations():
        if sample.id == sample_id:
            for a in annotations:
                by_kind.setdefault(a.kind, []).append(a)
    return by_kind


def test_annotate_every_kind_submit_and_review(served: Served, context: Any) -> None:
    first, second = served.sample_ids()[:2]
    plant_finding(served, first)
    job = served.make_job([first, second])
    job_id = job["id"]

    page = context.new_page()
    login(page, served.url, "ann1")
    expect(page.locator(f"tr[data-job='{job_id}']")).to_contain_text("new")
    page.click(f"[data-action='annotate'][data-job='{job_id}']")
    ui = AnnotationPage(page)
    ui.wait_loaded()
    expect(page.locator("#findings [data-check='image.markings']")).to_contain_text("a pen mark")

    draw_every_kind(ui)
    ui.save_now()
    # Reload: what the page shows now comes back from the server (the mask through its RLE).
    page.reload()
    ui.wait_loaded()
    ui.expect_regions(6)
    expect(page.locator("#tags [data-tag='ng']")).to_be_checked()
    shown_mask_area = int(next(r["area"] for r in ui.regions() if r["kind"] == "mask"))

    # The second image: a box, an undone box, then the box that stays.
    ui.key("ArrowRight")
    expect(page.locator("#position")).to_have_text("2 / 2")
    ui.wait_loaded()
    ui.choose_class("scratch")
    ui.key("b")
    ui.drag((10, 10), (40, 40))
    ui.expect_regions(1)
    ui.key("Control+z")
    ui.expect_regions(0)
    ui.drag((50, 50), (120, 90))
    ui.drag((150, 150), (200, 200))
    ui.expect_regions(2)
    page.click("#regions li >> nth=1")
    ui.key("Delete")
    ui.expect_regions(1)
    ui.save_now()

    page.click("#submit")
    page.click("#submit-confirm")
    page.wait_for_url("**/ui/jobs")
    expect(page.locator(f"tr[data-job='{job_id}']")).to_have_attribute("data-state", "submitted")

    # The reviewer accepts the first image and rejects the second with a comment, then rejects the job.
    reviewer = context.browser.new_context(viewport={"width": 1400, "height": 900})
    reviewer.set_default_timeout(TIMEOUT_MS)
    review = reviewer.new_page()
    login(review, served.url, "reviewer")
    review.click(f"[data-action='review'][data-job='{job_id}']")
    expect(review.locator("#regions li")).to_have_count(6)
    expect(review.locator("#tags [data-tag='ng']")).to_be_visible()
    review.click("#accept-item")
    expect(review.locator("#strip button").nth(0)).to_have_attribute("data-review", "accepted")
    expect(review.locator("#item-position")).to_contain_text("image 2 of 2")
    review.click("#reject-item")  # without a comment: refused on the page
    expect(review.locator("#item-error")).to_contain_text("needs a comment")
    review.fill("#comment", ITEM_COMMENT)
    review.click("#reject-item")
    expect(review.locator("#strip button").nth(1)).to_have_attribute("data-review", "rejected")
    expect(review.locator("#accept-job")).to_be_disabled()  # a job with a rejected image can only be rejected
    review.fill("#job-comment", JOB_COMMENT)
    review.click("#reject-job")
    expect(review.locator("#job-state")).to_have_text("rejected")
    reviewer.close()

    # The catalog holds the accepted image's annotations, of the right kinds, where they were drawn.
    stored = catalog_of(served, first)
    assert sorted((k, len(v)) for k, v in stored.items()) == [
        ("box", 2), ("mask", 1), ("polygon", 1), ("polyline", 1), ("rotated_box", 1), ("tag", 1)]
    boxes = {a.label: a for a in stored["box"]}
    assert close(boxes["scratch"].geometry.to_json(), [*BOX[0], *BOX[1]])
    assert boxes["char"].attributes == {"text": "A"} and close(boxes["char"].geometry.to_json(), [*CHAR[0], *CHAR[1]])
    rotated = stored["rotated_box"][0].geometry.to_json()
    want = expected_rotated_box()
    assert close(rotated[:4], want[:4]), (rotated, want)
    assert abs((rotated[4] - want[4] + 180) % 360 - 180) < 1.5  # the head points from the first click to the second
    assert close(stored["polygon"][0].geometry.to_json(), [c for p in POLYGON for c in p])
    assert close(stored["polyline"][0].geometry.to_json(), [c for p in POLYLINE for c in p])
    assert [a.label for a in stored["tag"]] == ["ng"]
    mask = stored["mask"][0]
    assert mask.label == "spot" and isinstance(mask.geometry, Mask)
    pixels = mask.geometry.decode()
    assert pixels.shape == (240, 320)
    assert pixels[60, 205] and pixels[60, 255]  # painted
    assert not pixels[60, 230] and not pixels[50:70, 224:237].any()  # erased
    assert not pixels[100:, :].any() and not pixels[:, :185].any()  # nothing painted elsewhere
    stroke_area = 60 * 16 + math.pi * 8**2 - 16 * 16  # the capsule minus the erased band
    assert abs(int(pixels.sum()) - stroke_area) < 0.15 * stroke_area
    assert shown_mask_area == int(pixels.sum())  # the page decoded the stored RLE to the same pixels
    assert catalog_of(served, second) == {}  # rejected: nothing committed

    with served.client("manager") as manager:
        detail = manager.request("GET", f"/jobs/{job_id}")
    assert detail["state"] == "rejected" and detail["comment"] == JOB_COMMENT
    reviews = {i["sample_id"]: (i["review"], i["review_comment"]) for i in detail["items"]}
    assert reviews == {first: ("accepted", None), second: ("rejected", ITEM_COMMENT)}

    # Back to the annotator: the rejected image opens first, with the reviewer's comment.
    page.goto(f"{served.url}/ui/jobs/{job_id}/annotate")
    ui.wait_loaded()
    expect(page.locator("#position")).to_have_text("2 / 2")
    expect(page.locator("#review-comment")).to_contain_text(ITEM_COMMENT)


def test_a_conflicting_save_offers_reload_or_overwrite(served: Served, context: Any) -> None:
    sample = served.sample_ids()[2]
    job = served.make_job([sample])
    url = f"/jobs/{job['id']}/items/{job['items'][0]['id']}/annotations"
    theirs = {"label": "scratch", "kind": "box", "geometry": [5.0, 5.0, 30.0, 30.0]}

    page = context.new_page()
    login(page, served.url, "ann1")
    ui = AnnotationPage(page).open(served.url, job["id"])
    with served.client("ann1") as other_tab:
        other_tab.request("PUT", url, json={"base_revision": 0, "annotations": [theirs]})
        ui.choose_class("scratch")
        ui.key("b")
        ui.drag((100, 100), (150, 150))
        dialog = page.locator("#conflict-dialog")
        expect(dialog).to_be_visible()
        expect(dialog).to_contain_text("Their version has 1 annotation")
        page.click("#conflict-reload")
        ui.wait_loaded()
        ui.expect_regions(1)  # theirs, ours dropped
        expect(page.locator("#save-status")).to_have_text("Saved · revision 1")

        ui.drag((100, 100), (150, 150))
        ui.save_now()
        expect(page.locator("#save-status")).to_have_text("Saved · revision 2")
        other_tab.request("PUT", url, json={"base_revision": 2, "annotations": [theirs]})
        # Zoom in and pan: what is drawn still lands on the image pixels under the pointer.
        scale = float(page.get_attribute("#stage", "data-scale") or 0)
        ui.key("+")
        ui.key("+")
        assert float(page.get_attribute("#stage", "data-scale") or 0) > 1.5 * scale
        ui.key("v")
        offset = float(page.get_attribute("#stage", "data-x") or 0)
        ui.drag((120, 60), (110, 55))
        assert float(page.get_attribute("#stage", "data-x") or 0) < offset
        ui.key("b")
        ui.drag((200, 150), (240, 200))
        expect(dialog).to_be_visible()
        page.click("#conflict-overwrite")
        ui.wait_loaded()
        expect(page.locator("#save-status")).to_have_text("Saved · revision 4")
        final = other_tab.request("GET", url)
    assert final["revision"] == 4
    saved = sorted(a["geometry"] for a in final["annotations"])
    wanted = [[5.0, 5.0, 30.0, 30.0], [100.0, 100.0, 150.0, 150.0], [200.0, 150.0, 240.0, 200.0]]
    assert len(saved) == 3 and all(close(a, b) for a, b in zip(saved, wanted, strict=True)), saved


def test_login_jobs_and_the_label_book_page(served: Served, context: Any) -> None:
    page = context.new_page()
    page.goto(f"{served.url}/ui/jobs")
    page.wait_for_url("**/ui/login?next=*")  # not signed in: the page sends you to the login
    page.fill("#name", "ann1")
    page.fill("#password", "wrong password")
    page.click("#sign-in")
    expect(page.locator("#login-error")).to_have_text("Wrong user name or password.")

    with served.client("manager") as manager:
        manager.request("POST", "/labelbook/classes/scratch/examples",
                        json={"sample_id": served.sample_ids()[3], "note": "a long straight scratch"})
        manager.request("POST", "/labelbook/classes/scratch/examples",
                        json={"sample_id": served.sample_ids()[2], "counter": True, "note": "a pen mark"})
    login(page, served.url, "ann1")
    expect(page.locator("h1")).to_have_text("My jobs")
    page.click("nav >> text=Label book")
    page.click("[data-class='scratch']")
    page.wait_for_url("**/ui/labelbook/scratch")
    expect(page.locator("#class-description")).to_contain_text("a thin line cut into the surface")
    expect(page.locator("#class-tools [data-tool='rotated_box']")).to_be_visible()
    expect(page.locator("#class-orientation")).to_contain_text("Orientation: directed")
    expect(page.locator("#class-orientation")).to_contain_text("corner 0 to corner 1")
    expect(page.locator("#examples figure")).to_have_count(1)
    expect(page.locator("#counter-examples figure")).to_contain_text("a pen mark")
    loaded = page.eval_on_selector("#examples img", "img => img.decode().then(() => img.naturalWidth)")
    assert loaded == 320  # the example image is served to an annotator
    expect(page.locator("#class-editor")).to_have_count(0)  # only managers edit the label book
