"""Screenshots of the service's browser pages for docs/service_ui.md (docs/img/service-*.png).

    python scripts/service_screenshots.py [--out docs/img]

Builds a small dataset of synthetic inspection images (brushed metal with a scratch, a spot, a
dent, a crack, printed characters, a pen mark) in a temporary folder, serves it on loopback, sets
up jobs through the REST API, and photographs the pages in headless Chromium from the distribution
(/usr/bin/chromium) driven by Playwright, launched and signed in as the browser tests do
(keepsight.service.headless).
"""

from __future__ import annotations

import argparse
import math
import tempfile
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from keepsight import Dataset, import_path
from keepsight.model.convert import array_to_mask
from keepsight.model.labelbook import AttributeSpec, ClassSpec, LabelBook
from keepsight.runs import finish_run, start_run
from keepsight.service import ServiceConfig, create_app
from keepsight.service.client import RemoteClient
from keepsight.service.headless import launch_chromium, sign_in
from keepsight.service.security import Passwords
from keepsight.service.server import BackgroundServer
from keepsight.service.store import accounts

VIEWPORT = {"width": 1440, "height": 900}
PASSWORD = "screenshots only"
USERS = {"mia": "manager", "rafa": "reviewer", "ana": "annotator", "tom": "annotator"}
W, H = 640, 480
SETTINGS = ServiceConfig(password_time_cost=1, password_memory_kib=1024, job_size=3)


def label_book() -> LabelBook:
    return LabelBook(classes={
        "scratch": ClassSpec(name="scratch", kinds=["rotated_box", "box", "polyline"], orientation="directed",
                             colour="#e6194b", is_defect=True,
                             description="A thin line cut into the surface by a tool or a part sliding over it. "
                                         "Draw a rotated box along it; its head points the way the tool moved "
                                         "(the deep, sharp end)."),
        "spot": ClassSpec(name="spot", kinds=["mask", "polygon"], orientation="none", colour="#f58231", is_defect=True,
                          description="A stain or pit without a direction: paint it with the brush."),
        "dent": ClassSpec(name="dent", kinds=["polygon"], orientation="none", colour="#4363d8", is_defect=True,
                          description="A dent in the sheet: outline it as a polygon along the shadow's edge."),
        "crack": ClassSpec(name="crack", kinds=["polyline"], orientation="axial", colour="#911eb4", is_defect=True,
                           description="A crack: follow it with a polyline from end to end."),
        "char": ClassSpec(name="char", kinds=["box"], orientation="none", colour="#3cb44b", is_defect=False,
                          description="One printed character of the part number (OCR).",
                          attributes={"text": AttributeSpec(type="text", required=True)}),
        "ok": ClassSpec(name="ok", kinds=["tag"], colour="#008080", is_defect=False,
                        description="The part has no defect."),
        "ng": ClassSpec(name="ng", kinds=["tag"], colour="#800000", is_defect=True,
                        description="The part has at least one defect."),
    })


def metal(rng: np.random.Generator) -> np.ndarray:
    """Brushed metal: streaks along x, a soft light gradient, fine grain."""
    streaks = rng.normal(0, 1, (H, W)).astype(np.float32)
    streaks = cv2.GaussianBlur(streaks, (0, 0), sigmaX=25, sigmaY=0.6)
    streaks = streaks / (streaks.std() + 1e-6) * 9
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
    light = 150 + 30 * np.exp(-(((xx - W * 0.35) / (W * 0.6)) ** 2 + ((yy - H * 0.3) / (H * 0.7)) ** 2))
    grain = rng.normal(0, 3, (H, W)).astype(np.float32)
    grey = np.clip(light + streaks + grain, 0, 255)
    return cv2.cvtColor(grey.astype(np.uint8), cv2.COLOR_GRAY2BGR)


def scratch(img: np.ndarray, start: tuple[int, int], end: tuple[int, int]) -> None:
    cv2.line(img, start, end, (70, 70, 72), 3, cv2.LINE_AA)
    cv2.line(img, (start[0], start[1] - 2), (end[0], end[1] - 2), (215, 215, 218), 1, cv2.LINE_AA)


def spot_mask(centre: tuple[int, int], radius: int) -> np.ndarray:
    mask = np.zeros((H, W), np.uint8)
    cv2.ellipse(mask, centre, (radius, int(radius * 0.75)), 20, 0, 360, 1, -1)
    return mask.astype(bool)


def draw_spot(img: np.ndarray, mask: np.ndarray) -> None:
    soft = cv2.GaussianBlur(mask.astype(np.float32), (0, 0), 3)
    img[:] = (img * (1 - 0.55 * soft[..., None]) + np.array([40, 60, 95]) * 0.55 * soft[..., None]).astype(np.uint8)


DENT = [(420, 300), (500, 285), (545, 330), (520, 395), (440, 400), (405, 355)]
CRACK = [(60, 360), (110, 340), (150, 370), (205, 350), (250, 385)]
CHARS = "A7X4"
CHAR_BOXES = [(330 + 42 * i, 40, 330 + 42 * i + 36, 96) for i in range(len(CHARS))]


def draw_dent(img: np.ndarray) -> None:
    overlay = img.copy()
    cv2.fillPoly(overlay, [np.array(DENT, np.int32)], (105, 105, 110))
    shade = cv2.GaussianBlur((overlay != img).any(axis=2).astype(np.float32), (0, 0), 6)[..., None]
    img[:] = (img * (1 - 0.5 * shade) + overlay * 0.5 * shade).astype(np.uint8)


def draw_chars(img: np.ndarray) -> None:
    cv2.rectangle(img, (315, 30), (505, 106), (228, 230, 232), -1)
    for ch, (x1, _y1, _x2, y2) in zip(CHARS, CHAR_BOXES, strict=True):
        cv2.putText(img, ch, (x1 + 3, y2 - 6), cv2.FONT_HERSHEY_DUPLEX, 1.8, (35, 35, 40), 3, cv2.LINE_AA)


def write_images(folder: Path) -> dict[str, Any]:
    """Five parts; returns what was drawn on the first one (the annotations the screenshot shows)."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(7)
    drawn: dict[str, Any] = {}
    for i in range(5):
        img = metal(rng)
        draw_chars(img)
        if i in (0, 2):
            scratch(img, (120, 230), (330, 150))
        if i in (0, 3):
            drawn["spot"] = spot_mask((220, 110), 34)
            draw_spot(img, drawn["spot"])
        if i == 0:
            cv2.ellipse(img, (552, 136), (40, 19), -8, 20, 340, (150, 70, 20), 3, cv2.LINE_AA)  # a pen circle
            draw_dent(img)
            for a, b in zip(CRACK, CRACK[1:], strict=False):
                cv2.line(img, a, b, (45, 45, 50), 2, cv2.LINE_AA)
        if i == 4:  # a pen mark: a counter-example, never annotated as a defect
            pts = np.array([(150 + 4 * t, 200 + 25 * math.sin(t / 6)) for t in range(60)], np.int32)
            cv2.polylines(img, [pts], False, (170, 60, 30), 4, cv2.LINE_AA)
        cv2.imwrite(str(folder / f"part_{i:03d}.png"), img)
    return drawn


def rotated_along(start: tuple[float, float], end: tuple[float, float], height: float) -> list[float]:
    (x0, y0), (x1, y1) = start, end
    return [(x0 + x1) / 2, (y0 + y1) / 2, math.hypot(x1 - x0, y1 - y0) + 12, height,
            math.degrees(math.atan2(y1 - y0, x1 - x0)) % 360]


def first_image_annotations(drawn: dict[str, Any]) -> list[dict[str, Any]]:
    spot = array_to_mask(drawn["spot"])
    out: list[dict[str, Any]] = [
        {"label": "scratch", "kind": "rotated_box", "geometry": rotated_along((120, 230), (330, 150), 18)},
        {"label": "spot", "kind": "mask", "geometry": spot.to_json()},
        {"label": "dent", "kind": "polygon", "geometry": [c for p in DENT for c in p]},
        {"label": "crack", "kind": "polyline", "geometry": [c for p in CRACK for c in p]},
        {"label": "ng", "kind": "tag", "geometry": None},
    ]
    out += [{"label": "char", "kind": "box", "geometry": list(map(float, b)), "attributes": {"text": ch}}
            for ch, b in zip(CHARS, CHAR_BOXES, strict=True)]
    return out


def build(root: Path) -> tuple[Dataset, dict[str, Any]]:
    ds = Dataset.init(root / "plates")
    drawn = write_images(root / "images")
    import_path(ds, root / "images", format="image_folder")
    ds.set_labelbook(label_book())
    hashed = Passwords(SETTINGS).hash(PASSWORD)
    with ds.transaction() as conn:
        for name, role in USERS.items():
            accounts.create_user(conn, name=name, password_hash=hashed, role=role,  # type: ignore[arg-type]
                                 dataset=ds.config.name)
    return ds, drawn


def set_up_work(url: str, ds: Dataset, drawn: dict[str, Any]) -> dict[str, int]:
    by_path = {s.path: s.id for s in ds.samples()}
    ids = [by_path[f"part_{i:03d}.png"] for i in range(len(by_path))]
    run = start_run(ds, "audit", {}, fingerprint="screenshots")
    run.write_json("findings.json", {"findings": [
        {"check": "labels.ng_without_regions", "severity": "warning", "samples": [ids[2]],
         "message": "tagged ng but no defect region is drawn", "evidence": {}},
        {"check": "image.markings", "severity": "error", "samples": [ids[0]],
         "message": "a drawn marking near the part number", "evidence": {"box": [508.0, 112.0, 600.0, 160.0]}}]})
    finish_run(ds, run, {})
    users = {name: RemoteClient(url) for name in USERS}
    for name, client in users.items():
        client.login(name, PASSWORD)
    mia, ana, rafa = users["mia"], users["ana"], users["rafa"]

    def job_of(task: dict[str, Any], annotator: str) -> dict[str, Any]:
        job = mia.request("GET", "/jobs", params={"task_id": task["id"]})[0]
        return dict(mia.request("PUT", f"/jobs/{job['id']}/assignee", json={"user": annotator}))

    batch = mia.request("POST", "/tasks", json={"name": "line 3, week 48", "job_size": 3,
                                               "deadline": "2026-12-04T17:00:00Z",
                                               "query": {"kind": "samples", "ids": ids[:3]}})
    work = job_of(batch, "ana")
    item, second, third = sorted(work["items"], key=lambda i: i["path"])
    ana.request("PUT", f"/jobs/{work['id']}/items/{item['id']}/annotations",
                json={"base_revision": 0, "annotations": first_image_annotations(drawn)})
    ana.request("PUT", f"/jobs/{work['id']}/items/{second['id']}/annotations",
                json={"base_revision": 0, "annotations": [{"label": "ok", "kind": "tag", "geometry": None}]})
    ana.request("PUT", f"/jobs/{work['id']}/items/{third['id']}/annotations", json={"base_revision": 0, "annotations": [
        {"label": "scratch", "kind": "rotated_box", "geometry": rotated_along((120, 230), (330, 150), 16)},
        {"label": "ng", "kind": "tag", "geometry": None}]})

    review = mia.request("POST", "/tasks", json={"name": "audit findings: markings", "job_size": 2,
                                                "query": {"kind": "samples", "ids": ids[3:5]}})
    rejected = job_of(review, "ana")
    ana.request("POST", f"/jobs/{rejected['id']}/submit")
    rafa.request("POST", f"/jobs/{rejected['id']}/items/{min(rejected['items'], key=lambda i: i['path'])['id']}/review",
                 json={"verdict": "reject", "comment": "the spot is missing"})
    rafa.request("POST", f"/jobs/{rejected['id']}/review",
                 json={"decision": "reject", "comment": "paint the spot on the first image"})
    fresh = mia.request("POST", "/tasks", json={"name": "new since v3", "job_size": 5,
                                               "query": {"kind": "samples", "ids": ids}})
    job_of(fresh, "ana")

    examples = "/labelbook/classes/scratch/examples"
    mia.request("POST", examples, json={"sample_id": ids[0], "note": "a long scratch; head at the sharp end"})
    mia.request("POST", examples, json={"sample_id": ids[2], "note": "the same scratch on another part"})
    mia.request("POST", examples,
                json={"sample_id": ids[4], "counter": True, "note": "a pen mark: never a scratch, never annotated"})
    for client in users.values():
        client.close()
    return {"work": work["id"], "first_item": item["id"], "second_item": second["id"]}


def login(page: Any, url: str, user: str) -> None:
    sign_in(page, url, user, PASSWORD)


def report_errors(page: Any, errors: list[str]) -> Any:
    """Collect the page's script errors and console errors: a screenshot of a broken page is no use."""
    page.on("pageerror", lambda exc: errors.append(f"{page.url}: {exc}"))
    page.on("console", lambda msg: msg.type == "error" and errors.append(f"{page.url}: {msg.text}"))
    return page


def shoot(url: str, ids: dict[str, int], out: Path) -> list[Path]:
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=60_000)
    shots: list[Path] = []
    errors: list[str] = []
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        annotator = browser.new_context(viewport=VIEWPORT, device_scale_factor=1)
        page = report_errors(annotator.new_page(), errors)
        page.set_viewport_size({"width": 960, "height": 600})
        page.goto(f"{url}/ui/login")
        page.fill("#name", "ana")
        shots.append(out / "service-login.png")
        page.screenshot(path=shots[-1])
        page.set_viewport_size(VIEWPORT)
        login(page, url, "ana")
        expect(page.locator("#jobs tbody tr")).to_have_count(3)
        shots.append(out / "service-jobs.png")
        page.screenshot(path=shots[-1])

        page.goto(f"{url}/ui/jobs/{ids['work']}/annotate?item={ids['first_item']}")
        expect(page.locator("#save-status")).to_have_attribute("data-state", "saved")
        page.click("#regions li[data-label='char'] >> nth=1")
        page.mouse.move(700, 500)
        shots.append(out / "service-annotate.png")
        page.screenshot(path=shots[-1])
        page.click("#submit")
        page.click("#submit-confirm")
        page.wait_for_url("**/ui/jobs")

        page.goto(f"{url}/ui/labelbook/scratch")
        expect(page.locator("#examples img")).to_have_count(2)
        page.wait_for_function("() => [...document.images].every(i => i.complete && i.naturalWidth > 0)")
        shots.append(out / "service-labelbook.png")
        page.screenshot(path=shots[-1], full_page=True)
        annotator.close()

        reviewer = browser.new_context(viewport=VIEWPORT, device_scale_factor=1)
        page = report_errors(reviewer.new_page(), errors)
        login(page, url, "rafa")
        page.goto(f"{url}/ui/jobs/{ids['work']}/review")
        expect(page.locator("#strip button")).to_have_count(3)
        page.click(f"#strip [data-item='{ids['second_item']}']")
        page.click("#accept-item")
        expect(page.locator(f"#strip [data-item='{ids['second_item']}']")).to_have_attribute("data-review", "accepted")
        page.click(f"#strip [data-item='{ids['first_item']}']")
        expect(page.locator("#regions li")).to_have_count(8)
        page.fill("#comment", "The crack goes on to the right edge: extend the polyline.")
        shots.append(out / "service-review.png")
        page.screenshot(path=shots[-1])
        reviewer.close()
        browser.close()
    if errors:
        raise SystemExit("the pages reported errors:\n" + "\n".join(errors))
    return shots


def shrink(path: Path) -> None:
    """256-colour PNG: the docs stay small, and the pages have few colours anyway."""
    from PIL import Image

    with Image.open(path) as image:
        small = image.convert("RGB").quantize(colors=256, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE)
    small.save(path, optimize=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parents[1] / "docs" / "img")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        ds, drawn = build(Path(tmp))
        with BackgroundServer(create_app(ds, settings=SETTINGS)) as url:
            ids = set_up_work(url, ds, drawn)
            for path in shoot(url, ids, args.out):
                shrink(path)
                print(path, f"{path.stat().st_size // 1024} KiB")
        ds.close()


if __name__ == "__main__":
    main()
