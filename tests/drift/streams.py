"""Production streams generated from real images (../shared/data), shared by the tests and benchmarks/bench_drift.py.

The scene is BSData's type-2 time-lapse: a fixed camera photographing two spots of a ball
screw drive every few hours for three weeks (wear included). Every image is seen through a
``view``: the central 1000x380 crop of the 1130x460 frame, optionally moved, rotated, dimmed or
blurred, so a moved camera shows real neighbouring content, not a synthetic border.

* training: the even-numbered images of each spot in time order (the reference);
* held-out: the odd-numbered ones, never in training; every stream draws from these;
* the new part type comes from another dataset (magnetic-tile, defect-free tiles), or the
  other ball screw drive type of BSData (``KGT*``, type 1) as a harder case.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

CROP = (1000, 380)  # (w, h) of the camera's view inside each 1130x460 frame
SPOTS = ("277500", "477500")


@dataclass(frozen=True)
class Change:
    """How the camera sees the scene during one phase."""

    name: str
    expected: str | None = None  # the explanation category that must be reported
    gain: float = 1.0
    dx: float = 0.0  # content shift, crop pixels (x right, y down)
    dy: float = 0.0
    angle: float = 0.0  # degrees, counter-clockwise positive
    blur: float = 0.0  # Gaussian sigma, crop pixels
    new_part: str | None = None  # "magnetic-tile" | "bsdata-type1"


STABLE = Change("stable")
DARKER = Change("darkening", "illumination", gain=0.6)
CAMERA = Change("camera shift and rotation", "camera_moved", dx=24.0, dy=-6.0, angle=-1.5)
BLUR = Change("blur", "focus_or_wear", blur=2.5)
NEW_PART = Change("new part type", "new_content", new_part="magnetic-tile")
NEW_PART_SAME_DOMAIN = Change("new part type (BSData type 1)", "new_content", new_part="bsdata-type1")


@dataclass
class Phase:
    change: Change
    images: int


@dataclass
class Stream:
    frames: list[np.ndarray]  # BGR, CROP-sized
    phases: list[tuple[Change, int, int]] = field(default_factory=list)  # change, first index, end index (exclusive)


def bsdata_split(shared: Path) -> tuple[list[Path], list[Path]]:
    """(training, held-out) frames: alternate images of each spot in time order."""
    train: list[Path] = []
    held: list[Path] = []
    for spot in SPOTS:
        frames = sorted((shared / "bsdata" / "data").glob(f"01_*_{spot}_315_crop_2.jpg"))
        train += frames[0::2]
        held += frames[1::2]
    return train, held


def view(frame: np.ndarray, change: Change = STABLE, *, crop: tuple[int, int] | None = CROP) -> np.ndarray:
    """The camera's crop of a full frame under ``change`` (move and rotate about the centre, then dim or blur)."""
    h, w = frame.shape[:2]
    if change.dx or change.dy or change.angle:
        matrix = cv2.getRotationMatrix2D((w / 2, h / 2), change.angle, 1.0)
        matrix[0, 2] += change.dx
        matrix[1, 2] += change.dy
        frame = cv2.warpAffine(frame, matrix, (w, h), flags=cv2.INTER_LANCZOS4, borderMode=cv2.BORDER_REFLECT)
    cw, ch = crop or (w, h)
    x0, y0 = (w - cw) // 2, (h - ch) // 2
    out = frame[y0:y0 + ch, x0:x0 + cw].astype(np.float32)
    if change.blur:
        out = cv2.GaussianBlur(out, (0, 0), change.blur)
    return np.clip(out * change.gain, 0, 255).astype(np.uint8)


def tile_split(shared: Path) -> tuple[list[Path], list[Path]]:
    """magnetic-tile's defect-free tiles: (training, held-out), alternate files. ROI crops of varied sizes:
    no common scene, so camera geometry is not monitored on this source."""
    files = sorted((shared / "magnetic-tile" / "MT_Free" / "Imgs").glob("*.jpg"))
    return files[0::2], files[1::2]


SOURCES = {"bsdata": (bsdata_split, CROP), "magnetic-tile": (tile_split, None)}


def new_parts(shared: Path, kind: str) -> list[np.ndarray]:
    """Frames of another part type, filling the camera's view."""
    if kind == "neu-det":
        files = sorted((shared / "neu-det" / "IMAGES").glob("*.jpg"))[::6]
        return [im for im in (cv2.imread(str(f), cv2.IMREAD_COLOR) for f in files) if im is not None]
    if kind == "magnetic-tile":
        files = sorted((shared / "magnetic-tile" / "MT_Free" / "Imgs").glob("*.jpg"))
        images = [cv2.imread(str(f), cv2.IMREAD_COLOR) for f in files]
        images = [im for im in images if im is not None and im.shape[1] > im.shape[0]]
    elif kind == "bsdata-type1":
        images = [cv2.imread(str(f), cv2.IMREAD_COLOR) for f in sorted((shared / "bsdata" / "data").glob("KGT*.jpg"))]
    else:
        raise ValueError(kind)
    return [cv2.resize(im, CROP, interpolation=cv2.INTER_AREA) for im in images if im is not None]


def build_stream(shared: Path, phases: list[Phase], *, seed: int, source: str = "bsdata") -> Stream:
    """Frames phase by phase; each phase cycles through the held-out frames in its own shuffled order."""
    split, crop = SOURCES[source]
    _, held = split(shared)
    frames = [cv2.imread(str(p), cv2.IMREAD_COLOR) for p in held]
    rng = np.random.default_rng(seed)
    parts: dict[str, list[np.ndarray]] = {}
    stream = Stream(frames=[])
    for phase in phases:
        first = len(stream.frames)
        if phase.change.new_part:
            pool = parts.setdefault(phase.change.new_part, new_parts(shared, phase.change.new_part))
            order = rng.permutation(len(pool))
            stream.frames += [pool[order[k % len(pool)]] for k in range(phase.images)]
        else:
            order = np.concatenate([rng.permutation(len(frames)) for _ in range(phase.images // len(frames) + 1)])
            stream.frames += [view(frames[order[k]], phase.change, crop=crop) for k in range(phase.images)]
        stream.phases.append((phase.change, first, len(stream.frames)))
    return stream


def encode(frame: np.ndarray, quality: int = 92) -> bytes:
    ok, buf = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise ValueError("JPEG encoding failed")
    return buf.tobytes()


def write_training_folder(shared: Path, folder: Path, source: str = "bsdata") -> Path:
    """The training frames as the camera sees them (encoded like the streams), as an image folder to import
    with split=train."""
    split, crop = SOURCES[source]
    train, _ = split(shared)
    folder.mkdir(parents=True, exist_ok=True)
    for path in train:
        frame = cv2.imread(str(path), cv2.IMREAD_COLOR)
        (folder / path.name).write_bytes(encode(view(frame, crop=crop)))
    return folder


NEW_STEEL = Change("new part type (NEU-DET steel)", "new_content", new_part="neu-det")
TILE_PHASES = [Phase(STABLE, 60), Phase(DARKER, 50), Phase(STABLE, 30), Phase(BLUR, 50), Phase(STABLE, 30),
               Phase(NEW_STEEL, 50)]
DRIFT_PHASES = [Phase(STABLE, 60), Phase(DARKER, 50), Phase(STABLE, 30), Phase(CAMERA, 50), Phase(STABLE, 30),
                Phase(BLUR, 50), Phase(STABLE, 30), Phase(NEW_PART, 50)]
CONTROL_PHASES = [Phase(STABLE, 300)]


def score(windows: list[dict], stream: Stream) -> dict:
    """Per change: detection delay and explanation; over stable stretches: false alarms.

    ``windows`` are session window dicts (index, first, last, drifted, category, explanations). A change is
    detected by the first window that overlaps it and whose primary explanation is the expected category;
    the delay counts the changed images up to that window's last image. A false alarm is a drifted window
    with no changed image in it.
    """
    changed = set()
    for change, first, end in stream.phases:
        if change.expected:
            changed.update(range(first, end))
    changes = []
    for change, first, end in stream.phases:
        if not change.expected:
            continue
        overlapping = [w for w in windows if w["status"] == "tested" and w["last"] >= first and w["first"] < end]
        hit = next((w for w in overlapping if w["category"] == change.expected), None)
        inside = [w for w in overlapping if w["first"] >= first and w["last"] < end]
        changes.append({
            "change": change.name,
            "expected": change.expected,
            "first_image": first,
            "images": end - first,
            "detected": hit is not None,
            "delay_images": hit["last"] - first + 1 if hit else None,
            "message": hit["explanations"][0]["message"] if hit else None,
            "windows_inside": len(inside),
            "windows_inside_right": sum(w["category"] == change.expected for w in inside),
            "other_categories": sorted({w["category"] for w in overlapping
                                        if w["category"] and w["category"] != change.expected}),
        })
    clean = [w for w in windows if w["status"] == "tested" and not changed & set(range(w["first"], w["last"] + 1))]
    false = [w for w in clean if w["drifted"]]
    return {"changes": changes, "clean_windows": len(clean), "false_alarm_windows": len(false),
            "false_alarms": [{"window": w["index"], "category": w["category"],
                              "message": w["explanations"][0]["message"]} for w in false]}
