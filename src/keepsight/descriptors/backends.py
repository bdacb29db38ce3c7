"""Pluggable global descriptors from a user-supplied model file (nothing is ever downloaded).

* ``*.onnx``: run with onnxruntime (CPU).
* ``*.pt`` / ``*.pth`` / ``*.ts``: a TorchScript module run with torch (CPU).

The model takes a float32 batch ``(N, 3, S, S)`` (RGB in [0, 1], ImageNet mean/std
normalised) and returns ``(N, D)`` or ``(N, D, ...)`` (spatial outputs are mean-pooled). The
vectors are L2-normalised and kept in ``global-model-<file hash>.npz`` so a digest is
embedded once per model file.
"""

from __future__ import annotations

import hashlib
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np

from keepsight.descriptors.compute import decode_reduced
from keepsight.errors import DatasetError
from keepsight.similarity.index import GlobalIndex

_MEAN = np.array([0.485, 0.456, 0.406], np.float32)
_STD = np.array([0.229, 0.224, 0.225], np.float32)


class GlobalBackend(Protocol):
    name: str

    def embed(self, batch: np.ndarray) -> np.ndarray: ...


def preprocess(data: bytes, size: int) -> np.ndarray:
    pixels, *_ = decode_reduced(data, work_side=max(size * 2, 64))
    rgb = cv2.cvtColor(pixels, cv2.COLOR_GRAY2RGB) if pixels.ndim == 2 else pixels
    x = cv2.resize(rgb, (size, size), interpolation=cv2.INTER_AREA).astype(np.float32) / 255.0
    return ((x - _MEAN) / _STD).transpose(2, 0, 1)


def _file_tag(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12]


class OnnxBackend:
    def __init__(self, path: Path, input_size: int = 224) -> None:
        try:
            import onnxruntime
        except ImportError:
            raise DatasetError("an ONNX model needs onnxruntime (pip install onnxruntime)", path=path) from None
        self.session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        self.input = self.session.get_inputs()[0].name
        self.input_size = input_size
        self.name = f"model-{_file_tag(path)}"

    def embed(self, batch: np.ndarray) -> np.ndarray:
        return np.asarray(self.session.run(None, {self.input: batch.astype(np.float32)})[0])


class TorchScriptBackend:
    def __init__(self, path: Path, input_size: int = 224) -> None:
        try:
            import torch
        except ImportError:
            raise DatasetError("a TorchScript model needs torch (CPU build)", path=path) from None
        self.torch = torch
        with warnings.catch_warnings():
            # torch 2.13 deprecates TorchScript in favour of torch.export, but users' existing
            # .pt files are TorchScript: loading them is the point of this backend.
            warnings.simplefilter("ignore", DeprecationWarning)
            self.module = torch.jit.load(str(path), map_location="cpu").eval()
        self.input_size = input_size
        self.name = f"model-{_file_tag(path)}"

    def embed(self, batch: np.ndarray) -> np.ndarray:
        with self.torch.inference_mode():
            return self.module(self.torch.from_numpy(batch.astype(np.float32))).numpy()


def load_backend(path: Path | str, input_size: int = 224) -> OnnxBackend | TorchScriptBackend:
    path = Path(path)
    if not path.is_file():
        raise DatasetError("model file not found", path=path)
    if path.suffix.lower() == ".onnx":
        return OnnxBackend(path, input_size)
    if path.suffix.lower() in (".pt", ".pth", ".ts"):
        return TorchScriptBackend(path, input_size)
    raise DatasetError("unknown model file type; expected .onnx, .pt, .pth or .ts", path=path)


def _normalise(out: np.ndarray) -> np.ndarray:
    out = out.reshape(out.shape[0], out.shape[1], -1).mean(axis=2) if out.ndim > 2 else out
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    return (out / np.maximum(norms, 1e-12)).astype(np.float32)


def model_index(
    root: Path,
    digests: Sequence[str],
    read: Callable[[str], bytes],
    backend: OnnxBackend | TorchScriptBackend,
    *,
    batch: int = 16,
) -> GlobalIndex:
    """The index of ``backend`` embeddings over ``digests``; only digests not embedded yet are run."""
    index = GlobalIndex.load(root, backend.name) or GlobalIndex(backend.name, [], np.zeros((0, 0), np.float32))
    new = [d for d in dict.fromkeys(digests) if d not in index.row]
    for start in range(0, len(new), batch):
        chunk = new[start : start + batch]
        x = np.stack([preprocess(read(d), backend.input_size) for d in chunk])
        index.add(chunk, _normalise(backend.embed(x)))
    if new:
        index.save(root)
    return index
