"""The trainers a curve can use, by name (an explicit table), plus the external command trainer."""

from __future__ import annotations

from keepsight.curves.config import CurveConfig
from keepsight.curves.items import Task
from keepsight.curves.trainers.base import Evaluation, PredictingTrainer, Trainer
from keepsight.curves.trainers.external import ExternalTrainer
from keepsight.errors import DatasetError

# name -> (task, what it is)
TRAINERS: dict[str, tuple[Task, str]] = {
    "features": ("classify", "logistic regression on texture features and a bag of ORB words (CPU, seconds)"),
    "cnn": ("classify", "a small CNN trained from scratch (PyTorch; GPU when present)"),
    "anomaly-knn": ("anomaly", "PatchCore-like nearest-neighbour distance of local patch features to good images"),
    "anomaly-global": ("anomaly", "nearest-neighbour distance of whole-image texture features to good images"),
    "anomaly-template": ("anomaly", "golden template with a per-pixel Gaussian (aligned images only)"),
}
DEFAULT_TRAINER: dict[str, str] = {"classify": "features", "anomaly": "anomaly-knn"}


def make_trainer(task: Task, name: str | None, command: str | None, config: CurveConfig, *,
                 export_format: str | None = None, workers: int = 1) -> Trainer:
    if command is not None:
        if name is not None:
            raise DatasetError("give either --trainer or --command, not both")
        return ExternalTrainer(command, task, export_format=export_format, timeout=config.command_timeout,
                               keep_exports=config.keep_exports)
    if task in ("detect", "segment"):
        raise DatasetError(f"keepsight has no built-in {task} trainer; plug in yours with --command "
                           "(e.g. --command 'yolo train data={data_yaml} ...' writing metrics.json), see docs/curves.md")
    name = name or DEFAULT_TRAINER[task]
    if name not in TRAINERS:
        raise DatasetError(f"unknown trainer {name!r}; built-in: {', '.join(TRAINERS)} (or --command)")
    if TRAINERS[name][0] != task:
        raise DatasetError(f"trainer {name!r} is for the {TRAINERS[name][0]} task, not {task}")
    if name == "features":
        from keepsight.curves.trainers.classify import FeatureClassifier

        return FeatureClassifier()
    if name == "cnn":
        from keepsight.curves.trainers.cnn import CnnClassifier

        return CnnClassifier(side=config.cnn_side, epochs=config.cnn_epochs, min_steps=config.cnn_min_steps,
                             threads=config.cnn_threads)
    from keepsight.curves.trainers.anomaly import GlobalKnnAnomaly, PatchKnnAnomaly, TemplateAnomaly

    return {"anomaly-knn": PatchKnnAnomaly, "anomaly-global": GlobalKnnAnomaly, "anomaly-template": TemplateAnomaly}[name]()


__all__ = ["DEFAULT_TRAINER", "TRAINERS", "Evaluation", "ExternalTrainer", "PredictingTrainer", "Trainer",
           "make_trainer"]
