"""The audit as one self-contained HTML file: pictures with the evidence drawn, tables, charts.

Everything is inside the file (images and charts as ``data:`` URIs, CSS and a few lines of JS
inline), so it can be mailed, archived with a model, or opened offline. All text goes through
Jinja2's autoescaping: file names and class names can contain anything, ``<script>`` included.

Per check, the first ``max_findings`` findings get pictures (one view, a pair side by side, or a
mosaic for a group); the next ``max_rows`` are listed as text; the rest are counted. The JSON
report and the saved run hold every finding.
"""

from __future__ import annotations

import base64
import json
import math
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup
from sqlalchemy import select

from keepsight import __version__
from keepsight.audit import plots
from keepsight.audit._html_views import View, ViewBuilder, class_colours, fetch_samples
from keepsight.audit.config import FailOn
from keepsight.audit.runner import AuditReport
from keepsight.checks.base import SEVERITIES, SEVERITY_RANK, CheckResult, Finding
from keepsight.dataset import Dataset
from keepsight.descriptors.describe import Progress
from keepsight.descriptors.store import load_stats
from keepsight.storage.blobs import atomic_write_bytes
from keepsight.storage.catalog import tables as t

VIEW_SIDE = 256  # one picture or a pair: reduced decode, long side in pixels
MOSAIC_SIDE = 128  # group members: the stored thumbnail
MOSAIC_LIMIT = 12  # group members shown per finding
_DRAWN_KEYS = {"box", "boxes", "boxes_by_path", "boxes_by_sample", "margins_by_sample", "image_size"}
_STATE_ORDER = ("failed", "error", "warning", "info", "clean", "skipped")
_DIGEST = re.compile(r"[0-9a-f]{40,64}")


@dataclass
class Card:
    finding: Finding
    layout: str  # single | pair | group | text
    views: list[View]
    more_samples: int
    evidence: list[tuple[str, str]]
    details: str  # nested evidence as JSON text, shown collapsed
    action: str  # shown only when it differs from the check's usual action
    labels: list[str]  # classes drawn in bold, for the legend


@dataclass
class Section:
    result: CheckResult
    anchor: str
    state: str  # clean | error | warning | info | skipped | failed
    action: str
    counts: dict[str, int]
    cards: list[Card] = field(default_factory=list)
    rows: list[Finding] = field(default_factory=list)
    hidden: int = 0
    summary: list[tuple[str, str]] = field(default_factory=list)
    bar: list[tuple[str, float]] = field(default_factory=list)  # (severity, % of the widest row) for the overview


def _data_uri(svg: bytes | None) -> str | None:
    return None if svg is None else "data:image/svg+xml;base64," + base64.b64encode(svg).decode("ascii")


def _short(value: Any, limit: int = 140) -> str:
    if isinstance(value, float):
        text = f"{value:.4g}" if math.isfinite(value) else str(value)
    elif isinstance(value, str):
        text = value[:12] + "…" if _DIGEST.fullmatch(value) else value
    elif isinstance(value, int | bool) or value is None:
        text = str(value)
    else:
        text = json.dumps(value, default=str)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _described(items: list[Any]) -> str | None:
    """A list of drawn evidence objects (markings, edits) in words: 'red circle 0.93, ...'."""
    if not items or not all(isinstance(i, dict) and "box" in i for i in items):
        return None
    words = []
    for item in items:
        name = " ".join(str(item[k]) for k in ("colour", "kind") if isinstance(item.get(k), str)) or "region"
        score = item.get("score")
        words.append(f"{name} {score:.2f}" if isinstance(score, int | float) else name)
    return ", ".join(words)


def _evidence_items(evidence: dict[str, Any]) -> tuple[list[tuple[str, str]], str]:
    """(short values shown inline, the nested rest as indented JSON for a collapsed block)."""
    inline: list[tuple[str, str]] = []
    nested: dict[str, Any] = {}
    for key, value in evidence.items():
        if key in _DRAWN_KEYS:
            continue
        text = _described(value) if isinstance(value, list) else None
        if text is not None:
            inline.append((key, _short(text)))
        elif isinstance(value, dict | list) and len(json.dumps(value, default=str)) > 40:
            nested[key] = value
        else:
            inline.append((key, _short(value)))
    details = json.dumps(nested, indent=1, default=str) if nested else ""
    return inline, details if len(details) <= 3000 else details[:2999] + "…"


def _state(result: CheckResult) -> str:
    if result.status != "ok":
        return result.status
    worst = max((f.severity for f in result.findings), key=SEVERITY_RANK.__getitem__, default=None)
    return worst or "clean"


def _check_action(result: CheckResult) -> str:
    """The action most of the check's findings suggest (checks default it to their declared action)."""
    actions = Counter(f.action for f in result.findings if f.action)
    return actions.most_common(1)[0][0] if actions else ""


class _Builder:
    def __init__(self, ds: Dataset, report: AuditReport, *, max_findings: int, max_rows: int) -> None:
        self.ds = ds
        self.report = report
        self.max_findings = max_findings
        self.max_rows = max_rows
        self.book = ds.labelbook()
        per_class = report.summary.get("annotations_per_class_and_split", {})
        self.colours = class_colours(self.book, sorted(per_class))
        self.views = ViewBuilder(ds, self.colours)

    def sections(self, progress: Progress | None = None) -> list[Section]:
        shown: dict[str, list[Finding]] = {}
        for r in self.report.results:
            ordered = sorted(r.findings, key=lambda f: -SEVERITY_RANK[f.severity])  # stable: check order kept
            shown[r.check] = ordered
        wanted = {sid for fs in shown.values() for f in fs[: self.max_findings] for sid in f.samples[:MOSAIC_LIMIT]}
        samples = fetch_samples(self.ds, wanted)
        out = []
        for i, r in enumerate(self.report.results):
            if progress:
                progress(i, len(self.report.results))
            action = _check_action(r)
            section = Section(r, f"check-{r.check}", _state(r), action, r.counts(),
                              summary=[(k, _short(v)) for k, v in r.summary.items()])
            findings = shown[r.check]
            section.cards = [self._card(f, samples, action) for f in findings[: self.max_findings]]
            section.rows = findings[self.max_findings: self.max_findings + self.max_rows]
            section.hidden = max(0, len(findings) - self.max_findings - self.max_rows)
            out.append(section)
        if progress:
            progress(len(self.report.results), len(self.report.results))
        widest = max((len(r.findings) for r in self.report.results), default=0) or 1
        for section in out:
            section.bar = [(sev, 100.0 * n / widest) for sev, n in section.counts.items() if n]
        return out

    def _card(self, f: Finding, samples: dict[int, Any], check_action: str) -> Card:
        # A group can name thousands of captures: only the first MOSAIC_LIMIT were fetched and are shown.
        present = [sid for sid in f.samples[:MOSAIC_LIMIT] if sid in samples]
        layout = "text" if not present else {1: "single", 2: "pair"}.get(len(f.samples), "group")
        side = MOSAIC_SIDE if layout == "group" else VIEW_SIDE
        highlight = set(f.annotations)
        views = [self.views.view(*samples[sid], side=side, highlight=highlight, evidence=f.evidence,
                                 first=sid == f.samples[0]) for sid in present]
        action = f.action if f.action and f.action != check_action else ""
        labels = list(dict.fromkeys(label for v in views for label in v.labels))
        inline, details = _evidence_items(f.evidence)
        return Card(f, layout, views, len(f.samples) - len(views), inline, details, action, labels)


def _image_facts(ds: Dataset) -> tuple[dict[str, dict[str, list[float]]], list[tuple[str, int]], int]:
    """(stat -> split -> values) for the histograms, the commonest sizes/modes, and how many images had stats."""
    with ds.reading() as conn:
        rows = conn.execute(select(t.samples.c.blob, t.samples.c.split, t.samples.c.width, t.samples.c.height,
                                   t.samples.c.mode).where(t.samples.c.status == "active")).all()
    stats = load_stats(ds.engine)
    values: dict[str, dict[str, list[float]]] = {key: {} for key, _, _ in plots.STAT_PANELS}
    described = 0
    for blob, split, *_ in rows:
        rec = stats.get(blob)
        if rec is None:
            continue
        described += 1
        for key in values:
            v = rec.get(key)
            if isinstance(v, int | float) and math.isfinite(v):
                values[key].setdefault(split, []).append(float(v))
    sizes = Counter(f"{w}×{h} {mode}" for _, _, w, h, mode in rows)
    return values, sizes.most_common(6), described


def _environment() -> Environment:
    env = Environment(loader=PackageLoader("keepsight.audit", "templates"), autoescape=True,
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["fmt_seconds"] = lambda s: f"{s:.1f} s" if s >= 0.1 else f"{s * 1000:.0f} ms"
    return env


def render_html(ds: Dataset, report: AuditReport, *, fail_on: FailOn | None = None, max_findings: int = 24,
                max_rows: int = 200, progress: Progress | None = None) -> str:
    """The report as an HTML string (see :func:`write_html`)."""
    gate: FailOn = fail_on or (report.run.config.get("fail_on") if report.run else None) or ds.config.audit.fail_on
    builder = _Builder(ds, report, max_findings=max_findings, max_rows=max_rows)
    sections = builder.sections(progress)  # the pictures: most of the time goes here
    summary = report.summary
    per_class: dict[str, dict[str, int]] = summary.get("annotations_per_class_and_split", {})
    per_split: dict[str, int] = summary.get("samples_per_split", {})
    split_order: list[str] = [s for s in ("train", "val", "test", "unassigned") if s in per_split]
    split_order += sorted(s for s in {*per_split, *(s for c in per_class.values() for s in c)} if s not in split_order)
    stat_values, sizes, described = _image_facts(ds)
    started = report.run.started_at if report.run else datetime.now(UTC)
    counts = {sev: int(summary.get("findings", {}).get(sev, 0)) for sev in SEVERITIES}
    charts = {
        "classes": _data_uri(plots.class_split_counts(per_class, split_order)),
        "stats": _data_uri(plots.stat_histograms(stat_values)),
    }
    return _environment().get_template("report.html.j2").render(
        curve=_curve_section(ds),
        name=ds.config.name,
        root=str(ds.root),
        run_id=report.run.id if report.run else None,
        date=started.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        version=__version__,
        samples=summary.get("samples", 0),
        counts=counts,
        gate=gate,
        failed=report.exit_code(gate) != 0,
        at_gate=0 if gate == "never" else sum(SEVERITY_RANK[f.severity] >= SEVERITY_RANK[gate] for f in report.findings),
        failed_checks=[r.check for r in report.results if r.status == "failed"],
        sections=sections,
        ordered=sorted(sections, key=lambda sec: _STATE_ORDER.index(sec.state)),  # problems first
        splits=split_order,
        per_split=per_split,
        per_class=per_class,
        colours=builder.colours,
        book=builder.book,
        charts=charts,
        sizes=sizes,
        described=described,
        images=builder.views.images,
        max_findings=max_findings,
    )


def _curve_section(ds: Dataset) -> dict[str, Any] | None:
    """The latest finished learning curve of the dataset, as the curve module renders it."""
    from keepsight.curves.report import CURVE_CSS, latest_curve, render_curve_section

    saved = latest_curve(ds)
    if saved is None:
        return None
    return {"run_id": saved.run_id, "css": Markup(CURVE_CSS),  # noqa: S704 - a constant of ours
            "html": render_curve_section(saved.result, png=saved.png)}


def write_html(ds: Dataset, report: AuditReport, path: Path, *, fail_on: FailOn | None = None,
               max_findings: int = 24, max_rows: int = 200, progress: Progress | None = None) -> int:
    """Write the self-contained HTML report atomically; returns its size in bytes.

    ``fail_on`` is the gate shown in the header (default: the run's, else the dataset config's);
    ``progress(done, total)`` is called per check section.
    """
    body = render_html(ds, report, fail_on=fail_on, max_findings=max_findings, max_rows=max_rows,
                       progress=progress).encode("utf-8")
    atomic_write_bytes(Path(path), body)
    return len(body)
