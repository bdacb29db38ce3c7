"""Labelled image pairs for the same-object benchmarks, generated from the real images in ../shared/data.

For each picked source image the original (re-encoded at JPEG quality 95) and one new capture of
it are written: any rotation, a shift, a 70-95 % crop, brightness/contrast/gamma, blur or noise,
JPEG re-encoding (``tests/similarity/synth.random_capture``). Positives: (original, capture).
Negatives: every other pair of images from one source dataset, which includes the hard ones:
other tiles of the same kind, other crops of one PCB design, other spots of the same ball screw
(one fixture, one camera, nearly the same picture). Pairs across datasets are trivially
different and left out of the scores.

Some source images are themselves captures of one object, so some "other" pairs are not
negatives, and the benchmark says which it cannot label (``unlabelled_pairs``):

* bsdata: type-2 file names give the spot (``01_<time>_<position>_<angle>_crop_<k>``); frames of
  one spot are a time-lapse of one place. Provenance only: different spots look alike on purpose
  and stay negatives.
* magnetic-tile, neu-det, deeppcb: no provenance, so an independent dense check compares the two
  *source* images (not keepsight's features): band-pass (difference of Gaussians) images at <= 320
  px with local contrast normalisation, the shift from phase correlation, and the normalised
  cross-correlation of the overlap inside a 12 % margin. NCC >= 0.7 on >= 2 % of the image: the
  two show the same surface (exposures of one magnetic tile, neighbouring neu-det frames,
  overlapping PCB crops). The results file lists every such pair and the highest NCC left among
  the labelled pairs of each dataset: magnetic-tile and neu-det have a wide gap (same surface
  >= 0.83, others <= 0.35 on seeds 0 and 1); deeppcb has none, its crops of one board design
  overlap by degrees and repeat traces, so its threshold is a judgement call. Pairs that some
  method claims are also checked under the 8 rotations/flips (``label_rotated_copies``).
"""

from __future__ import annotations

import random
import sys
from dataclasses import dataclass, field
from itertools import combinations
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.similarity import synth  # noqa: E402

SOURCES = {
    "magnetic-tile": "magnetic-tile/*/Imgs/*.jpg",
    "neu-det": "neu-det/**/*.jpg",
    "deeppcb": "deeppcb/**/*_test.jpg",
    "bsdata": "bsdata/data/**/*.jpg",
}
OVERLAP_NCC = 0.7
OVERLAP_MIN_SHARE = 0.02
_OVERLAP_SIDE = 320
_MARGIN = 0.12


@dataclass
class PairSet:
    folder: Path
    names: list[str]  # written files: <index>_a.jpg (original), <index>_b.jpg (new capture)
    sources: list[Path]  # source image of each index
    dataset: dict[str, str]  # file name -> source dataset
    positives: set[tuple[str, str]]
    unlabelled: dict[tuple[str, str], str] = field(default_factory=dict)  # pair -> why it cannot be labelled
    source_overlaps: list[dict[str, object]] = field(default_factory=list)
    highest_labelled_ncc: dict[str, float] = field(default_factory=dict)  # per dataset, among labelled pairs

    def source_of(self, name: str) -> Path:
        return self.sources[int(name[:4])]

    def negatives(self) -> set[tuple[str, str]]:
        return {
            (a, b)
            for a, b in combinations(sorted(self.names), 2)
            if self.dataset[a] == self.dataset[b] and (a, b) not in self.positives and (a, b) not in self.unlabelled
        }


def pick_sources(shared: Path, per_source: int, seed: int) -> list[Path]:
    rng = random.Random(seed)
    out: list[Path] = []
    for pattern in SOURCES.values():
        files = sorted(shared.glob(pattern))
        out += rng.sample(files, min(per_source, len(files)))
    return out


def build(shared: Path, folder: Path, per_source: int, seed: int) -> PairSet:
    sources = pick_sources(shared, per_source, seed)
    rng = np.random.default_rng(seed)
    names: list[str] = []
    positives: set[tuple[str, str]] = set()
    dataset: dict[str, str] = {}
    for i, f in enumerate(sources):
        img = cv2.imread(str(f), cv2.IMREAD_UNCHANGED)
        a, b = f"{i:04d}_a.jpg", f"{i:04d}_b.jpg"
        cv2.imwrite(str(folder / a), img, [cv2.IMWRITE_JPEG_QUALITY, 95])
        cv2.imwrite(str(folder / b), synth.random_capture(img, rng))
        names += [a, b]
        positives.add((a, b))
        dataset[a] = dataset[b] = f.relative_to(shared).parts[0]
    pairs = PairSet(folder, names, sources, dataset, positives)
    _label_source_pairs(pairs, shared)
    return pairs


def _bsdata_spot(path: Path) -> str | None:
    parts = path.stem.split("_")
    return f"{parts[2]}_{parts[3]}" if parts[0] == "01" and len(parts) >= 4 else None


def _label_source_pairs(pairs: PairSet, shared: Path) -> None:
    same: dict[tuple[int, int], str] = {}
    by_dataset: dict[str, list[int]] = {}
    for i, f in enumerate(pairs.sources):
        by_dataset.setdefault(f.relative_to(shared).parts[0], []).append(i)
    for name, idx in by_dataset.items():
        if name == "bsdata":
            for i, j in combinations(idx, 2):
                spot = _bsdata_spot(pairs.sources[i])
                if spot is not None and spot == _bsdata_spot(pairs.sources[j]):
                    same[(i, j)] = f"bsdata time-lapse of spot {spot}"
            continue
        images = [cv2.imread(str(pairs.sources[i]), cv2.IMREAD_GRAYSCALE) for i in idx]
        factor = min(1.0, _OVERLAP_SIDE / max(max(im.shape) for im in images))
        band = {i: band_pass(im, factor) for i, im in zip(idx, images, strict=True)}
        highest = 0.0
        for i, j in combinations(idx, 2):
            ncc, share, shift = overlap_ncc(band[i], band[j])
            if not (ncc >= OVERLAP_NCC and share >= OVERLAP_MIN_SHARE):
                highest = max(highest, ncc if share >= OVERLAP_MIN_SHARE else 0.0)
            else:
                same[(i, j)] = f"source images overlap (NCC {ncc:.2f} on {share:.0%}, shift {shift})"
                pairs.source_overlaps.append(
                    {
                        "a": str(pairs.sources[i].relative_to(shared)),
                        "b": str(pairs.sources[j].relative_to(shared)),
                        "ncc": round(ncc, 3),
                        "share": round(share, 3),
                    }
                )
        pairs.highest_labelled_ncc[name] = round(highest, 3)
    for a, b in combinations(sorted(pairs.names), 2):
        key = (int(a[:4]), int(b[:4]))
        if key in same:
            pairs.unlabelled[(a, b)] = same[key]


def same_surface(a: np.ndarray, b: np.ndarray, *, rotations: bool = True) -> tuple[bool, float, str]:
    """The dense overlap check on two gray source images, under the 8 rotations/flips of ``b``.

    Returns (overlap found, best NCC, the transform of b that gave it).
    """
    factor = min(1.0, _OVERLAP_SIDE / max(*a.shape, *b.shape))
    band_a = band_pass(a, factor)
    best, how = -1.0, ""
    for turns, flip in ((t, f) for t in range(4 if rotations else 1) for f in ((False, True) if rotations else (False,))):
        moved = np.ascontiguousarray(np.rot90(b[:, ::-1] if flip else b, turns))
        ncc, share, _ = overlap_ncc(band_a, band_pass(moved, factor))
        label = f"{90 * turns} degrees{' and a flip' if flip else ''}"
        if ncc >= OVERLAP_NCC and share >= OVERLAP_MIN_SHARE:
            return True, ncc, label
        if share >= OVERLAP_MIN_SHARE and ncc > best:
            best, how = ncc, label
    return False, best, how


def label_rotated_copies(pairs: PairSet, shared: Path, claimed: set[tuple[str, str]]) -> None:
    """The overlap check again under the 8 rotations/flips of one image, for the pairs some method claims.

    Some datasets hold rotated copies of one frame (neu-det ``scratches_65`` is ``scratches_53``
    turned by 90 degrees). Checking only claimed pairs changes no score: a pair nobody claims
    is neither a true nor a false positive, whatever its label.
    """
    todo = sorted({(int(a[:4]), int(b[:4])) for a, b in claimed})
    todo = [
        (i, j)
        for i, j in todo
        if i != j
        and pairs.dataset[f"{i:04d}_a.jpg"] == pairs.dataset[f"{j:04d}_a.jpg"] != "bsdata"
        and (f"{i:04d}_a.jpg", f"{j:04d}_a.jpg") not in pairs.unlabelled
    ]
    images: dict[int, np.ndarray] = {}
    for i, j in todo:
        for n in (i, j):
            if n not in images:
                images[n] = cv2.imread(str(pairs.sources[n]), cv2.IMREAD_GRAYSCALE)
        same, ncc, how = same_surface(images[i], images[j])
        if not same:
            continue
        why = f"source images overlap after {how} (NCC {ncc:.2f})"
        for a_name, b_name in combinations(sorted(x for x in pairs.names if int(x[:4]) in (i, j)), 2):
            if int(a_name[:4]) != int(b_name[:4]):
                pairs.unlabelled[(a_name, b_name)] = why
        pairs.source_overlaps.append(
            {
                "a": str(pairs.sources[i].relative_to(shared)),
                "b": str(pairs.sources[j].relative_to(shared)),
                "ncc": round(ncc, 3),
                "after": how,
            }
        )


def band_pass(gray: np.ndarray, factor: float) -> np.ndarray:
    g = gray.astype(np.float32)
    if factor < 1.0:
        size = (max(8, round(g.shape[1] * factor)), max(8, round(g.shape[0] * factor)))
        g = cv2.resize(g, size, interpolation=cv2.INTER_AREA)
    band = cv2.GaussianBlur(g, (0, 0), 0.8) - cv2.GaussianBlur(g, (0, 0), 2.5)
    # local contrast normalisation: exposures exp1..6 of one magnetic tile differ non-linearly
    return band / (np.sqrt(cv2.GaussianBlur(band * band, (0, 0), 8.0)) + 1.0)


def overlap_ncc(a: np.ndarray, b: np.ndarray) -> tuple[float, float, tuple[int, int]]:
    """(NCC of the overlap inside a margin, its share of the smaller image, the shift of b against a)."""
    h, w = max(a.shape[0], b.shape[0]), max(a.shape[1], b.shape[1])
    size_h, size_w = cv2.getOptimalDFTSize(2 * h), cv2.getOptimalDFTSize(2 * w)
    pa, pb = np.zeros((size_h, size_w), np.float32), np.zeros((size_h, size_w), np.float32)
    pa[: a.shape[0], : a.shape[1]] = a - a.mean()
    pb[: b.shape[0], : b.shape[1]] = b - b.mean()
    (dx, dy), _ = cv2.phaseCorrelate(pa, pb)
    sx, sy = round(dx), round(dy)
    mx, my = int(_MARGIN * w), int(_MARGIN * h)
    x0, y0 = max(0, -sx) + mx, max(0, -sy) + my
    x1, y1 = min(a.shape[1], b.shape[1] - sx) - mx, min(a.shape[0], b.shape[0] - sy) - my
    if x1 - x0 < 8 or y1 - y0 < 8:
        return 0.0, 0.0, (sx, sy)
    ra = a[y0:y1, x0:x1].ravel()
    rb = b[y0 + sy : y1 + sy, x0 + sx : x1 + sx].ravel()
    ra, rb = ra - ra.mean(), rb - rb.mean()
    ncc = float(ra @ rb / (np.linalg.norm(ra) * np.linalg.norm(rb) + 1e-6))
    return ncc, (x1 - x0) * (y1 - y0) / min(a.size, b.size), (sx, sy)
