"""What the browser pages need from the server: the pages themselves, their static files, and the
conversion of a painted mask (PNG) to the pycocotools RLE keepsight stores."""

from __future__ import annotations

import re

import cv2
import numpy as np
import pytest

from keepsight.model.convert import array_to_mask
from keepsight.service.routes import masks
from keepsight.service.routes.pages import STATIC_DIR
from tests.service.conftest import World, job_detail, jobs_of, make_task, save

PAGES = ["/", "/ui/login", "/ui/jobs", "/ui/jobs/1/annotate", "/ui/jobs/1/review", "/ui/labelbook",
         "/ui/labelbook/scratch"]


def _png(pixels: np.ndarray) -> bytes:
    ok, data = cv2.imencode(".png", pixels)
    assert ok
    return data.tobytes()


def _job_item(world: World) -> tuple[dict, dict]:
    task = make_task(world, query={"kind": "samples", "ids": world.sample_ids()[:1]}, assign="load")
    job = jobs_of(world, "manager", task_id=task["id"])[0]
    return job, job_detail(world, "manager", job["id"])["items"][0]


@pytest.mark.parametrize("path", PAGES)
def test_every_page_is_served_with_a_strict_content_security_policy(sqlite_world: World, path: str) -> None:
    response = sqlite_world.client.get(path)  # no account: the page holds no data
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    policy = response.headers["content-security-policy"]
    assert "default-src 'self'" in policy and "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
    # Everything a page loads is on this server, in the package's static folder.
    for ref in re.findall(r'(?:src|href)="(/static/[^"]+)"', response.text):
        assert (STATIC_DIR / ref.removeprefix("/static/")).is_file(), ref
        assert sqlite_world.client.get(ref).status_code == 200, ref
    assert "http://" not in response.text and "https://" not in response.text


def test_the_static_modules_import_only_files_that_exist() -> None:
    for script in STATIC_DIR.rglob("*.js"):
        if "vendor" in script.parts:
            continue
        for target in re.findall(r'from "(\.{1,2}/[^"]+)"', script.read_text()):
            assert (script.parent / target).resolve().is_file(), f"{script.name} imports {target}"
    assert (STATIC_DIR / "vendor" / "konva-LICENSE").read_text().startswith("MIT License")


def test_a_painted_mask_becomes_the_rle_the_model_stores(sqlite_world: World) -> None:
    world = sqlite_world
    job, item = _job_item(world)
    url = f"/jobs/{job['id']}/items/{item['id']}/masks"
    h, w = item["height"], item["width"]
    alpha = np.zeros((h, w), np.uint8)
    alpha[10:20, 30:45] = 255
    alpha[30, 5] = 200  # soft stroke edges: alpha >= 128 is in the mask, below is not
    alpha[31, 5] = 100
    rgba = np.dstack([np.full((h, w, 3), (40, 90, 200), np.uint8), alpha])
    answer = world.call(job["assignee"], "POST", url, content=_png(rgba), headers={"Content-Type": "image/png"})
    assert answer.status_code == 200, answer.text
    expected = array_to_mask(alpha >= 128)
    assert answer.json() == {"size": [h, w], "counts": expected.counts, "area": 10 * 15 + 1}
    # The answer is the geometry of a mask annotation, ready to save.
    saved = save(world, job["assignee"], job["id"], item["id"],
                 [{"label": "spot", "kind": "mask", "geometry": {"size": [h, w], "counts": answer.json()["counts"]}}])
    assert saved.status_code == 200, saved.text
    # A PNG without alpha: its grey level decides.
    grey = np.where(alpha >= 128, 255, 0).astype(np.uint8)
    plain = world.call(job["assignee"], "POST", url, content=_png(grey), headers={"Content-Type": "image/png"})
    assert plain.json()["counts"] == expected.counts


def test_a_bad_mask_is_refused_with_the_reason(sqlite_world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    world = sqlite_world
    job, item = _job_item(world)
    url = f"/jobs/{job['id']}/items/{item['id']}/masks"
    user = job["assignee"]
    png = {"Content-Type": "image/png"}
    wrong_size = world.call(user, "POST", url, content=_png(np.zeros((5, 5), np.uint8)), headers=png)
    assert wrong_size.status_code == 422
    assert f"the mask is 5x5 but the image is {item['width']}x{item['height']}" in wrong_size.json()["detail"]
    garbage = world.call(user, "POST", url, content=b"not a png", headers=png)
    assert garbage.status_code == 422 and "not a readable PNG" in garbage.json()["detail"]
    json_body = world.call(user, "POST", url, json={"png": "..."})
    assert json_body.status_code == 415
    monkeypatch.setattr(masks, "MAX_MASK_PNG_BYTES", 100)
    big = world.call(user, "POST", url, content=b"\0" * 101, headers=png)
    assert big.status_code == 413
    # Someone else's job: refused before the body is read.
    other = next(u for u in ("ann1", "ann2", "ann3") if u != user)
    assert world.call(other, "POST", url, content=b"", headers=png).status_code == 403

