"""An external trainer: the user's own command, run once per point on an export of that point's data.

For each point keepsight writes, under the point's work folder ``{workdir}``:

    {workdir}/data/          the train subset (split train) and the fixed test set (split test),
                             exported in ``export_format`` (default: image_folder for classify,
                             mvtec for anomaly, yolo for detect, coco for segment)
    {workdir}/samples.jsonl  one line per exported image: id, path (in the dataset), file (relative
                             to {data}), split, label (train lines only), group
    {workdir}/train.txt, test.txt   absolute paths of the exported train / test images
    {workdir}/out/           where the command writes its results

then runs the command template through the shell (working directory ``{workdir}``) with these
placeholders filled in (shell-quoted): ``{data}``, ``{data_yaml}`` (yolo exports), ``{train_dir}`` /
``{test_dir}`` (the folders named train / test inside the export), ``{train_list}``, ``{test_list}``,
``{manifest}``, ``{out}``, ``{workdir}``, ``{seed}``, ``{size}``, ``{task}``, ``{format}``,
``{classes}`` (comma-separated) and ``{python}`` (the Python running keepsight). Write ``{{`` and
``}}`` for literal braces.

The command must exit 0 and leave one of these in ``{out}``:

* ``predictions.jsonl``: one JSON object per image, naming it by ``file`` (as in samples.jsonl),
  ``path`` or ``id``, with ``label`` (classify) or ``score`` (anomaly: higher = more anomalous).
  Every test image needs a prediction; when every train image has one too, train metrics are
  computed as well. keepsight computes the metrics, the same way as for its built-in trainers.
* ``metrics.json``: ``{"test": {"score": s, "per_class": {...}}, "train": {...}}`` with scores in
  [0, 1], higher is better (e.g. mAP50 for detection). Required for detect and segment.

The test labels are in the export because evaluation tools (``yolo val``, anomalib) need them:
the command must use the test images for evaluation only, never to choose anything.
"""

from __future__ import annotations

import json
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from keepsight.curves.items import CurveItem, Task
from keepsight.curves.metrics import Metrics, anomaly_metrics, classification_metrics
from keepsight.curves.trainers.base import Evaluation, Progress
from keepsight.dataset import Dataset
from keepsight.errors import DatasetError, FormatError
from keepsight.formats.base import WriteContext
from keepsight.formats.registry import get_format
from keepsight.model.annotation import Annotation, Sample
from keepsight.model.labelbook import LabelBook
from keepsight.storage.blobs import open_blob_store

DEFAULT_FORMATS: dict[str, str] = {"classify": "image_folder", "anomaly": "mvtec", "detect": "yolo", "segment": "coco"}
PREDICTIONS, METRICS = "predictions.jsonl", "metrics.json"
LOG = "command.log"


@dataclass
class _PointView:
    """The ExportView of one point: samples with the split they play in this point; records where files go."""

    labelbook: LabelBook
    rows: list[tuple[Sample, list[Annotation]]]
    blobs_url: str
    root: Path
    written: dict[int, Path] = field(default_factory=dict)

    def samples(self) -> Iterable[tuple[Sample, list[Annotation]]]:
        yield from self.rows

    def copy_image(self, sample: Sample, dest: Path) -> None:
        open_blob_store(self.blobs_url, base=self.root).copy_to(sample.blob, dest)
        self.written[sample.id] = dest


class _Placeholders(dict[str, str]):
    def __missing__(self, key: str) -> str:
        raise DatasetError(f"the command uses {{{key}}}, which this export does not provide; "
                           f"known here: {', '.join('{' + k + '}' for k in sorted(self))}")


class ExternalTrainer:
    name = "command"

    def __init__(self, command: str, task: Task, *, export_format: str | None = None, timeout: float = 3600.0,
                 keep_exports: bool = False) -> None:
        if not command.strip():
            raise DatasetError("--command is empty")
        self.command, self.task, self.timeout, self.keep_exports = command, task, timeout, keep_exports
        self.export_format = export_format or DEFAULT_FORMATS[task]
        fmt = get_format(self.export_format)
        if not hasattr(fmt, "write"):
            raise FormatError(f"format {self.export_format!r} can be imported but not exported")
        self.rows: dict[int, tuple[Sample, list[Annotation]]] = {}
        self.labelbook = LabelBook()
        self.blobs_url, self.root = "", Path(".")

    def params(self) -> dict[str, Any]:
        return {"command": self.command, "export_format": self.export_format}

    def prepare(self, ds: Dataset, items: Sequence[CurveItem], progress: Progress | None = None) -> None:
        wanted = {i.sample_id for i in items}
        self.rows = {s.id: (s, anns) for s, anns in ds.samples_with_annotations() if s.id in wanted}
        self.labelbook = ds.labelbook()
        self.blobs_url, self.root = ds.config.blobs, ds.root

    # -- one point --------------------------------------------------------------------------

    def _export(self, train: Sequence[CurveItem], test: Sequence[CurveItem], data: Path) -> _PointView:
        rows = []
        for items, split in ((train, "train"), (test, "test")):
            for item in items:
                sample, anns = self.rows[item.sample_id]
                rows.append((_with_split(sample, split), anns))
        view = _PointView(self.labelbook, rows, self.blobs_url, self.root)
        if data.exists():
            shutil.rmtree(data)
        data.mkdir(parents=True)
        get_format(self.export_format).write(view, data, WriteContext())  # type: ignore[attr-defined]
        return view

    def evaluate(self, train: Sequence[CurveItem], test: Sequence[CurveItem], *, seed: int, workdir: Path,
                 metric: str) -> Evaluation:
        data, out = workdir / "data", workdir / "out"
        if out.exists():
            shutil.rmtree(out)
        out.mkdir(parents=True)
        view = self._export(train, test, data)
        files = {sid: path.relative_to(data).as_posix() for sid, path in view.written.items()}
        manifest = workdir / "samples.jsonl"
        with manifest.open("w", encoding="utf-8") as fh:
            for items, split in ((train, "train"), (test, "test")):
                for item in items:
                    # Test labels stay out of the manifest: predictions must not depend on them.
                    fh.write(json.dumps({"id": item.sample_id, "path": item.path, "file": files.get(item.sample_id),
                                         "split": split, "label": item.label if split == "train" else None,
                                         "group": item.group}) + "\n")
        lists = {}
        for items, split in ((train, "train"), (test, "test")):
            lists[split] = workdir / f"{split}.txt"
            lists[split].write_text("".join(f"{data / files[i.sample_id]}\n" for i in items if i.sample_id in files),
                                    encoding="utf-8")
        values = {
            "data": data, "out": out, "workdir": workdir, "manifest": manifest, "train_list": lists["train"],
            "test_list": lists["test"], "seed": seed, "size": len(train), "task": self.task,
            "format": self.export_format, "python": sys.executable,
            "classes": ",".join(sorted({i.label for i in [*train, *test]})),
        }
        for split in ("train", "test"):
            folder = _split_folder(data, [files[i.sample_id] for i in (train if split == "train" else test)
                                          if i.sample_id in files], split)
            if folder is not None:
                values[f"{split}_dir"] = folder
        if (data / "data.yaml").exists():
            values["data_yaml"] = data / "data.yaml"
        placeholders = _Placeholders({k: shlex.quote(str(v)) for k, v in values.items()})
        try:
            command = self.command.format_map(placeholders)
        except (ValueError, IndexError) as exc:
            raise DatasetError(f"bad command template {self.command!r}: {exc} (write {{{{ and }}}} for braces)") from None
        seconds = self._run(command, workdir)
        evaluation = self._read_results(train, test, out, files, metric)
        evaluation.details.update({"command_seconds": round(seconds, 3), "export_format": self.export_format})
        if not self.keep_exports:
            shutil.rmtree(data, ignore_errors=False)
        return evaluation

    def _run(self, command: str, workdir: Path) -> float:
        log = workdir / LOG
        t0 = time.perf_counter()
        with log.open("wb") as fh:
            try:
                done = subprocess.run(command, shell=True, cwd=workdir, stdout=fh, stderr=subprocess.STDOUT,
                                      timeout=self.timeout, check=False)
            except subprocess.TimeoutExpired:
                raise DatasetError(f"the trainer command ran longer than {self.timeout:g} s", path=log) from None
        if done.returncode != 0:
            tail = log.read_text(encoding="utf-8", errors="replace")[-800:].strip()
            raise DatasetError(f"the trainer command exited with status {done.returncode}: {tail}", path=log)
        return time.perf_counter() - t0

    def _read_results(self, train: Sequence[CurveItem], test: Sequence[CurveItem], out: Path,
                      files: dict[int, str], metric: str) -> Evaluation:
        if (out / PREDICTIONS).exists() and self.task in ("classify", "anomaly"):
            predicted = _read_predictions(out / PREDICTIONS, [*train, *test], files, self.task)
            missing = [i.path for i in test if i.sample_id not in predicted]
            if missing:
                raise DatasetError(f"{len(missing)} test image(s) have no prediction, e.g. {missing[0]!r}",
                                   path=out / PREDICTIONS)
            return Evaluation(test=self._metrics(test, predicted, metric),
                              train=self._metrics(train, predicted, metric)
                              if all(i.sample_id in predicted for i in train) else None)
        if (out / METRICS).exists():
            path = out / METRICS
            try:
                body = json.loads(path.read_text(encoding="utf-8"))
            except json.JSONDecodeError as exc:
                raise DatasetError(f"invalid JSON: {exc}", path=path) from None
            if not isinstance(body, dict) or not isinstance(body.get("test"), dict):
                raise DatasetError('expected {"test": {"score": ...}, "train": {...}}', path=path)
            train_metrics = body.get("train")
            return Evaluation(
                test=Metrics.from_dict(body["test"], where=f"{path} test"),
                train=Metrics.from_dict(train_metrics, where=f"{path} train") if isinstance(train_metrics, dict) else None,
            )
        wants = f"{PREDICTIONS} or {METRICS}" if self.task in ("classify", "anomaly") else METRICS
        raise DatasetError(f"the trainer command wrote no {wants}", path=out)

    def _metrics(self, items: Sequence[CurveItem], predicted: dict[int, Any], metric: str) -> Metrics:
        if self.task == "anomaly":
            return anomaly_metrics(items, [float(predicted[i.sample_id]) for i in items])
        return classification_metrics([i.label for i in items], [str(predicted[i.sample_id]) for i in items], metric)


def _with_split(sample: Sample, split: str) -> Sample:
    from dataclasses import replace

    return replace(sample, split=split)  # type: ignore[arg-type]


def _split_folder(data: Path, files: list[str], split: str) -> Path | None:
    """The folder named ``split`` that the export put this split's images under."""
    for rel in files:
        parts = Path(rel).parts
        if split in parts[:-1]:
            return data.joinpath(*parts[: parts.index(split) + 1])
    return None


def _read_predictions(path: Path, items: Sequence[CurveItem], files: dict[int, str], task: str) -> dict[int, Any]:
    by_file = {f: sid for sid, f in files.items()}
    by_path = {i.path: i.sample_id for i in items}
    known = {i.sample_id for i in items}
    key = "label" if task == "classify" else "score"
    out: dict[int, Any] = {}
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        where = f"line {n}"
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DatasetError(f"invalid JSON: {exc}", path=path, element=where) from None
        if not isinstance(row, dict) or key not in row:
            raise DatasetError(f"each line needs {key!r} and one of 'file', 'path', 'id'", path=path, element=where)
        sid = row.get("id") if row.get("id") in known else None
        if sid is None and "file" in row:
            sid = by_file.get(str(row["file"]))
        if sid is None and "path" in row:
            sid = by_path.get(str(row["path"]))
        if sid is None:
            raise DatasetError(f"names no exported image: {line.strip()[:120]}", path=path, element=where)
        if task == "anomaly" and not isinstance(row[key], int | float):
            raise DatasetError(f"'score' must be a number, got {row[key]!r}", path=path, element=where)
        out[int(sid)] = row[key]
    return out
