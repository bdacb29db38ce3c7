"""integrity.*: unreadable and missing images (import problems), undecodable blobs, duplicate files."""

from __future__ import annotations

from pathlib import Path

import cv2

from keepsight.ingest.importer import import_path
from tests.audit.build import dataset_from, run_check, textured, write_manifest


def _png(seed: int) -> bytes:
    return cv2.imencode(".png", textured(seed))[1].tobytes()


def test_unreadable_images_are_reported_with_their_reason(tmp_path: Path) -> None:
    records = [{"image": f"ok/{i}.png", "split": "train", "seed": i} for i in range(3)]
    records += [
        {"image": "bad/garbage.png", "raw": b"this is not an image at all"},
        {"image": "bad/empty.png", "raw": b""},
        {"image": "bad/truncated.png", "raw": _png(9)[:400]},
        {"image": "bad/absent.png", "absent": True},  # missing, not unreadable: another check's
    ]
    with dataset_from(tmp_path, records, skip_bad=True) as ds:
        result = run_check(ds, "integrity.unreadable")
    by_path = {f.paths[0]: f for f in result.findings}
    assert set(by_path) == {"bad/garbage.png", "bad/empty.png", "bad/truncated.png"}
    assert by_path["bad/empty.png"].evidence["category"] == "empty"
    assert by_path["bad/truncated.png"].evidence["category"] == "corrupt"
    assert all(f.severity == "error" and f.action for f in result.findings)


def test_a_blob_that_no_longer_decodes_is_reported(tmp_path: Path) -> None:
    with dataset_from(tmp_path, [{"image": "a.png"}, {"image": "b.png"}]) as ds:
        victim = next(s for s in ds.samples() if s.path == "b.png")
        local = ds.blobs.local_path(victim.blob)
        assert local is not None
        local.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 64)  # the stored bytes rot after the import
        result = run_check(ds, "integrity.unreadable")
        [finding] = result.findings
        assert finding.paths == ["b.png"] and finding.evidence["category"] == "decode_failed"
        assert run_check(ds, "integrity.unreadable", {"decode_check": False}).findings == []


def test_clean_images_are_readable(tmp_path: Path) -> None:
    with dataset_from(tmp_path, [{"image": f"{i}.png", "seed": i} for i in range(4)], skip_bad=True) as ds:
        assert run_check(ds, "integrity.unreadable").findings == []
        assert run_check(ds, "integrity.missing_file").findings == []


def test_missing_images_are_reported_until_they_are_imported(tmp_path: Path, catalog_url: str) -> None:
    records = [{"image": "here.png"}, {"image": "gone/away.png", "absent": True,
                                       "annotations": [{"kind": "box", "label": "dent", "geometry": [1, 1, 9, 9]}]}]
    with dataset_from(tmp_path, records, skip_bad=True, catalog=catalog_url) as ds:
        result = run_check(ds, "integrity.missing_file")
        [finding] = result.findings
        assert finding.paths == ["gone/away.png"] and finding.severity == "error"
        assert finding.evidence["category"] == "missing" and "does not exist" in finding.evidence["reason"]
        assert run_check(ds, "integrity.unreadable", {"decode_check": False}).findings == []
        # The file turns up and the folder is imported again: the problem is history, not a finding.
        write_manifest(tmp_path / "src", [{"image": "here.png"}, {"image": "gone/away.png", "seed": 5}])
        import_path(ds, tmp_path / "src", format="manifest", skip_bad=True)
        assert run_check(ds, "integrity.missing_file").findings == []


def test_duplicate_files_within_a_split_but_not_leaks(tmp_path: Path) -> None:
    same, other = textured(1), textured(2)
    records = [
        {"image": "train/a.png", "split": "train", "pixels": same},
        {"image": "train/a_copy.png", "split": "train", "pixels": same},
        {"image": "train/b.png", "split": "train", "pixels": other},
        {"image": "test/b_again.png", "split": "test", "pixels": other},  # a leak: split.exact_leak's
    ]
    with dataset_from(tmp_path, records) as ds:
        result = run_check(ds, "integrity.duplicate_file")
    [finding] = result.findings
    assert finding.paths == ["train/a.png", "train/a_copy.png"] and finding.split == "train"
    assert finding.evidence["copies"] == 2


def test_distinct_files_are_not_duplicates(tmp_path: Path) -> None:
    with dataset_from(tmp_path, [{"image": f"{i}.png", "split": "train", "seed": i} for i in range(4)]) as ds:
        assert run_check(ds, "integrity.duplicate_file").findings == []
