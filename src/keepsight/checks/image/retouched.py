"""image.retouched: signs of retouching, copy-move (clone-stamp) regions and noise-free islands (healing).

A retouched training image teaches a model a surface that was never captured (a defect painted
out of an NG image, a clean patch pasted over a scratch). Compute, per image:

* copy-move: 8x8 block matching at every offset (``_retouch_clone``): many pixel-identical blocks
  sharing one offset, forming one connected patch, each with a single partner (blocks holding
  pen-coloured pixels left out: a text's letters repeat exactly);
* healing/inpainting: islands with no noise and no texture inside normally active content
  (``_retouch_noise``); on a photo stored as JPEG at a modest quality, a cluster of smooth 8x8
  blocks without the JPEG block grid every other smooth block shows; on a photo stored as JPEG at a
  modest quality and saved again at a finer one, a cluster of 8x8 blocks whose low DCT coefficients
  miss the comb the first compression left on every other block; on a black-and-white scan,
  gray pixels far from every sharp edge (``_retouch_grid``);
* a clone of blank board on a black-and-white scan (nothing to match): an isolated, solid, exact
  square of one colour (``_retouch_grid``).

Score and threshold: ``_retouch_find`` turns each into a score in [0, 1]; ``min_score`` decides.
Across the dataset, a candidate found at the same place in ``recurrence_images`` or more images of
one size (clones scored from half of ``min_score`` up, and any smooth island of a plausible size)
is part of the scene, not an edit: a highlight every capture of a spot shows, a fixture; such
candidates are not reported. The evidence gives
the edited region (and a clone's source region) in original pixels.
Whole-image JPEG double-compression ("ghost") analysis is not used: datasets are routinely
re-encoded as a whole, which makes a re-saved image a poor sign of local editing, and block matching
already uses the JPEG grid (repeated content matches exactly only on the 8x8 grid; a copy anywhere).
Only a local inconsistency counts: blocks that lack the first compression the rest carries.
"""

from __future__ import annotations

from functools import partial
from typing import Any, ClassVar, cast

import numpy as np
from pydantic import Field

from keepsight.checks.base import Check, CheckParams, CheckResult, Finding, Severity
from keepsight.checks.context import AuditContext
from keepsight.checks.image._pixel_scan import scan
from keepsight.checks.image._retouch_clone import WORK_SIDE
from keepsight.checks.image._retouch_find import find_retouching, recurring
from keepsight.model.annotation import Sample

_WHAT = {
    "clone": "a patch copied from another place of the image (clone-stamp)",
    "smooth": "a noise-free patch inside textured content (healing brush or inpainting)",
    "gridless": "a patch without the JPEG block pattern of the rest of the image (painted in after decoding)",
    "requantised": "a patch that lacks the earlier JPEG compression the rest of the image carries (painted in, then saved again)",
    "shaded": "gray shading away from the edges of a black-and-white scan (healing, inpainting or a feathered paste)",
    "pasted": "a solid square of one colour stamped over a black-and-white scan (a clone of blank board)",
}


class RetouchedParams(CheckParams):
    min_score: float = Field(0.5, gt=0.0, le=1.0, description="how sure (0..1) an edit must be to be reported")
    recurrence_images: int = Field(
        3, ge=0, description="candidates at one place in this many images are scene, not edits (0 = keep all)"
    )
    workers: int = Field(0, ge=0, description="worker processes decoding images (0 = one per core)")


def retouch_analysis(image: np.ndarray, *, min_score: float = 0.5) -> list[dict[str, Any]]:
    """The candidate retouched regions of one decoded image (score >= ``min_score``, plus every smooth
    island of a plausible size), as JSON-safe dicts (module level: runs in worker processes)."""
    out = []
    for r in find_retouching(image, min_score=min_score, islands=True):
        item: dict[str, Any] = {"kind": r.kind, "box": list(r.box), "score": r.score, **r.measures}
        if r.source is not None:
            item["source_box"] = list(r.source)
        out.append(item)
    return out


class Retouched(Check):
    id = "image.retouched"
    title = "Retouched images"
    severity: ClassVar[Severity] = "warning"
    inputs = frozenset({"samples", "images"})
    action = "check the image against its capture; replace it with the untouched original or remove it"
    Params = RetouchedParams

    def run(self, ctx: AuditContext) -> CheckResult:
        p = cast(RetouchedParams, self.params)
        scanned = undecodable = 0
        candidates: dict[str, tuple[int, int, list[dict[str, Any]]]] = {}
        images: dict[str, list[Sample]] = {}
        analysis = partial(retouch_analysis, min_score=p.min_score / 2)
        # the clone search works at up to 2 x WORK_SIDE before its own whole-factor reduction
        for samples, edits in scan(ctx, analysis, work_side=2 * WORK_SIDE, workers=p.workers):
            scanned += 1
            if edits is None:
                undecodable += 1
            elif edits:
                first = samples[0]
                candidates[first.blob] = (first.width, first.height, edits)
                images[first.blob] = samples
        scene = recurring(candidates, min_images=p.recurrence_images) if p.recurrence_images else set()
        findings: list[Finding] = []
        counts = dict.fromkeys(_WHAT, 0)
        for blob, (_, _, edits) in candidates.items():
            kept = [e for n, e in enumerate(edits) if e["score"] >= p.min_score and (blob, n) not in scene]
            if not kept:
                continue
            for e in kept:
                counts[e["kind"]] += 1
            kinds = sorted({e["kind"] for e in kept})
            for s in images[blob]:
                findings.append(
                    self.finding(
                        "signs of retouching: " + "; ".join(_WHAT[k] for k in kinds),
                        samples=[s.id],
                        paths=[s.path],
                        split=s.split,
                        score=float(kept[0]["score"]),
                        evidence={"box": kept[0]["box"], "edits": kept},
                    )
                )
        return self.result(
            findings,
            images_scanned=scanned,
            images_retouched=len(findings),
            clone_regions=counts["clone"],
            smooth_regions=counts["smooth"],
            gridless_regions=counts["gridless"],
            requantised_regions=counts["requantised"],
            shaded_regions=counts["shaded"],
            pasted_regions=counts["pasted"],
            scene_candidates=len(scene),
            undecodable=undecodable,
        )
