"""The audit report's charts: matplotlib figures rendered to SVG bytes, embedded in the HTML as data URIs.

No pyplot (no global state, no GUI backend): every chart is a fresh ``Figure``. Text stays text
(``svg.fonttype = none``) so the charts are small and crisp, and labels that matplotlib would read
as mathtext (``$``) are escaped, because class names and check ids come from users.
"""

from __future__ import annotations

import io
import math
from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib as mpl
import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, NullFormatter

SPLIT_COLOURS = {"train": "#4c72b0", "val": "#dd8452", "test": "#55a868", "unassigned": "#9a9a9a"}
_FALLBACK_SPLIT = "#8172b3"
_STYLE: Any = {  # matplotlib's stubs want literal keys
    "svg.fonttype": "none",
    "svg.hashsalt": "keepsight",  # stable element ids: the same data gives the same bytes
    "font.size": 9,
    "font.family": ["DejaVu Sans", "sans-serif"],
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.edgecolor": "#888888",
    "axes.titlesize": 10,
    "axes.titleweight": "bold",
    "axes.titlelocation": "left",
}

# Image statistics worth a histogram, with how to scale their axis (sharpness spans decades).
STAT_PANELS: tuple[tuple[str, str, bool], ...] = (
    ("brightness", "brightness (mean grey level)", False),
    ("contrast", "contrast (grey-level std)", False),
    ("sharpness", "sharpness (Laplacian variance, log)", True),
    ("noise", "noise sigma", False),
)


def _plain_numbers() -> FuncFormatter:
    return FuncFormatter(lambda v, _pos: f"{v:g}")


def plain(text: str) -> str:
    """A label matplotlib shows as typed: ``$`` would start mathtext."""
    return text.replace("$", r"\$")


def _svg(fig: Figure) -> bytes:
    buf = io.BytesIO()
    with mpl.rc_context(_STYLE):
        fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None})
    return buf.getvalue()


def _figure(width: float, height: float) -> Figure:
    with mpl.rc_context(_STYLE):
        return Figure(figsize=(width, height), layout="constrained")


def class_split_counts(per_class: Mapping[str, Mapping[str, int]], splits: Sequence[str]) -> bytes | None:
    """Stacked bars: annotations per class, coloured by split. None without annotations."""
    classes = sorted(c for c in per_class if sum(per_class[c].values()))
    if not classes:
        return None
    with mpl.rc_context(_STYLE):
        fig = _figure(4.6, 0.8 + 0.26 * len(classes)) if len(classes) > 12 else _figure(4.6, 3.0)
        ax = fig.subplots()
        pos = np.arange(len(classes))
        base = np.zeros(len(classes))
        horizontal = len(classes) > 12  # many classes: bars across, so names stay readable
        for split in splits:
            values = np.array([per_class[c].get(split, 0) for c in classes], dtype=float)
            if not values.any():
                continue
            colour = SPLIT_COLOURS.get(split, _FALLBACK_SPLIT)
            if horizontal:
                ax.barh(pos, values, left=base, color=colour, label=plain(split), height=0.7)
            else:
                ax.bar(pos, values, bottom=base, color=colour, label=plain(split), width=0.7)
            base += values
        names = [plain(c) for c in classes]
        if horizontal:
            ax.set_yticks(pos, names)
            ax.invert_yaxis()
            ax.set_xlabel("annotations")
        else:
            ax.set_xticks(pos, names, rotation=30 if len(classes) > 5 else 0, ha="right" if len(classes) > 5 else "center")
            ax.set_ylabel("annotations")
        fig.legend(loc="outside upper right", ncol=len(splits), frameon=False, fontsize=8)
        return _svg(fig)


def stat_histograms(values: Mapping[str, Mapping[str, Sequence[float]]]) -> bytes | None:
    """One histogram per image statistic, the splits overlaid. ``values``: stat -> split -> values."""
    panels = [(key, title, log) for key, title, log in STAT_PANELS if any(len(v) for v in values.get(key, {}).values())]
    if not panels:
        return None
    with mpl.rc_context(_STYLE):
        fig = _figure(2.9 * len(panels), 2.3)  # one row: the report shows it full width
        axes = np.atleast_1d(fig.subplots(1, len(panels))).ravel()
        for ax, (key, title, log) in zip(axes, panels, strict=False):
            by_split = {s: np.asarray(v, dtype=float) for s, v in values[key].items() if len(v)}
            everything = np.concatenate(list(by_split.values()))
            if log:
                everything = everything[everything > 0]
                by_split = {s: v[v > 0] for s, v in by_split.items()}
            if everything.size == 0:
                ax.set_visible(False)
                continue
            lo, hi = float(everything.min()), float(everything.max())
            if hi <= lo:
                hi = lo + 1.0
            n_bins = int(np.clip(2 * math.sqrt(everything.size), 8, 40))
            bins = np.geomspace(lo, hi, n_bins + 1) if log else np.linspace(lo, hi, n_bins + 1)
            known = [s for s in SPLIT_COLOURS if s in by_split]
            order = [s for s in known + sorted(set(by_split) - set(known)) if len(by_split[s])]
            ax.hist([by_split[s] for s in order], bins=bins, stacked=True, label=[plain(s) for s in order],
                    color=[SPLIT_COLOURS.get(s, _FALLBACK_SPLIT) for s in order], rwidth=0.9)
            if log:
                ax.set_xscale("log")
                ax.xaxis.set_major_formatter(_plain_numbers())
                ax.xaxis.set_minor_formatter(NullFormatter())
            ax.set_title(title, fontsize=9, fontweight="normal")
            ax.set_ylabel("images", fontsize=8)
            ax.tick_params(labelsize=7)
        handles, labels = axes[0].get_legend_handles_labels()
        fig.legend(handles, labels, loc="outside upper right", ncol=len(labels), frameon=False, fontsize=8)
        fig.suptitle("Image statistics per split (from the descriptor stage)", x=0.01, ha="left", fontsize=10,
                     fontweight="bold")
        return _svg(fig)
