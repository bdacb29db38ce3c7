"""The global-descriptor index: incremental part files, compaction, the IVF path, the projection."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from keepsight.descriptors import vlad
from keepsight.descriptors.reduce import MIN_DIMENSIONS, fit_and_project, fit_projection
from keepsight.similarity import index as index_module
from keepsight.similarity.index import GlobalIndex, similarity_dir


def _unit(rng: np.random.Generator, n: int, d: int = 32) -> np.ndarray:
    x = rng.standard_normal((n, d)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def _folder(root: Path) -> Path:
    return similarity_dir(root) / "global-test"


def test_adds_go_to_small_part_files_and_load_back_in_order(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    index = GlobalIndex("test", [], np.zeros((0, 32), np.float32))
    first = _unit(rng, 40)
    index.add([f"{i:064x}" for i in range(40)], first)
    index.save(tmp_path)
    assert sorted(p.name for p in _folder(tmp_path).iterdir()) == ["base.npz"]
    extra = _unit(rng, 3)
    for i in range(3):  # one image at a time, as an incremental import adds them
        index.add([f"new{i:061d}"], extra[i : i + 1])
        index.save(tmp_path)
    assert sorted(p.name for p in _folder(tmp_path).iterdir()) == [
        "base.npz",
        "part-000001.npz",
        "part-000002.npz",
        "part-000003.npz",
    ]
    loaded = GlobalIndex.load(tmp_path, "test")
    assert loaded is not None
    assert loaded.digests == index.digests and np.array_equal(loaded.vectors, np.concatenate([first, extra]))
    _, nn = loaded.search(extra[2:3], 1)
    assert loaded.digests[int(nn[0, 0])] == "new" + "2".zfill(61)


def test_parts_fold_into_the_base_once_they_add_up_to_a_quarter(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    index = GlobalIndex("test", [], np.zeros((0, 32), np.float32))
    index.add([f"{i:064x}" for i in range(8)], _unit(rng, 8))
    index.save(tmp_path)
    index.add(["a" * 64], _unit(rng, 1))
    index.save(tmp_path)
    assert (_folder(tmp_path) / "part-000001.npz").exists()
    index.add(["b" * 64, "c" * 64, "d" * 64], _unit(rng, 3))  # 3 > 9 / 4: a new base
    index.save(tmp_path)
    assert sorted(p.name for p in _folder(tmp_path).iterdir()) == ["base.npz"]
    loaded = GlobalIndex.load(tmp_path, "test")
    assert loaded is not None and loaded.digests == index.digests


def test_a_part_left_behind_by_an_interrupted_compaction_is_not_added_twice(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    index = GlobalIndex("test", [], np.zeros((0, 32), np.float32))
    index.add([f"{i:064x}" for i in range(8)], _unit(rng, 8))
    index.save(tmp_path)
    index.add(["a" * 64], _unit(rng, 1))
    index.save(tmp_path)
    part = (_folder(tmp_path) / "part-000001.npz").read_bytes()
    index.add(["b" * 64, "c" * 64, "d" * 64], _unit(rng, 3))
    index.save(tmp_path)  # base rewritten with everything; the part would have been deleted next
    (_folder(tmp_path) / "part-000001.npz").write_bytes(part)
    loaded = GlobalIndex.load(tmp_path, "test")
    assert loaded is not None and loaded.digests == index.digests


def test_large_indexes_use_an_inverted_file_that_is_saved_and_reopened(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(index_module, "IVF_FROM", 2000)
    rng = np.random.default_rng(3)
    vectors = _unit(rng, 2400)
    duplicates = vectors[:20] + 0.05 * _unit(rng, 20)
    duplicates /= np.linalg.norm(duplicates, axis=1, keepdims=True)
    index = GlobalIndex("test", [], np.zeros((0, 32), np.float32))
    index.add([f"{i:064x}" for i in range(2400)], vectors)
    index.save(tmp_path)
    assert isinstance(index.faiss_index(), index_module.faiss.IndexIVF)
    assert (_folder(tmp_path) / "ivf.faiss").exists()
    loaded = GlobalIndex.load(tmp_path, "test")
    assert loaded is not None
    loaded.add([f"dup{i:061d}" for i in range(20)], duplicates)  # after the IVF was written
    reopened = loaded.faiss_index()
    assert isinstance(reopened, index_module.faiss.IndexIVF) and reopened.ntotal == 2420
    _, nn = loaded.search(vectors[:20], 2)
    found = sum(f"dup{i:061d}" in {loaded.digests[j] for j in row} for i, row in enumerate(nn))
    assert found >= 18


def test_projection_whitens_reduces_and_skips_tiny_training_sets() -> None:
    rng = np.random.default_rng(4)
    assert fit_projection(rng.standard_normal((2 * MIN_DIMENSIONS - 2, 500)).astype(np.float32)) is None
    raw = rng.standard_normal((300, 500)).astype(np.float32) * np.linspace(0.1, 5, 500, dtype=np.float32)
    projection = fit_projection(raw, 64)
    assert projection is not None and projection.dimensions == 64
    out = projection.apply(raw)
    assert out.shape == (300, 64) and np.allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-5)
    unnormalised = (raw - projection.mean) @ projection.components.T
    spread = unnormalised.std(axis=0)  # square-root whitened: the spread is the square root of the original's
    full = fit_projection(raw, 64, power=1.0)
    assert full is not None
    assert np.allclose(((raw - full.mean) @ full.components.T).std(axis=0), 1.0, atol=0.1)  # full: unit variance
    sigma = 1.0 / np.linalg.norm(full.components, axis=1)  # full whitening divides unit axes by sigma
    assert np.allclose(spread, np.sqrt(sigma), rtol=0.05)
    assert spread.max() / spread.min() > 1.1  # not flattened: strong components still weigh more


def test_fit_and_project_gives_the_training_vectors_projection_for_free() -> None:
    rng = np.random.default_rng(8)
    raw = (rng.standard_normal((120, 900)) * np.geomspace(10, 0.1, 900)).astype(np.float32)
    projection, projected = fit_and_project(raw, 32)
    assert projection is not None and projected is not None and projected.shape == (120, 32)
    assert np.allclose(projected, projection.apply(raw), atol=1e-4)
    assert fit_and_project(raw[:20], 32) == (None, None)  # too few to learn a projection


def test_vlad_encoding_matches_the_textbook_sum_of_residuals() -> None:
    rng = np.random.default_rng(5)
    codebook = rng.random((8, vlad.BITS)).astype(np.float32)
    descriptors = rng.integers(0, 256, (300, 32), dtype=np.uint8)
    x = vlad.unpack(descriptors)
    nearest = np.argmin(((x[:, None, :] - codebook[None]) ** 2).sum(2), axis=1)
    residuals = np.stack([(x[nearest == k] - codebook[k]).sum(0) for k in range(8)])
    residuals /= np.maximum(np.linalg.norm(residuals, axis=1, keepdims=True), 1e-12)
    expected = np.sign(residuals) * np.sqrt(np.abs(residuals))
    expected = expected.ravel() / np.linalg.norm(expected)
    assert np.allclose(vlad.encode(descriptors, codebook), expected, atol=1e-5)


def test_projection_from_the_gram_matrix_equals_the_randomized_pca() -> None:
    from keepsight.descriptors.reduce import _fit_randomized

    rng = np.random.default_rng(6)
    raw = (rng.standard_normal((200, 800)) * np.geomspace(20, 0.1, 800)).astype(np.float32)
    exact, randomized = fit_projection(raw, 16), _fit_randomized(raw, 16, 0)
    assert exact is not None
    cosines = np.abs((exact.components * randomized.components).sum(1))
    cosines /= np.linalg.norm(exact.components, axis=1) * np.linalg.norm(randomized.components, axis=1)
    assert np.all(cosines[:8] > 0.999)  # the same leading axes, up to sign (the randomized SVD's last ones are rough)
    scales = np.linalg.norm(exact.components, axis=1), np.linalg.norm(randomized.components, axis=1)
    assert np.allclose(scales[0][:8], scales[1][:8], rtol=1e-3)  # and the same whitening


def test_an_index_whitened_otherwise_is_learned_again(tmp_path: Path) -> None:
    from keepsight.descriptors.compute import Description
    from keepsight.descriptors.reduce import WHITEN_POWER

    rng = np.random.default_rng(9)
    descs = {
        f"{i:064x}": Description(
            f"{i:064x}",
            100,
            100,
            "L",
            1.0,
            {},
            0,
            0,
            np.zeros((200, 4), np.float32),
            rng.integers(0, 256, (200, 32), dtype=np.uint8),
        )
        for i in range(60)
    }
    index = index_module.vlad_index(tmp_path, list(descs), descs.__getitem__)
    assert index.projection is not None and index.whiten_power == WHITEN_POWER
    assert GlobalIndex.load(tmp_path, "vlad").whiten_power == WHITEN_POWER  # type: ignore[union-attr]
    kept = index_module.vlad_index(tmp_path, list(descs), descs.__getitem__)
    assert np.array_equal(kept.codebook, index.codebook)  # type: ignore[arg-type]  # loaded, not learned again
    # an index from before the power was stored (fully whitened): loaded as power 1, then replaced
    with np.load(_folder(tmp_path).with_name("global-vlad") / "base.npz") as z:
        arrays = {k: z[k] for k in z.files if k != "whiten_power"}
    old = index.project(np.stack([vlad.encode(d.descriptors, index.codebook) for d in descs.values()]))  # type: ignore[arg-type]
    arrays["vectors"] = old + 1.0  # marks the old vectors
    np.savez(_folder(tmp_path).with_name("global-vlad") / "base.npz", **arrays)
    assert GlobalIndex.load(tmp_path, "vlad").whiten_power == 1.0  # type: ignore[union-attr]
    again = index_module.vlad_index(tmp_path, list(descs), descs.__getitem__)
    assert again.whiten_power == WHITEN_POWER and np.allclose(np.linalg.norm(again.vectors, axis=1), 1.0, atol=1e-4)
