"""A small convolutional network trained from scratch for classification (PyTorch, lazily imported).

torch is in the ``models`` extra (``pip install -c constraints.txt 'keepsight[models]'``; the
pinned 2.13.0 is the CPU build). The GPU is used when one is present. Images are decoded once
(gray, or RGB when the pool has colour) and resized to ``side`` x ``side`` (the aspect ratio is
not kept). Augmentation in plain torch: random flips, 90-degree turns (``turns=True``, for
textures and parts without a fixed orientation) and brightness/contrast jitter. Training:
Adam, class-weighted cross-entropy, a fixed number of epochs (at least ``min_steps`` steps),
no early stopping (the test set is never looked at during training).

Limits: four conv blocks at 64 px learn textures and coarse shapes; without pretraining, a few
dozen images per class are not enough for it and the curve starts low; it is slower than the
feature classifier (minutes on a CPU for a full curve).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from keepsight.curves.items import CurveItem, Task
from keepsight.curves.trainers.base import PredictingTrainer, Progress
from keepsight.curves.trainers.features import decode_gray
from keepsight.dataset import Dataset
from keepsight.descriptors.compute import decode_reduced
from keepsight.errors import DatasetError


def require_torch() -> Any:
    try:
        import torch
    except ImportError:
        raise DatasetError("the cnn trainer needs PyTorch: pip install -c constraints.txt 'keepsight[models]' "
                           "(torch 2.13.0, the CPU build), or use --trainer features") from None
    return torch


def _network(torch: Any, channels: int, classes: int) -> Any:
    nn = torch.nn

    def block(cin: int, cout: int) -> list[Any]:
        return [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True),
                nn.MaxPool2d(2)]

    return nn.Sequential(*block(channels, 16), *block(16, 32), *block(32, 64), *block(64, 96),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(0.3), nn.Linear(96, classes))


def _augment(torch: Any, x: Any, generator: Any, turns: bool) -> Any:
    n = x.shape[0]
    flip_h = torch.rand(n, generator=generator) < 0.5
    flip_v = torch.rand(n, generator=generator) < 0.5
    x = torch.where(flip_h[:, None, None, None], x.flip(3), x)
    x = torch.where(flip_v[:, None, None, None], x.flip(2), x)
    if turns:
        k = int(torch.randint(0, 4, (1,), generator=generator))
        x = torch.rot90(x, k, dims=(2, 3))
    gain = 1.0 + 0.2 * (torch.rand(n, 1, 1, 1, generator=generator) - 0.5)
    shift = 0.2 * (torch.rand(n, 1, 1, 1, generator=generator) - 0.5)
    return x * gain + shift


def _has_colour(data: bytes) -> bool:
    """RGB files whose channels differ (NEU-DET, say, stores gray pixels as RGB: those count as gray)."""
    pixels, *_ = decode_reduced(data, work_side=64)
    if pixels.ndim == 2:
        return False
    spread = pixels.astype(np.int16).max(axis=2) - pixels.astype(np.int16).min(axis=2)
    return bool(np.percentile(spread, 99) > 8)


class CnnClassifier(PredictingTrainer):
    name = "cnn"
    task: Task = "classify"

    def __init__(self, *, side: int = 64, epochs: int = 25, min_steps: int = 150, batch: int = 32,
                 turns: bool = True, threads: int = 0) -> None:
        require_torch()
        self.side, self.epochs, self.min_steps, self.batch, self.turns = side, epochs, min_steps, batch, turns
        self.threads = threads
        self.images: dict[str, np.ndarray] = {}
        self.channels = 1
        self.classes: list[str] = []
        self.model: Any = None

    def params(self) -> dict[str, Any]:
        return {"version": 1, "side": self.side, "epochs": self.epochs, "min_steps": self.min_steps,
                "batch": self.batch, "turns": self.turns}

    def prepare(self, ds: Dataset, items: Sequence[CurveItem], progress: Progress | None = None) -> None:
        import cv2

        digests = list(dict.fromkeys(i.digest for i in items))
        colour = any(_has_colour(ds.blobs.get(d)) for d in digests[:50])
        for n, digest in enumerate(digests, 1):
            data = ds.blobs.get(digest)
            if colour:
                pixels, *_ = decode_reduced(data, work_side=self.side * 2)
                pixels = pixels if pixels.ndim == 3 else cv2.cvtColor(pixels, cv2.COLOR_GRAY2RGB)
            else:
                pixels = decode_gray(data, self.side * 2)
            small = cv2.resize(pixels, (self.side, self.side), interpolation=cv2.INTER_AREA)
            self.images[digest] = small[None] if small.ndim == 2 else small.transpose(2, 0, 1)
            if progress:
                progress(n, len(digests))
        self.channels = 3 if colour else 1

    def _tensor(self, torch: Any, items: Sequence[CurveItem]) -> Any:
        x = np.stack([self.images[i.digest] for i in items]).astype(np.float32) / 255.0
        return (torch.from_numpy(x) - 0.5) / 0.25

    def fit(self, train: Sequence[CurveItem], *, seed: int) -> None:
        torch = require_torch()
        if self.threads:
            torch.set_num_threads(self.threads)
        device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
        torch.manual_seed(seed)
        generator = torch.Generator().manual_seed(seed)
        self.classes = sorted({i.label for i in train})
        index = {c: k for k, c in enumerate(self.classes)}
        x = self._tensor(torch, train)
        y = torch.tensor([index[i.label] for i in train], dtype=torch.long)
        counts = torch.bincount(y, minlength=len(self.classes)).float()
        weights = (counts.sum() / (len(self.classes) * counts.clamp(min=1))).to(device)
        model = _network(torch, self.channels, max(2, len(self.classes))).to(device)
        optimiser = torch.optim.Adam(model.parameters(), lr=2e-3, weight_decay=1e-4)
        per_epoch = max(1, -(-len(train) // self.batch))
        steps = max(self.epochs * per_epoch, self.min_steps)
        scheduler = torch.optim.lr_scheduler.OneCycleLR(optimiser, max_lr=3e-3, total_steps=steps)
        loss_fn = torch.nn.CrossEntropyLoss(weight=weights if len(self.classes) > 1 else None)
        model.train()
        done = 0
        while done < steps:
            order = torch.randperm(len(train), generator=generator)
            for start in range(0, len(train), self.batch):
                pick = order[start : start + self.batch]
                xb = _augment(torch, x[pick], generator, self.turns).to(device)
                loss = loss_fn(model(xb), y[pick].to(device))
                optimiser.zero_grad()
                loss.backward()
                optimiser.step()
                scheduler.step()
                done += 1
                if done >= steps:
                    break
        self.model = model.eval()

    def predict(self, items: Sequence[CurveItem]) -> list[str]:
        torch = require_torch()
        if self.model is None:
            raise DatasetError("the network is not trained")
        device = next(self.model.parameters()).device
        out: list[str] = []
        with torch.inference_mode():
            for start in range(0, len(items), 256):
                logits = self.model(self._tensor(torch, items[start : start + 256]).to(device))
                out += [self.classes[int(k)] for k in logits.argmax(1).cpu()]
        return out
