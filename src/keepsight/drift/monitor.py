"""The monitor: observe production images one by one, test each window, raise alarms, fire policies.

    monitor = Monitor(ds)                       # loads (or builds) the reference of the current version
    monitor.observe("cam1/0001.jpg", prediction={"label": "scratch", "confidence": 0.93})
    ...
    session = monitor.finish()                  # tests the trailing window, saves the run

Every monitoring session is a saved run (kind ``drift``): one JSON file per window under
``windows/``, ``alarms.json``, and ``session.json`` when finished (what ``--json`` writes and
the HTML report reads).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from keepsight.dataset import Dataset
from keepsight.drift import lineage
from keepsight.drift.analysis import Alarm, WindowResult, analyse_window
from keepsight.drift.config import DriftConfig
from keepsight.drift.features import Prediction, image_bytes
from keepsight.drift.observation import Observation, observe_bytes
from keepsight.drift.policies import Firing, PolicyEngine
from keepsight.drift.pool import CandidatePool
from keepsight.drift.reference import ReferenceProfile, reference_dir, reference_for
from keepsight.drift.requests import RetrainRequest, create_request
from keepsight.drift.windows import Clock, CountWindows, TimeWindows, system_clock
from keepsight.errors import DatasetError
from keepsight.runs import Run, fingerprint, finish_run, start_run
from keepsight.storage.blobs import atomic_write_bytes

KIND = "drift"
PredictionLike = Prediction | dict[str, Any] | tuple[Any, ...] | str | None


@dataclass
class DriftSession:
    """What a monitoring session or batch check found (``as_dict`` is the ``--json`` document)."""

    run_id: str
    run_folder: Path
    reference: dict[str, Any]
    images: int
    windows: list[WindowResult] = field(default_factory=list)
    alarms: list[Alarm] = field(default_factory=list)
    requests: list[RetrainRequest] = field(default_factory=list)
    skipped: list[dict[str, str]] = field(default_factory=list)  # files that could not be read

    def as_dict(self, *, observations: bool = False) -> dict[str, Any]:
        return {
            "run": self.run_id, "reference": self.reference, "images": self.images,
            "windows": [w.as_dict(observations=observations) for w in self.windows],
            "alarms": [a.as_dict() for a in self.alarms],
            "requests": [r.as_dict() for r in self.requests],
            "skipped": self.skipped,
            "summary": {"windows": len(self.windows), "drifted_windows": sum(w.drifted for w in self.windows),
                        "alarms": len(self.alarms), "categories": sorted({a.category for a in self.alarms}),
                        "requests": len(self.requests)},
        }


def _baseline_path(ds: Dataset, version: str) -> Path:
    return reference_dir(ds, version) / "predictions-baseline.json"


class Monitor:
    """Follows one stream of production images against the reference of the dataset's current version."""

    def __init__(self, ds: Dataset, *, config: DriftConfig | None = None, clock: Clock | None = None,
                 reference: ReferenceProfile | None = None, source: str = "api",
                 progress: Callable[[int, int], None] | None = None,
                 on_window: Callable[[WindowResult], None] | None = None,
                 on_alarm: Callable[[Alarm], None] | None = None,
                 on_request: Callable[[RetrainRequest], None] | None = None) -> None:
        self.ds = ds
        self.config = config or ds.config.drift
        self.clock = clock or system_clock
        self.reference = reference or reference_for(ds, config=self.config, progress=progress)
        self.version = self.reference.version
        self.models = lineage.affected_models(ds, self.version)
        self.windowing: CountWindows[Observation] | TimeWindows[Observation] = (
            TimeWindows(self.config.window.seconds) if self.config.window.seconds
            else CountWindows(self.config.window.size, self.config.window.step))
        self.windows: list[WindowResult] = []
        self.alarms: list[Alarm] = []
        self.requests: list[RetrainRequest] = []
        self.skipped: list[dict[str, str]] = []
        self.count = 0
        self.on_window, self.on_alarm, self.on_request = on_window, on_alarm, on_request
        self.baseline = self._load_baseline()
        self.run: Run = start_run(
            ds, KIND, {"source": source, "drift": self.config.model_dump(mode="json", exclude={"policies"})},
            fingerprint=fingerprint([self.reference.fingerprint, source, self.clock().isoformat()]),
            dataset_version=self.version)
        self.pool = CandidatePool(self.config.selection.pool, self.run.folder / "spool")
        self.policies = PolicyEngine(ds, list(self.config.policies), clock=self.clock)
        self.finished = False

    # -- predictions baseline ----------------------------------------------------------------

    def _load_baseline(self) -> list[Prediction]:
        path = _baseline_path(self.ds, self.version)
        if not path.exists():
            return []
        try:
            rows = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise DatasetError(f"corrupt predictions baseline: {exc}", path=path) from None
        return [Prediction(r.get("label"), r.get("confidence")) for r in rows]

    def _maybe_set_baseline(self, obs: list[Observation]) -> bool:
        """The first full window of predictions becomes the baseline later windows are compared with."""
        preds = [o.prediction for o in obs if o.prediction is not None]
        if self.baseline or len(preds) < self.config.window.min_images:
            return False
        self.baseline = preds
        atomic_write_bytes(_baseline_path(self.ds, self.version),
                           json.dumps([p.as_dict() for p in preds]).encode("utf-8"))
        return True

    # -- the stream ----------------------------------------------------------------------------

    def observe(self, image: bytes | str | Path | Any, prediction: PredictionLike = None, *,
                name: str | None = None, at: datetime | None = None, source: Path | None = None) -> list[WindowResult]:
        """Add one image (bytes, a file path, or a uint8 array); returns the windows this closed.

        ``source``: the file the bytes were read from, so the image is referenced rather than spooled.
        """
        if self.finished:
            raise DatasetError("this monitor has finished; start a new one")
        data, path = image_bytes(image)
        path = path or source
        obs = observe_bytes(self.reference, data, index=self.count, name=name or (path.name if path else ""),
                            at=at or self.clock(), prediction=Prediction.coerce(prediction), path=path)
        if not obs.name:
            obs.name = obs.digest[:16]
        self.count += 1
        self.pool.add(obs, None if path is not None else data)
        return self._close(self.windowing.add(obs))

    def skip(self, name: str, reason: str) -> None:
        """Record an input that could not be observed (unreadable file)."""
        self.skipped.append({"name": name, "reason": reason})

    def tick(self) -> list[WindowResult]:
        """Close time windows that are due and evaluate the schedule and annotated-count policies."""
        closed = self._close(self.windowing.due(self.clock()))
        self._fire(self.policies.on_tick())
        return closed

    def finish(self) -> DriftSession:
        """Test the trailing window, evaluate policies once more, and save the session."""
        if not self.finished:
            self._close(self.windowing.flush())
            self._fire(self.policies.on_tick())
            self.finished = True
            session = self.session()
            self.run.write_json("session.json", session.as_dict())
            finish_run(self.ds, self.run, session.as_dict()["summary"])
            shutil.rmtree(self.run.folder / "spool", ignore_errors=True)
        return self.session()

    def session(self) -> DriftSession:
        return DriftSession(self.run.id, self.run.folder, self.reference.summary(), self.count, list(self.windows),
                            list(self.alarms), list(self.requests), list(self.skipped))

    # -- internals -------------------------------------------------------------------------------

    def _close(self, batches: list[list[Observation]]) -> list[WindowResult]:
        closed = []
        for obs in batches:
            index = len(self.windows)
            is_baseline = self._maybe_set_baseline(obs)
            window = analyse_window(self.reference, obs, self.config, index=index,
                                    baseline=None if is_baseline else self.baseline)
            self.windows.append(window)
            self.run.write_json(f"windows/{index:06d}.json", window.as_dict())
            self.pool.mark(window.first, window.last, window.category)
            if window.drifted:
                self._alarm(window)
            if self.on_window:
                self.on_window(window)
            self._fire(self.policies.on_window(window) + self.policies.on_tick())
            closed.append(window)
        return closed

    def _alarm(self, window: WindowResult) -> None:
        tested = [w for w in self.windows[:-1] if w.status == "tested"]
        previous = tested[-1] if tested else None
        last = self.alarms[-1] if self.alarms else None
        if (last is not None and previous is not None and last.last_window == previous.index
                and last.category == window.category):
            last.last_window, last.last_image, last.windows = window.index, window.last, last.windows + 1
        else:
            first = window.explanations[0]
            alarm = Alarm(id=len(self.alarms) + 1, category=first.category, message=first.message,
                          first_window=window.index, last_window=window.index, first_image=window.first,
                          last_image=window.last, started_at=window.end, version=self.version, models=self.models,
                          explanations=list(window.explanations), examples=window.examples)
            self.alarms.append(alarm)
            if self.on_alarm:
                self.on_alarm(alarm)
        self.run.write_json("alarms.json", [a.as_dict() for a in self.alarms])

    def _fire(self, firings: list[Firing]) -> None:
        for firing in firings:
            request = create_request(self.ds, firing, reference=self.reference, pool=self.pool, alarms=self.alarms,
                                     config=self.config)
            self.requests.append(request)
            if self.on_request:
                self.on_request(request)
