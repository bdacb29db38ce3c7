"""Learning-curve figures (matplotlib, no pyplot state): the overall curve with its fit, and per class.

``plot_curve(result)`` returns PNG bytes, ``render_plot(result, "svg")`` SVG bytes (for the HTML
reports); ``save_plot(result, path)`` writes PNG or SVG by the file's suffix.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import TYPE_CHECKING

from keepsight.errors import DatasetError
from keepsight.storage.blobs import atomic_write_bytes

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from keepsight.curves.runner import CurveResult


def _figure(result: CurveResult) -> Figure:
    from matplotlib.figure import Figure

    summary = result.summary
    per_class = any(s["per_class"] for s in summary)
    fig = Figure(figsize=(11.0 if per_class else 6.5, 4.4), dpi=110, layout="constrained")
    axes = fig.subplots(1, 2 if per_class else 1, squeeze=False)[0]
    ax = axes[0]
    xs = [p["n"] for p in result.points]
    ax.scatter(xs, [p["test"]["score"] for p in result.points], s=12, color="tab:blue", alpha=0.45, label="test (each seed)")
    ax.plot([s["n"] for s in summary], [s["test_mean"] for s in summary], "o-", color="tab:blue", label="test (mean)")
    if any(s["train_mean"] is not None for s in summary):
        train = [(s["n"], s["train_mean"]) for s in summary if s["train_mean"] is not None]
        ax.plot(*zip(*train, strict=True), "s--", color="tab:orange", label="train (mean)")
    if result.fit_curve and result.fit is not None:
        grid = [c["n"] for c in result.fit_curve]
        ax.fill_between(grid, [c["low"] for c in result.fit_curve], [c["high"] for c in result.fit_curve],
                        color="tab:green", alpha=0.18, label="fit, 90% interval")
        ax.plot(grid, [c["value"] for c in result.fit_curve], color="tab:green", label="fit a·n^-b + c")
        ax.axhline(result.fit["asymptote"], color="tab:green", linestyle=":", linewidth=1, label="asymptote")
    if result.target is not None:
        ax.axhline(result.target, color="tab:red", linestyle="--", linewidth=1, label=f"target {result.target:g}")
    ax.axvline(summary[-1]["n"], color="gray", linestyle=":", linewidth=1)
    ax.set_xscale("log")
    ax.set_xlabel("training images")
    ax.set_ylabel(result.metric)
    ax.set_title(f"{result.task} / {result.trainer}: {result.recommendation['verdict']}")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7, loc="lower right")
    if per_class:
        bx = axes[1]
        names = sorted({c for s in summary for c in s["per_class"]})
        for name in names:
            pts = [(s["n"], s["per_class"][name]) for s in summary if name in s["per_class"]]
            bx.plot(*zip(*pts, strict=True), "o-", label=name, linewidth=1.2, markersize=3)
        bx.set_xscale("log")
        bx.set_xlabel("training images")
        bx.set_ylabel("per-class " + ("recall" if result.task == "classify" else result.metric))
        bx.set_title("per class (test)")
        bx.grid(True, which="both", alpha=0.3)
        bx.legend(fontsize=7, loc="lower right")
    return fig


def render_plot(result: CurveResult, fmt: str) -> bytes:
    """The curve as ``png`` or ``svg`` bytes."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise DatasetError("plotting needs matplotlib (pip install -c constraints.txt matplotlib)") from None
    buf = io.BytesIO()
    _figure(result).savefig(buf, format=fmt)
    return buf.getvalue()


def plot_curve(result: CurveResult) -> bytes:
    """The curve as PNG bytes."""
    return render_plot(result, "png")


def save_plot(result: CurveResult, path: Path | str) -> Path:
    path = Path(path)
    fmt = path.suffix.lower().lstrip(".")
    if fmt not in ("png", "svg"):
        raise DatasetError("the plot file must end in .png or .svg", path=path)
    atomic_write_bytes(path, render_plot(result, fmt))
    return path
