"""The HTML drift report: one self-contained file (plots as base64 PNG, thumbnails inline, no scripts)."""

from __future__ import annotations

import base64
import html
import io
from pathlib import Path
from typing import Any

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from keepsight.storage.blobs import atomic_write_bytes

COLOURS = {"new_content": "#d62728", "camera_moved": "#9467bd", "illumination": "#ff7f0e", "focus_or_wear": "#8c564b",
           "noise": "#7f7f7f", "contrast": "#bcbd22", "colour": "#e377c2", "appearance": "#17becf",
           "model_confidence": "#1f77b4", "class_mix": "#2ca02c"}
_PLOTTED = ("brightness", "contrast", "focus", "grain", "saturation")

_CSS = """
body{font-family:system-ui,sans-serif;margin:2em;max-width:1200px;color:#222}
h1{font-size:1.5em}h2{font-size:1.2em;margin-top:2em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;font-size:.9em}td,th{border:1px solid #ddd;padding:3px 8px;text-align:left}
.tag{display:inline-block;padding:1px 6px;border-radius:3px;color:#fff;font-size:.85em}
.alarm{border-left:4px solid #d62728;padding:.3em 1em;margin:1em 0;background:#fafafa}
.thumbs img{height:110px;margin:4px;border:1px solid #ccc}.ok{color:#2a2}.bad{color:#c22}
"""


def _png(fig: Figure) -> str:
    buf = io.BytesIO()
    FigureCanvasAgg(fig).print_png(buf)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _shade(ax: Any, windows: list[dict[str, Any]]) -> None:
    for w in windows:
        if w.get("drifted"):
            ax.axvspan(w["first"], w["last"], color=COLOURS.get(w.get("category") or "", "#999"), alpha=0.08, lw=0)


def _legend(ax: Any, twin: Any) -> None:
    """One legend for an axis and its twin."""
    handles, labels = ax.get_legend_handles_labels()
    more_handles, more_labels = twin.get_legend_handles_labels()
    ax.legend(handles + more_handles, labels + more_labels, loc="upper left", fontsize=8)


def _series(windows: list[dict[str, Any]], key: str) -> tuple[list[float], list[float]]:
    xs, ys = [], []
    for w in windows:
        value = w.get("summary", {}).get(key)
        if w.get("status") == "tested" and value is not None:
            xs.append(w["last"])
            ys.append(float(value))
    return xs, ys


def plot_timeseries(session: dict[str, Any]) -> str:
    """Window medians over the stream: statistics against training, novelty and MMD, camera geometry."""
    windows = session["windows"]
    reference = session["reference"]["statistics"]
    has_geometry = any(w.get("summary", {}).get("dx") is not None for w in windows)
    has_conf = any(w.get("summary", {}).get("confidence") is not None for w in windows)
    rows = 2 + has_geometry + has_conf
    fig = Figure(figsize=(11, 2.6 * rows))
    axes = fig.subplots(rows, 1, sharex=True, squeeze=False)[:, 0]
    ax = axes[0]
    for name in _PLOTTED:
        base = reference.get(name, {}).get("median")
        xs, ys = _series(windows, name)
        if base and xs:
            ax.plot(xs, [100.0 * (y - base) / abs(base) for y in ys], marker=".", label=name)
    ax.axhline(0, color="#888", lw=0.8)
    ax.set_ylabel("% vs training median")
    ax.legend(loc="upper left", fontsize=8, ncol=len(_PLOTTED))
    ax = axes[1]
    xs, ys = _series(windows, "novel_share")
    ax.plot(xs, [100 * y for y in ys], marker=".", color=COLOURS["new_content"], label="novel images %")
    xs, ys = _series(windows, "registered_share")
    if xs:
        ax.plot(xs, [100 * y for y in ys], marker=".", color="#555", label="registered to scene %")
    ax.set_ylabel("%")
    ax.set_ylim(-5, 105)
    twin = ax.twinx()
    xs, ys = _series(windows, "mmd_p")
    twin.plot(xs, ys, ls="--", color=COLOURS["appearance"], label="MMD p-value (right)")
    twin.set_yscale("log")
    twin.set_ylabel("MMD p-value")
    _legend(ax, twin)
    k = 2
    if has_geometry:
        ax = axes[k]
        for key in ("dx", "dy"):
            xs, ys = _series(windows, key)
            ax.plot(xs, ys, marker=".", label=f"{key} (px)")
        ax.set_ylabel("px")
        twin = ax.twinx()
        xs, ys = _series(windows, "rotation")
        twin.plot(xs, ys, ls="--", color=COLOURS["camera_moved"], label="rotation (degrees, right)")
        twin.set_ylabel("degrees")
        _legend(ax, twin)
        k += 1
    if has_conf:
        ax = axes[k]
        xs, ys = _series(windows, "confidence")
        ax.plot(xs, ys, marker=".", color=COLOURS["model_confidence"])
        ax.set_ylabel("median confidence")
    for ax in axes:
        _shade(ax, windows)
        ax.grid(alpha=0.3)
    axes[-1].set_xlabel("image in the stream (window end)")
    fig.tight_layout()
    return _png(fig)


def _tag(category: str | None) -> str:
    if not category:
        return ""
    return f'<span class="tag" style="background:{COLOURS.get(category, "#999")}">{html.escape(category)}</span>'


def _alarm_html(alarm: dict[str, Any]) -> str:
    models = ", ".join(f"{m.get('name')}" + (f"@{m.get('version')}" if m.get("version") else "")
                       for m in alarm.get("models", [])) or "none registered"
    lines = "".join(f"<li>{_tag(e['category'])} {html.escape(e['message'])}</li>" for e in alarm["explanations"])
    thumbs = "".join(f'<img title="{html.escape(x["name"])}" src="data:image/jpeg;base64,{x["thumbnail"]}">'
                     for x in alarm.get("examples", []) if x.get("thumbnail"))
    return (f'<div class="alarm"><b>Alarm {alarm["id"]}</b> {_tag(alarm["category"])} '
            f'{html.escape(alarm["message"])}<br>images {alarm["first_image"]}-{alarm["last_image"]} '
            f'({alarm["windows"]} windows), dataset version <b>{html.escape(str(alarm["version"]))}</b>, '
            f'affected models: {html.escape(models)}<ul>{lines}</ul><div class="thumbs">{thumbs}</div></div>')


def _window_rows(windows: list[dict[str, Any]]) -> str:
    rows = []
    for w in windows:
        msgs = "<br>".join(html.escape(e["message"]) for e in w.get("explanations", []))
        tests = "".join(
            f"<tr><td>{html.escape(t['family'])}</td><td>{html.escape(t['feature'])}</td><td>{t['test']}</td>"
            f"<td>{t['statistic']:.4g}</td><td>{t['p_value']:.3g}</td><td>{t['effect']:.4g} {html.escape(t['effect_name'])}"
            f"</td><td>{'drift' if t['drifted'] else ''}</td></tr>" for t in w.get("tests", []))
        detail = (f"<details><summary>{len(w.get('tests', []))} tests</summary><table><tr><th>family</th><th>feature</th>"
                  f"<th>test</th><th>statistic</th><th>p</th><th>effect</th><th></th></tr>{tests}</table></details>"
                  if tests else "")
        rows.append(f"<tr><td>{w['index']}</td><td>{w['first']}-{w['last']}</td><td>{w['status']}</td>"
                    f"<td>{_tag(w.get('category'))}</td><td>{msgs}{detail}</td></tr>")
    return "".join(rows)


def _request_rows(requests: list[dict[str, Any]]) -> str:
    rows = []
    for r in requests:
        prop = r.get("proposal", {})
        acts = ", ".join(f"<span class={'ok' if a['ok'] else 'bad'}>{html.escape(a['kind'])}: "
                         f"{html.escape(a['detail'])}</span>" for a in r.get("actions", [])) or "none"
        rows.append(f"<tr><td>{html.escape(r['request_id'])}</td><td>{html.escape(r['policy'])}</td>"
                    f"<td>{html.escape(r['reason'])}</td><td>{len(prop.get('add', []))} / "
                    f"{len(prop.get('re_annotate', []))} / {len(prop.get('remove', []))}</td><td>{acts}</td></tr>")
    return "".join(rows)


def render_html(session: dict[str, Any], *, scene_png: bytes | None = None, title: str = "keepsight drift report") -> str:
    ref = session["reference"]
    summary = session["summary"]
    scene = (f'<p>Reference scene (median of aligned training images):<br><img style="max-width:600px" '
             f'src="data:image/png;base64,{base64.b64encode(scene_png).decode("ascii")}"></p>' if scene_png else
             "<p>No common scene in training: camera geometry is not monitored.</p>")
    alarms = "".join(_alarm_html(a) for a in session["alarms"]) or "<p class=ok>No alarm.</p>"
    requests = (f"<table><tr><th>request</th><th>policy</th><th>reason</th><th>add / re-annotate / remove</th>"
                f"<th>actions</th></tr>{_request_rows(session['requests'])}</table>" if session["requests"]
                else "<p>No retraining request.</p>")
    skipped = "".join(f"<li>{html.escape(s['name'])}: {html.escape(s['reason'])}</li>" for s in session.get("skipped", []))
    return f"""<!doctype html><html><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>{_CSS}</style></head><body>
<h1>{html.escape(title)}</h1>
<p>Run {html.escape(str(session['run']))}: {session['images']} images, {summary['windows']} windows
({summary['drifted_windows']} drifted), {summary['alarms']} alarms, {summary['requests']} retraining requests.
Reference: dataset version <b>{html.escape(str(ref['version']))}</b>, {ref['images']} training images.</p>
{scene}
<h2>Alarms</h2>{alarms}
<h2>Over time</h2><img style="max-width:100%" src="data:image/png;base64,{plot_timeseries(session)}">
<h2>Retraining requests</h2>{requests}
<h2>Windows</h2><table><tr><th>#</th><th>images</th><th>status</th><th>category</th><th>explanations</th></tr>
{_window_rows(session['windows'])}</table>
{f'<h2>Skipped files</h2><ul>{skipped}</ul>' if skipped else ''}
</body></html>"""


def write_html(session: dict[str, Any], path: Path, *, scene_png: bytes | None = None) -> Path:
    atomic_write_bytes(path, render_html(session, scene_png=scene_png).encode("utf-8"))
    return path
