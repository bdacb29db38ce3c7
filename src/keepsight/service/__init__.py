"""The team service: ``keepsight serve`` runs a REST API (FastAPI) over one dataset.

Users and roles, tasks split into jobs, review, blind consensus and gold images, resumable
uploads (tus 1.0) and signed export links. See ``docs/service.md``.

This package is imported by ``keepsight.config`` for its config model, so it stays light:
the web framework is imported only by :func:`create_app`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from keepsight.service.config import ServiceConfig

if TYPE_CHECKING:
    from pathlib import Path

    from fastapi import FastAPI

    from keepsight.dataset import Dataset


def create_app(dataset: Dataset | Path | str, *, settings: ServiceConfig | None = None) -> FastAPI:
    """The FastAPI application serving ``dataset`` (a :class:`~keepsight.Dataset` or its folder)."""
    from keepsight.service.app import create_app as _create_app

    return _create_app(dataset, settings=settings)


__all__ = ["ServiceConfig", "create_app"]
