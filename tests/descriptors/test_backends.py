"""User-supplied model backends for the global descriptor."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

from keepsight.descriptors.backends import load_backend, preprocess
from keepsight.errors import DatasetError
from tests.similarity import synth


def test_model_file_must_exist_and_have_a_known_type(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="not found"):
        load_backend(tmp_path / "missing.onnx")
    odd = tmp_path / "model.bin"
    odd.write_bytes(b"x")
    with pytest.raises(DatasetError, match="unknown model file type"):
        load_backend(odd)


def test_preprocess_makes_a_normalised_rgb_tensor() -> None:
    x = preprocess(synth.encode_png(synth.scene(1)), 64)
    assert x.shape == (3, 64, 64) and x.dtype == np.float32
    assert np.allclose(x[0] * 0.229 + 0.485, x[1] * 0.224 + 0.456, atol=1e-5)  # gray in, equal channels


def _tiny_model():  # type: ignore[no-untyped-def]
    torch = pytest.importorskip("torch", reason="torch (CPU) is not installed: the model backends cannot be built")

    class Tiny(torch.nn.Module):  # a fixed random conv + pooling: deterministic, no training
        def __init__(self) -> None:
            super().__init__()
            torch.manual_seed(0)
            self.conv = torch.nn.Conv2d(3, 16, 5, stride=2)

        def forward(self, x):  # type: ignore[no-untyped-def]
            return torch.relu(self.conv(x)).mean(dim=(2, 3))

    return torch, Tiny().eval()


@pytest.mark.parametrize("kind", ["torchscript", "onnx"])
def test_model_backend_embeds_images(kind: str, tmp_path: Path) -> None:
    torch, model = _tiny_model()
    path = tmp_path / ("model.pt" if kind == "torchscript" else "model.onnx")
    example = torch.zeros(1, 3, 64, 64)
    if kind == "torchscript":
        with warnings.catch_warnings():  # building the user's file: torch deprecates jit.trace, not loading
            warnings.simplefilter("ignore", DeprecationWarning)
            torch.jit.save(torch.jit.trace(model, example), str(path))
    else:
        pytest.importorskip("onnxruntime", reason="onnxruntime is not installed")
        batch = torch.export.Dim("n")
        with warnings.catch_warnings():  # torch's exporter warns about its own internals
            warnings.simplefilter("ignore")
            torch.onnx.export(model, (example,), str(path), input_names=["x"], dynamic_shapes=({0: batch},))
    backend = load_backend(path, input_size=64)
    a = preprocess(synth.encode_png(synth.scene(1)), 64)
    b = preprocess(synth.encode_png(synth.scene(2)), 64)
    out = backend.embed(np.stack([a, b]))
    assert out.shape == (2, 16)
    assert not np.allclose(out[0], out[1])
    assert backend.name.startswith("model-")


def test_find_similar_searches_with_a_model_backend(tmp_path: Path) -> None:
    """The user model only proposes candidates; verification still decides, so no part is merged."""
    from keepsight.dataset import Dataset
    from keepsight.ingest.importer import import_path
    from keepsight.similarity import find_similar
    from keepsight.similarity.index import GlobalIndex
    from tests.similarity.conftest import write_captures

    torch, model = _tiny_model()
    path = tmp_path / "model.pt"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.jit.save(torch.jit.trace(model, torch.zeros(1, 3, 64, 64)), str(path))
    backend = load_backend(path, input_size=64)
    src = tmp_path / "src"
    src.mkdir()
    truth = write_captures(src, range(4), 1, seed=3)  # four parts on one fixture, two captures each
    with Dataset.init(tmp_path / "ds") as ds:
        import_path(ds, src, format="image_folder")
        result = find_similar(ds, backend=backend, regions=False)
        blobs = {s.blob for s in ds.samples()}
    stored = GlobalIndex.load(tmp_path / "ds", backend.name)
    assert stored is not None and set(stored.digests) == blobs and stored.vectors.shape[1] == 16
    assert sorted(sorted(truth[Path(p).name] for p in g.paths) for g in result.groups) == [[p, p] for p in range(4)]
