"""The ``drift:`` section of keepsight.yaml: windows, thresholds, the reference and retraining policies.

Only pydantic here: ``keepsight.config`` imports this module, so it must not import the rest of keepsight.

Example::

    drift:
      window: {size: 30, step: 10}
      policies:
        - {name: weekly, kind: schedule, every: 7d, budget: 50}
        - {name: labelled, kind: annotated, count: 200}
        - name: on-drift
          kind: drift
          fire_after: 3        # consecutive drifted windows
          rearm_after: 3       # consecutive clean windows before it can fire again
          budget: 40
          webhook: http://ci.example/hooks/retrain
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

STATISTICS = ("brightness", "p5", "p50", "p95", "contrast", "focus", "grain", "saturation")
CATEGORIES = ("illumination", "contrast", "camera_moved", "focus_or_wear", "noise", "colour", "new_content",
              "appearance", "model_confidence", "class_mix")
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d|w)\s*$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_duration(text: str) -> timedelta:
    """``"30m"``, ``"12h"``, ``"7d"``, ``"2w"`` -> a timedelta."""
    match = _DURATION.match(text)
    if not match:
        raise ValueError(f"expected a duration like 30m, 12h, 7d or 2w, got {text!r}")
    return timedelta(seconds=float(match.group(1)) * _UNIT_SECONDS[match.group(2)])


class WindowConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    size: int = Field(30, ge=2, description="images per window (count windows)")
    step: int | None = Field(10, ge=1, description="images between two count windows (sliding); None = size (tumbling)")
    seconds: float | None = Field(None, gt=0, description="time windows: a window per this many seconds instead of counts")
    min_images: int = Field(15, ge=2, description="windows with fewer images are reported but not tested")

    @model_validator(mode="after")
    def _step_fits(self) -> WindowConfig:
        if self.step is not None and self.step > self.size:
            raise ValueError(f"window.step ({self.step}) cannot exceed window.size ({self.size})")
        return self


class ThresholdConfig(BaseModel):
    """A test flags drift when its p-value is below ``alpha`` AND its effect size reaches the threshold."""

    model_config = ConfigDict(extra="forbid")
    alpha: float = Field(0.001, gt=0, lt=1, description="significance level of every test")
    psi: float = Field(0.2, ge=0, description="minimum population stability index of a statistic, above its chance level")
    relative_change: float = Field(0.1, ge=0, description="minimum relative change of a statistic's median")
    novelty_fraction: float = Field(0.1, gt=0, le=1, description="minimum share of novel images for 'new content'")
    novelty_quantile: float = Field(0.99, gt=0.5, lt=1,
                                    description="an image is novel beyond this quantile of training's own nearest-neighbour distances")
    mmd: float = Field(0.05, ge=0, description="minimum squared MMD of the embeddings")
    moved_fraction: float = Field(0.2, gt=0, le=1, description="minimum share of images moved against the scene for 'camera moved'")
    shift_px: float = Field(8.0, ge=0, description="an image moved: translation of at least this (or training's own "
                                                   "99th-percentile spread if larger), original pixels")
    rotation_deg: float = Field(0.5, ge=0, description="an image moved: rotation of at least this, degrees")
    scale: float = Field(0.02, ge=0, description="an image moved: relative change of scale (zoom) of at least this")
    confidence_shift: float = Field(0.05, ge=0, description="minimum change of the median prediction confidence")
    class_mix: float = Field(0.2, ge=0, le=1, description="minimum Cramér's V of the predicted-class mix")


class ReferenceConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    max_images: int = Field(2000, ge=10, description="training images sampled into the reference profile")
    scene_images: int = Field(150, ge=5, description="training images aligned and median-stacked into the scene image")
    align_side: int = Field(384, ge=64, le=2048, description="long side of the scene image (registration resolution), pixels")
    seed: int = Field(0, description="seed of every sample and permutation")


class SelectionConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    pool: int = Field(2000, ge=10, description="recent production images kept as annotation candidates")
    max_remove_fraction: float = Field(0.2, ge=0, le=1,
                                       description="propose removals only when fewer training images than this share look obsolete")
    min_pool_for_removal: int = Field(100, ge=10,
                                      description="production images needed before a training image can be called obsolete")


class _PolicyBase(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(description="unique policy name (keys its saved state)")
    budget: int = Field(50, ge=0, description="production images to select for annotation when it fires")
    command: list[str] | None = Field(None, description="program and arguments to run when it fires")
    webhook: str | None = Field(None, description="URL to POST the retraining request to (JSON)")
    timeout: float = Field(60.0, gt=0, description="seconds allowed for the command or webhook")

    @field_validator("webhook")
    @classmethod
    def _http(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("webhook must be an http:// or https:// URL")
        return value


class SchedulePolicy(_PolicyBase):
    kind: Literal["schedule"] = "schedule"
    every: str = Field(description="fire this often: 30m, 12h, 7d, 2w")

    @field_validator("every")
    @classmethod
    def _duration(cls, value: str) -> str:
        parse_duration(value)
        return value


class AnnotatedPolicy(_PolicyBase):
    kind: Literal["annotated"] = "annotated"
    count: int = Field(ge=1, description="fire after this many newly annotated images in the dataset")


class DriftPolicy(_PolicyBase):
    kind: Literal["drift"] = "drift"
    fire_after: int = Field(3, ge=1, description="consecutive drifted windows needed to fire")
    rearm_after: int = Field(3, ge=1, description="consecutive clean windows needed before it can fire again")
    categories: list[str] = Field(default_factory=list, description="only these explanation categories count (empty = all)")

    @field_validator("categories")
    @classmethod
    def _known(cls, value: list[str]) -> list[str]:
        unknown = sorted(set(value) - set(CATEGORIES))
        if unknown:
            raise ValueError(f"unknown drift categories {unknown}; expected some of {list(CATEGORIES)}")
        return value


Policy = Annotated[SchedulePolicy | AnnotatedPolicy | DriftPolicy, Field(discriminator="kind")]


class DriftConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    window: WindowConfig = Field(default_factory=WindowConfig)
    thresholds: ThresholdConfig = Field(default_factory=ThresholdConfig)
    reference: ReferenceConfig = Field(default_factory=ReferenceConfig)
    selection: SelectionConfig = Field(default_factory=SelectionConfig)
    statistics: list[str] = Field(default_factory=lambda: list(STATISTICS),
                                  description="per-image statistics tested each window")
    permutations: int = Field(1000, ge=20, description="permutations of the MMD test (p-values resolve down to 1/(n+1))")
    policies: list[Policy] = Field(default_factory=list, description="when to request retraining")

    @field_validator("statistics")
    @classmethod
    def _stats(cls, value: list[str]) -> list[str]:
        unknown = sorted(set(value) - set(STATISTICS))
        if unknown:
            raise ValueError(f"unknown statistics {unknown}; expected some of {list(STATISTICS)}")
        return value

    @field_validator("policies")
    @classmethod
    def _unique(cls, value: list[SchedulePolicy | AnnotatedPolicy | DriftPolicy]) -> list:  # type: ignore[type-arg]
        names = [p.name for p in value]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"policy names must be unique, repeated: {dupes}")
        return value
