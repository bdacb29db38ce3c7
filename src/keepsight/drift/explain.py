"""From test outcomes to explanations an inspection engineer can act on.

Each drifted family of tests maps to one category with a sentence that names the physical
cause and its size ("illumination: median brightness 142 -> 88 (-38%)"). Categories are
ordered by how much they explain: new content first (a new part type also shifts brightness
and sharpness, and those shifts are then its symptoms), then the camera, the light, the
optics, and finally model-side symptoms.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from keepsight.drift.lineage import UNVERSIONED
from keepsight.drift.stattests import TestResult

PRIORITY = ("new_content", "camera_moved", "illumination", "focus_or_wear", "contrast", "noise", "colour",
            "appearance", "model_confidence", "class_mix")

_LIGHT = {"brightness": "median brightness", "p50": "median grey level", "p5": "shadows (5th percentile)",
          "p95": "highlights (95th percentile)"}


@dataclass
class TestOutcome:
    __test__ = False  # not a pytest class

    family: str  # statistic | novelty | embedding | geometry | prediction
    feature: str  # brightness, focus, embedding, dx, confidence, class...
    result: TestResult
    drifted: bool
    reference_value: float | None = None  # a location summary (median) on each side, for the message
    current_value: float | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"family": self.family, "feature": self.feature, **self.result.as_dict(), "drifted": self.drifted,
                "reference_value": self.reference_value, "current_value": self.current_value, **self.details}


@dataclass
class Explanation:
    category: str
    message: str
    evidence: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        return {"category": self.category, "message": self.message, "evidence": self.evidence}


def relative(reference: float | None, current: float | None) -> float:
    if reference is None or current is None:
        return 0.0
    if reference == 0:
        return 0.0 if current == 0 else float("inf") if current > 0 else float("-inf")
    return (current - reference) / abs(reference)


def _pct(change: float) -> str:
    return "new" if change in (float("inf"), float("-inf")) else f"{change * 100:+.0f}%"


def _num(value: float | None) -> str:
    if value is None:
        return "?"
    return f"{value:.0f}" if abs(value) >= 10 else f"{value:.3g}"


def _since(version: str) -> str:
    return "since the training reference" if version == UNVERSIONED else f"since {version}"


def explain(outcomes: list[TestOutcome], *, version: str) -> list[Explanation]:
    """The explanations of one window, most explanatory first (empty when nothing drifted)."""
    drifted: dict[tuple[str, str], TestOutcome] = {}
    for o in outcomes:
        if o.drifted:
            drifted.setdefault((o.family, o.feature), o)
    found: dict[str, Explanation] = {}

    novelty = drifted.get(("novelty", "embedding"))
    if novelty is not None:
        share = novelty.result.effect
        found["new_content"] = Explanation(
            "new_content", f"new content: {share * 100:.0f}% of images unlike anything in training",
            {"share_novel": share, "p_value": novelty.result.p_value})

    moved = drifted.get(("geometry", "moved"))
    if moved is not None:
        d, tol = moved.details, moved.details["tolerance"]  # components beyond their tolerance are named
        parts = []
        if abs(d["dx"]) >= tol["dx"]:
            parts.append(f"{d['dx']:+.0f} px in x")
        if abs(d["dy"]) >= tol["dy"]:
            parts.append(f"{d['dy']:+.0f} px in y")
        if abs(d["rotation"]) >= tol["rotation"]:
            parts.append(f"{d['rotation']:+.1f} degrees")
        if abs(d["scale"]) >= tol["scale"]:
            parts.append(f"zoom {d['scale'] * 100:+.1f}%")
        if not parts:  # each component under its tolerance on its own; say where the images went
            parts.append(f"{d['dx']:+.0f} px in x, {d['dy']:+.0f} px in y, {d['rotation']:+.1f} degrees")
        partly = f" ({moved.result.effect * 100:.0f}% of images)" if moved.result.effect < 0.95 else ""
        found["camera_moved"] = Explanation(
            "camera_moved", f"camera moved: {', '.join(parts)} {_since(version)}{partly}",
            {k: d[k] for k in ("dx", "dy", "rotation", "scale")} | {"share_moved": moved.result.effect})

    # Light is the level (mean, median grey); the tails and contrast alone are what blur and haze change too.
    level = [drifted[("statistic", k)] for k in ("brightness", "p50") if ("statistic", k) in drifted]
    spread = [drifted[("statistic", k)] for k in ("contrast", "p5", "p95") if ("statistic", k) in drifted]
    if level:
        first = level[0]
        change = relative(first.reference_value, first.current_value)
        message = (f"illumination: {_LIGHT[first.feature]} {_num(first.reference_value)} -> "
                   f"{_num(first.current_value)} ({_pct(change)})")
        evidence: dict[str, Any] = {first.feature: [first.reference_value, first.current_value], "relative": change}
        contrast = drifted.get(("statistic", "contrast"))
        if contrast is not None:
            c_change = relative(contrast.reference_value, contrast.current_value)
            message += f", contrast {_pct(c_change)}"
            evidence["contrast_relative"] = c_change
        found["illumination"] = Explanation("illumination", message, evidence)
    elif spread:
        parts = []
        for o in spread:
            label = "contrast" if o.feature == "contrast" else _LIGHT[o.feature]
            parts.append(f"{label} {_num(o.reference_value)} -> {_num(o.current_value)} "
                         f"({_pct(relative(o.reference_value, o.current_value))})")
        found["contrast"] = Explanation("contrast", "contrast: " + ", ".join(parts),
                                        {o.feature: [o.reference_value, o.current_value] for o in spread})

    focus = drifted.get(("statistic", "focus"))
    if focus is not None:
        change = relative(focus.reference_value, focus.current_value)
        tail = "" if change < 0 else " (sharper or noisier than training)"
        found["focus_or_wear"] = Explanation("focus_or_wear", f"focus or wear: sharpness {_pct(change)}{tail}",
                                             {"focus": [focus.reference_value, focus.current_value], "relative": change})

    grain = drifted.get(("statistic", "grain"))
    if grain is not None:
        change = relative(grain.reference_value, grain.current_value)
        found["noise"] = Explanation("noise", f"sensor noise: {_pct(change)} relative to contrast",
                                     {"grain": [grain.reference_value, grain.current_value], "relative": change})

    colour = drifted.get(("statistic", "saturation"))
    if colour is not None:
        change = relative(colour.reference_value, colour.current_value)
        found["colour"] = Explanation(
            "colour", f"colour: saturation {_num(colour.reference_value)} -> {_num(colour.current_value)} ({_pct(change)})",
            {"saturation": [colour.reference_value, colour.current_value], "relative": change})

    embedding = drifted.get(("embedding", "embedding"))
    image_causes = {"new_content", "camera_moved", "illumination", "contrast", "focus_or_wear", "noise", "colour"}
    if embedding is not None and not image_causes & set(found):
        found["appearance"] = Explanation(
            "appearance", f"appearance: images differ from training as a whole (MMD^2 {embedding.result.effect:.3f}, "
                          f"p={embedding.result.p_value:.2g}) with no single statistic to blame",
            {"mmd2": embedding.result.effect, "p_value": embedding.result.p_value})

    confidence = drifted.get(("prediction", "confidence"))
    if confidence is not None:
        found["model_confidence"] = Explanation(
            "model_confidence", f"model confidence: median {confidence.reference_value:.2f} -> "
                                f"{confidence.current_value:.2f}",
            {"confidence": [confidence.reference_value, confidence.current_value]})

    mix = drifted.get(("prediction", "class"))
    if mix is not None:
        before, after = mix.details.get("reference_shares", {}), mix.details.get("current_shares", {})
        top = sorted(set(before) | set(after), key=lambda k: -abs(after.get(k, 0.0) - before.get(k, 0.0)))[:2]
        parts = [f"{k} {before.get(k, 0.0) * 100:.0f}% -> {after.get(k, 0.0) * 100:.0f}%" for k in top]
        found["class_mix"] = Explanation("class_mix", f"predicted classes: {', '.join(parts)}",
                                         {"reference_shares": before, "current_shares": after,
                                          "cramers_v": mix.result.effect})

    return [found[c] for c in PRIORITY if c in found]
