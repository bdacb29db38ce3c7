"""The learning curve as a self-contained HTML page, and the latest saved curve for other reports."""

from __future__ import annotations

import base64
from html.parser import HTMLParser
from pathlib import Path

from typer.testing import CliRunner

from keepsight.cli.app import app
from keepsight.curves.report import latest_curve, render_curve_html
from keepsight.curves.runner import compute_curve
from keepsight.dataset import Dataset
from keepsight.runs import list_runs
from tests.curves import synth


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.images: list[str] = []
        self.urls: list[str] = []
        self.rows = 0
        self.tables: list[int] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "img":
            self.images.append(values.get("src") or "")
        for key in ("href", "src"):
            if (values.get(key) or "").startswith(("http:", "https:", "//")):
                self.urls.append(values[key] or "")
        if tag == "table":
            self.tables.append(0)
        if tag == "tr" and self.tables:
            self.tables[-1] += 1


def test_cli_writes_a_self_contained_page_with_the_verdict_plot_and_every_size(tmp_path: Path) -> None:
    src = synth.easy_classes(tmp_path / "src", train=32, test=12)
    synth.imported(tmp_path, src).close()
    page = tmp_path / "curve.html"
    result = CliRunner().invoke(app, ["-d", str(tmp_path / "ds"), "curve", "--no-groups", "--repeats", "2",
                                      "--target", "0.95", "--html", str(page)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    html = page.read_text(encoding="utf-8")
    parser = _Page()
    parser.feed(html)
    assert parser.urls == []  # nothing fetched from elsewhere
    [plot] = parser.images
    svg = base64.b64decode(plot.removeprefix("data:image/svg+xml;base64,"))
    assert plot.startswith("data:image/svg+xml;base64,") and b"<svg" in svg[:500]
    assert "saturated" in html and "already reached" in html
    with Dataset.open(tmp_path / "ds") as ds:
        saved = latest_curve(ds)
    assert saved is not None and saved.png[:4] == b"\x89PNG"
    # one row per size in the points table (plus its header)
    sizes = saved.result.sizes
    assert len(sizes) >= 2 and len(parser.tables) >= 2 and parser.tables[1] == len(sizes) + 1
    assert saved.result.run_id is not None and saved.result.run_id in html


def test_class_names_are_escaped_and_no_finished_run_means_no_curve(tmp_path: Path) -> None:
    src = synth.easy_classes(tmp_path / "src", train=24, test=8)
    for folder in (src / "train" / "dark", src / "test" / "dark"):  # a hostile class name
        folder.rename(folder.with_name("<b>dark&"))
    with synth.imported(tmp_path, src) as ds:
        assert latest_curve(ds) is None
        result = compute_curve(ds, use_groups=False, repeats=1)
        html = render_curve_html(result, title="t <i>")
        assert "<b>dark" not in html and "&lt;b&gt;dark&amp;" in html
        assert "<i>" not in html and "t &lt;i&gt;" in html
        saved = latest_curve(ds)
        assert saved is not None and saved.run_id == result.run_id
        newer = compute_curve(ds, use_groups=False, repeats=2)  # another fingerprint: a new run
        assert latest_curve(ds).run_id == newer.run_id  # type: ignore[union-attr]
        [run] = [r for r in list_runs(ds, "curve") if r.id == newer.run_id]
        (run.folder / "curve.png").unlink()  # a run that lost its files is passed over, not an error
        assert latest_curve(ds).run_id == result.run_id  # type: ignore[union-attr]


def test_the_audit_report_shows_the_latest_curve(tmp_path: Path) -> None:
    from keepsight.audit.html import render_html
    from keepsight.audit.runner import run_audit

    src = synth.easy_classes(tmp_path / "src", train=24, test=8)
    with synth.imported(tmp_path, src) as ds:
        report = run_audit(ds, only=["balance.class_counts"], save=False)
        assert 'id="curve"' not in render_html(ds, report)  # no curve run yet: no section
        result = compute_curve(ds, use_groups=False, repeats=1)
        html = render_html(ds, report)
    assert 'id="curve"' in html and result.run_id in html
    assert f"{result.recommendation['current_score']:.3f}" in html
    assert "data:image/png;base64," in html.split('id="curve"', 1)[1]
