"""The dataset folder's readable config file, ``keepsight.yaml``."""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from keepsight.audit.config import AuditConfig
from keepsight.curves.config import CurveConfig
from keepsight.drift.config import DriftConfig
from keepsight.errors import DatasetError
from keepsight.service.config import ServiceConfig

CONFIG_NAME = "keepsight.yaml"
LABELBOOK_NAME = "labelbook.yaml"
STATE_DIR = ".keepsight"


class IngestConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    max_pixels: int = Field(100_000_000, description="decompression-bomb cap: larger images are refused")
    out_of_image_tolerance: float = Field(1.0, description="slack in pixels around the image when judging whether a region lies on it")
    mask_threshold: int = Field(128, ge=1, le=255, description="soft masks: foreground is pixel >= threshold")
    workers: int = Field(0, ge=0, description="decode/hash threads; 0 = one per core")
    batch_size: int = Field(200, ge=1, description="samples per catalog transaction while staging")


class DatasetConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    version: int = 1
    name: str = "dataset"
    catalog: str = f"sqlite:///{STATE_DIR}/catalog.db"
    blobs: str = f"{STATE_DIR}/blobs"
    ingest: IngestConfig = Field(default_factory=IngestConfig)
    audit: AuditConfig = Field(default_factory=AuditConfig)
    curve: CurveConfig = Field(default_factory=CurveConfig)
    drift: DriftConfig = Field(default_factory=DriftConfig)
    service: ServiceConfig = Field(default_factory=ServiceConfig)


def load_config(root: Path) -> DatasetConfig:
    path = root / CONFIG_NAME
    if not path.exists():
        raise DatasetError(f"not a keepsight dataset (no {CONFIG_NAME}); run 'keepsight init' first", path=root)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise DatasetError(f"invalid YAML: {exc}", path=path) from None
    try:
        return DatasetConfig.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise DatasetError(f"invalid config: {first['msg']}", path=path, element=where) from None


def dump_config(config: DatasetConfig) -> str:
    header = "# keepsight dataset config: see docs/configuration.md\n"
    return header + yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False)
