"""The ``audit:`` section of keepsight.yaml: which checks run, their thresholds, and the gate."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

FailOn = Literal["error", "warning", "never"]


class AuditConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    fail_on: FailOn = Field("error", description="the severity at which `keepsight audit` exits non-zero")
    disabled: list[str] = Field(default_factory=list, description="check ids that never run")
    checks: dict[str, dict[str, Any]] = Field(
        default_factory=dict,
        description="per-check params by check id, e.g. {'position.edge': {'margin': 16}}; see docs/audit.md",
    )
