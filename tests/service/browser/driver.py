"""Drive the annotation page like a person: keys, clicks and drags at image coordinates."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import Page, expect

Point = tuple[float, float]


class AnnotationPage:
    def __init__(self, page: Page) -> None:
        self.page = page

    def open(self, url: str, job_id: int) -> AnnotationPage:
        self.page.goto(f"{url}/ui/jobs/{job_id}/annotate")
        self.wait_loaded()
        return self

    def wait_loaded(self) -> None:
        expect(self.page.locator("#save-status")).to_have_attribute("data-state", "saved")

    def screen(self, x: float, y: float) -> Point:
        """Where image pixel (x, y) is on the page: the stage publishes its scale and offset."""
        view = self.page.eval_on_selector(
            "#stage", "e => ({s: +e.dataset.scale, x: +e.dataset.x, y: +e.dataset.y, r: e.getBoundingClientRect()})")
        return view["r"]["x"] + view["x"] + view["s"] * x, view["r"]["y"] + view["y"] + view["s"] * y

    def key(self, key: str) -> None:
        self.page.keyboard.press(key)

    def choose_class(self, name: str) -> None:
        self.page.click(f"#classes [data-class='{name}']")

    def click(self, x: float, y: float) -> None:
        self.page.mouse.click(*self.screen(x, y))

    def drag(self, *points: Point) -> None:
        mouse = self.page.mouse
        mouse.move(*self.screen(*points[0]))
        mouse.down()
        for point in points[1:]:
            mouse.move(*self.screen(*point), steps=6)
        mouse.up()

    def clicks(self, *points: Point) -> None:
        for point in points:
            self.click(*point)

    def regions(self) -> list[dict[str, Any]]:
        return list(self.page.eval_on_selector_all("#regions li", "els => els.map(e => ({...e.dataset}))"))

    def expect_regions(self, count: int) -> None:
        expect(self.page.locator("#regions li")).to_have_count(count)

    def save_now(self) -> None:
        self.key("Control+s")
        self.wait_loaded()
