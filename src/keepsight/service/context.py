"""What every request handler shares: the dataset, the settings, the signing key, work folders."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from threading import Lock
from typing import Any

from fastapi import Request

from keepsight.config import STATE_DIR
from keepsight.dataset import Dataset
from keepsight.service.config import ServiceConfig
from keepsight.service.security import Passwords
from keepsight.service.throttle import LoginThrottle

SERVICE_DIR = "service"


@dataclass
class ServiceContext:
    ds: Dataset
    settings: ServiceConfig
    secret: bytes
    passwords: Passwords
    owns_dataset: bool = False  # opened by create_app from a folder: closed with the app
    logins: LoginThrottle = field(init=False)
    _findings: dict[str, dict[int, list[dict[str, Any]]]] = field(default_factory=dict)
    _findings_lock: Lock = field(default_factory=Lock)

    def __post_init__(self) -> None:
        self.logins = LoginThrottle(self.ds.transaction, max_per_user=self.settings.login_max_failures,
                                    max_per_address=self.settings.login_max_failures_per_address,
                                    window_seconds=self.settings.login_window_seconds)

    @property
    def dataset_key(self) -> str:
        """Memberships are per dataset: this dataset's name in ``keepsight.yaml``."""
        return self.ds.config.name

    @property
    def work_dir(self) -> Path:
        return self.ds.root / STATE_DIR / SERVICE_DIR

    @property
    def uploads_dir(self) -> Path:
        path = self.work_dir / "uploads"
        path.mkdir(parents=True, exist_ok=True)
        return path

    @property
    def exports_dir(self) -> Path:
        path = self.work_dir / "exports"
        path.mkdir(parents=True, exist_ok=True)
        return path

    def findings_index(self, run_id: str, load: Any) -> dict[int, list[dict[str, Any]]]:
        """An audit run's findings by sample id, loaded once per run (runs never change once done)."""
        with self._findings_lock:
            if run_id not in self._findings:
                if len(self._findings) >= 4:
                    self._findings.pop(next(iter(self._findings)))
                self._findings[run_id] = load()
            return self._findings[run_id]


def get_context(request: Request) -> ServiceContext:
    return request.app.state.keepsight  # type: ignore[no-any-return]
