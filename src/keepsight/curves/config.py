"""The ``curve:`` section of keepsight.yaml: defaults for ``keepsight curve`` (command-line options win)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class CurveConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    repeats: int = Field(3, ge=1, le=50, description="subsets (seeds) drawn per training-set size")
    seed: int = Field(0, ge=0, description="seed of the first repeat; repeat r uses seed + r")
    workers: int = Field(0, ge=0, description="points trained in parallel (processes); 0 = one per core")
    max_points: int = Field(7, ge=3, le=20, description="sizes in an automatic size ladder (halving from the full train split)")
    bootstrap: int = Field(300, ge=0, le=5000, description="bootstrap refits of the learning-curve model for its intervals")
    min_gain: float = Field(0.01, ge=0.0, le=1.0, description="a doubling of the data that is predicted to gain less than this is 'saturated'")
    overfit_gap: float = Field(0.10, ge=0.0, le=1.0, description="train score minus test score above which the diagnosis says overfitting")
    underfit_score: float = Field(0.85, ge=0.0, le=1.0, description="a train score below this (with a small gap) is diagnosed as underfitting")
    command_timeout: float = Field(3600.0, gt=0, description="seconds one run of an external trainer command may take")
    keep_exports: bool = Field(False, description="keep each point's exported images for an external trainer (else only its outputs)")
    cnn_epochs: int = Field(25, ge=1, description="epochs of the built-in CNN per point (at least cnn_min_steps optimiser steps)")
    cnn_min_steps: int = Field(150, ge=1, description="optimiser steps of the built-in CNN on small subsets")
    cnn_side: int = Field(64, ge=16, le=512, description="side in pixels the built-in CNN resizes images to")
    cnn_threads: int = Field(0, ge=0, description="torch threads per training process; 0 = torch's default "
                             "(1 in parallel workers). Use 1 on a machine shared with other jobs")
