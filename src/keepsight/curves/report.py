"""A learning curve as a self-contained HTML page, and the latest curve of a dataset for other reports.

The page embeds the plot as an SVG data URI and holds no external URL, so it can be mailed or
archived as one file. The audit's HTML report shows the latest finished curve run through
:func:`latest_curve` (the saved ``result.json`` and ``curve.png`` of that run).
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from keepsight import __version__
from keepsight.curves.runner import KIND, CurveResult
from keepsight.dataset import Dataset
from keepsight.errors import DatasetError
from keepsight.runs import list_runs
from keepsight.storage.blobs import atomic_write_bytes


@dataclass(frozen=True)
class SavedCurve:
    """A finished curve run as other reports show it."""

    run_id: str
    result: CurveResult
    png: bytes


def latest_curve(ds: Dataset) -> SavedCurve | None:
    """The newest finished curve run of the dataset with its result and plot, or None."""
    for run in list_runs(ds, KIND):
        if run.status != "done":
            continue
        try:
            body = run.read_json("result.json")
            png = (run.folder / "curve.png").read_bytes()
        except (DatasetError, FileNotFoundError, json.JSONDecodeError):
            continue  # a run folder that lost its files: look further back rather than fail the report
        return SavedCurve(run.id, CurveResult.from_dict(body), png)
    return None


CURVE_CSS = """
.ks-curve { background:#fff; border:1px solid #e3e6ec; border-radius:10px; padding:16px; }
.ks-curve table { border-collapse:collapse; margin:10px 0; }
.ks-curve th, .ks-curve td { text-align:left; padding:4px 8px; border-bottom:1px solid #e3e6ec; vertical-align:top; }
.ks-curve th { font-size:12px; color:#667085; font-weight:600; }
.ks-curve .n { text-align:right; font-variant-numeric:tabular-nums; }
.ks-verdict { padding:10px 14px; border-radius:8px; margin:0 0 8px; background:#eef2f8; }
.ks-verdict.ks-improving { background:#e7f5ec; } .ks-verdict.ks-saturated { background:#fdf3e1; }
.ks-plot { max-width:100%; height:auto; display:block; margin:10px 0; }
"""


def _plot_uri(result: CurveResult, png: bytes | None = None) -> str:
    if png is not None:
        return "data:image/png;base64," + base64.b64encode(png).decode("ascii")
    from keepsight.curves.plot import render_plot

    return "data:image/svg+xml;base64," + base64.b64encode(render_plot(result, "svg")).decode("ascii")


def _environment() -> Environment:
    return Environment(loader=PackageLoader("keepsight.curves", "templates"),
                       autoescape=select_autoescape(default=True, default_for_string=True),
                       trim_blocks=True, lstrip_blocks=True)


def _context(result: CurveResult) -> dict[str, Any]:
    rec = result.recommendation
    per_class = sorted(rec.get("per_class", []),
                       key=lambda c: c["current"] if c.get("current") is not None else 2.0)
    return {"result": result, "rec": rec, "predicted": rec.get("predicted", {}), "target": rec.get("target"),
            "diagnosis": rec.get("diagnosis", []), "per_class": per_class, "summary": result.summary,
            "fit": result.fit, "pool": result.pool}


def render_curve_section(result: CurveResult, *, png: bytes | None = None) -> Markup:
    """The curve as an HTML fragment (escaped values, styles in :data:`CURVE_CSS`); ``png`` reuses a saved plot."""
    html = _environment().get_template("section.html.j2").render(plot_uri=_plot_uri(result, png), **_context(result))
    return Markup(html)  # noqa: S704 - rendered by an autoescaping template


def render_curve_html(result: CurveResult, *, title: str = "learning curve") -> str:
    return _environment().get_template("curve.html.j2").render(
        title=title, version=__version__, css=Markup(CURVE_CSS), result=result,  # noqa: S704 - our constant
        section=render_curve_section(result))


def write_curve_html(result: CurveResult, path: Path | str, *, title: str = "learning curve") -> Path:
    path = Path(path)
    atomic_write_bytes(path, render_curve_html(result, title=title).encode("utf-8"))
    return path
