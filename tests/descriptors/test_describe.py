"""The describe-once stage: hashes, statistics, reduced decoding, resumable parallel pass."""

from __future__ import annotations

import io
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image
from sqlalchemy import delete

from keepsight.dataset import Dataset
from keepsight.descriptors import DescriptorStore, describe_bytes, describe_dataset, hamming64, load_stats
from keepsight.descriptors.compute import jpeg_header
from keepsight.descriptors.store import CorruptDescription, descriptor_stats
from keepsight.ingest.importer import import_path
from tests.similarity import synth


def _png(img: np.ndarray) -> bytes:
    return synth.encode_png(img)


DIHEDRAL = [
    lambda x: x,
    np.fliplr,
    np.flipud,
    lambda x: np.rot90(x, 1),
    lambda x: np.rot90(x, 2),
    lambda x: np.rot90(x, 3),
    np.transpose,
    lambda x: np.rot90(np.fliplr(x)),
]


def test_dihedral_hash_holds_under_the_8_rotations_and_flips() -> None:
    img = synth.scene(3)
    base = describe_bytes("x", _png(img))
    plain_moved = []
    for transform in DIHEDRAL:
        d = describe_bytes("x", _png(np.ascontiguousarray(transform(img))))
        assert hamming64(d.dhash, base.dhash) <= 3
        plain_moved.append(hamming64(d.phash, base.phash))
    assert max(plain_moved) >= 16  # the plain hash does not survive a rotation: that is the point
    other = describe_bytes("y", _png(synth.scene(4)))
    assert hamming64(other.dhash, base.dhash) > 3


def test_stats_follow_the_image() -> None:
    rng = np.random.default_rng(0)
    img = synth.scene(1)
    sharp = describe_bytes("a", _png(img)).stats
    blurred = describe_bytes("b", _png(synth.blur(img, 2.0))).stats
    noisy = describe_bytes("c", _png(synth.noise(img, 12, rng))).stats
    dark = describe_bytes("d", _png((img * 0.5).astype(np.uint8))).stats
    assert blurred["sharpness"] < sharp["sharpness"] / 3
    assert noisy["noise"] > sharp["noise"] + 6
    assert dark["brightness"] == pytest.approx(img.mean() * 0.5, abs=1.0)
    assert dark["p95"] < sharp["p95"] and dark["contrast"] < sharp["contrast"]
    assert sharp["colourfulness"] == 0.0
    colour = np.dstack([img, np.roll(img, 40, axis=1), 255 - img])
    assert describe_bytes("e", _png(colour)).stats["colourfulness"] > 20


def test_large_jpeg_is_decoded_reduced_and_keypoints_are_in_original_pixels() -> None:
    img = cv2.resize(synth.scene(2), (2400, 1800), interpolation=cv2.INTER_CUBIC)
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, "JPEG", quality=90)
    d = describe_bytes("big", buf.getvalue())
    assert (d.width, d.height) == (2400, 1800)
    assert d.scale <= 768 / 2400 + 1e-6
    assert len(d.keypoints) > 100
    assert d.keypoints[:, 0].max() > 1200 and d.keypoints[:, 1].max() > 900  # scaled back, not work pixels
    thumb = Image.open(io.BytesIO(d.thumbnail))
    assert max(thumb.size) == 128


def test_undecodable_bytes_raise_image_error() -> None:
    from keepsight.errors import ImageError

    with pytest.raises(ImageError, match="cannot decode"):
        describe_bytes("bad", b"not an image at all")


def _dataset(tmp_path: Path, count: int) -> Dataset:
    src = tmp_path / "src"
    src.mkdir()
    for i in range(count):
        cv2.imwrite(str(src / f"img{i:02d}.png"), synth.scene(i))
    ds = Dataset.init(tmp_path / "ds")
    import_path(ds, src, format="image_folder")
    return ds


def test_describe_dataset_is_parallel_resumable_and_incremental(tmp_path: Path) -> None:
    with _dataset(tmp_path, 10) as ds:
        calls: list[tuple[int, int]] = []
        report = describe_dataset(ds, lambda done, total: calls.append((done, total)), workers=2)
        assert (report.total, report.computed, report.skipped, report.failed) == (10, 10, 0, {})
        assert calls[-1] == (10, 10) and [c[0] for c in calls] == sorted(c[0] for c in calls)
        stats = load_stats(ds.engine)
        store = DescriptorStore(ds.root)
        blobs = sorted(s.blob for s in ds.samples())
        assert sorted(stats) == blobs and all(store.has(b) for b in blobs)
        assert stats[blobs[0]]["dhash"] == store.load(blobs[0]).dhash  # unsigned round trip through BIGINT
        # an interruption: one description lost completely, one lost only its table row
        store.path(blobs[0]).unlink()
        with ds.transaction() as conn:
            conn.execute(delete(descriptor_stats).where(descriptor_stats.c.digest.in_(blobs[:2])))
        again = describe_dataset(ds, workers=2)
        assert (again.computed, again.skipped) == (1, 9)
        assert sorted(load_stats(ds.engine)) == blobs
        assert describe_dataset(ds).computed == 0


def test_batched_writes_are_complete_files_and_leave_no_temporaries(tmp_path: Path) -> None:
    store = DescriptorStore(tmp_path)
    descs = [describe_bytes(f"{i:02x}" + "0" * 62, _png(synth.scene(i))) for i in range(3)]
    store.save_many(descs)
    for d in descs:
        back = store.load(d.digest)
        assert np.array_equal(back.keypoints, d.keypoints) and np.array_equal(back.descriptors, d.descriptors)
        assert (back.phash, back.dhash, back.stats) == (d.phash, d.dhash, d.stats)
    assert not list(store.folder.rglob(".tmp-*"))
    broken = describe_bytes("ff" + "1" * 62, _png(synth.scene(4)))
    (store.folder / "ff").write_text("a file where the folder should be")  # the batch cannot be written
    with pytest.raises(OSError):
        store.save_many([describe_bytes("aa" + "2" * 62, _png(synth.scene(5))), broken])
    assert not store.has("aa" + "2" * 62)  # nothing of a failed batch becomes visible
    assert not list(store.folder.rglob(".tmp-*"))


@pytest.mark.parametrize("damage", ["empty", "cut short", "one byte changed"])
def test_a_damaged_description_is_described_again_from_its_blob(tmp_path: Path, damage: str) -> None:
    """Files are not fsynced: after a crash one may be empty or cut short under its table row."""
    with _dataset(tmp_path, 3) as ds:
        describe_dataset(ds, workers=1)
        digest = sorted(s.blob for s in ds.samples())[0]
        store = DescriptorStore.for_dataset(ds)
        good = store.load(digest)
        path = store.path(digest)
        data = path.read_bytes()
        if damage == "empty":
            path.write_bytes(b"")
        elif damage == "cut short":
            path.write_bytes(data[: len(data) // 2])
        else:  # inside the keypoints: only the member's CRC-32 notices
            start = data.index(b"keypoints.npy") + 200
            path.write_bytes(data[:start] + bytes([data[start] ^ 0x10]) + data[start + 1 :])
        with pytest.raises(CorruptDescription):
            DescriptorStore(ds.root).load(digest)  # no source: it says so, never returns bad keypoints
        if damage != "one byte changed":  # the header alone is still readable there
            assert DescriptorStore(ds.root).version(digest) == -1
        again = store.load(digest)
        assert store.repaired == 1
        assert np.array_equal(again.keypoints, good.keypoints) and again.stats == good.stats
        assert DescriptorStore(ds.root).load(digest).dhash == good.dhash  # rewritten in place
        # without its table row a damaged file is described again by the describe pass
        path.write_bytes(
            data[:start] + bytes([data[start] ^ 0x10]) + data[start + 1 :] if damage == "one byte changed" else b""
        )
        with ds.transaction() as conn:
            conn.execute(delete(descriptor_stats).where(descriptor_stats.c.digest == digest))
        assert describe_dataset(ds, workers=1).computed == 1
        assert DescriptorStore(ds.root).load(digest).dhash == good.dhash


def test_keypoints_come_strongest_first_so_a_prefix_is_the_best_subset() -> None:
    d = describe_bytes("x", _png(synth.scene(6)))
    assert len(d.keypoints) > 300
    # ORB's Harris response is not stored; the order is checked against a fresh detection instead
    import cv2

    from keepsight.descriptors.compute import _CLAHE, MAX_KEYPOINTS, ORB_FAST_THRESHOLD, ORB_LEVELS

    orb = cv2.ORB_create(MAX_KEYPOINTS, 1.2, ORB_LEVELS, 15, 0, 2, cv2.ORB_HARRIS_SCORE, 31, ORB_FAST_THRESHOLD)
    kps = orb.detect(_CLAHE.apply(synth.scene(6)), None)
    strongest = max(kps, key=lambda k: k.response)
    assert np.allclose(d.keypoints[0, :2], strongest.pt, atol=1e-3)


@pytest.mark.parametrize(("mode", "progressive"), [("L", False), ("RGB", False), ("RGB", True), ("CMYK", False)])
def test_jpeg_header_agrees_with_pil(mode: str, progressive: bool) -> None:
    """The describe stage reads JPEG frame headers itself; it must agree with PIL, or step aside (None)."""
    buf = io.BytesIO()
    Image.new(mode, (123, 45)).save(buf, format="JPEG", progressive=progressive)
    data = buf.getvalue()
    expected = ((123, 45), mode) if mode in ("L", "RGB") else None
    assert jpeg_header(data) == expected
    assert jpeg_header(data[:30]) is None  # cut before the frame header
    png = io.BytesIO()
    Image.new("RGB", (8, 8)).save(png, format="PNG")
    assert jpeg_header(png.getvalue()) is None
    if expected is not None:
        desc = describe_bytes("x", data)
        assert (desc.width, desc.height, desc.mode) == (123, 45, mode)
