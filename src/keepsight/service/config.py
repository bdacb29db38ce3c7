"""The ``service:`` section of ``keepsight.yaml``: how ``keepsight serve`` runs (pydantic only)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

DEFAULT_RULES = [
    "One class is one defect type: never put two defect types under one class; ask for a new class instead.",
    "Never annotate images that carry drawn markings (pen circles, arrows, measurement overlays): reject them.",
    "Draw each defect as tightly as the tool allows; a defect cut by the image border is drawn to the border.",
]


class ServiceConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    host: str = Field("127.0.0.1", description="interface `keepsight serve` listens on; 0.0.0.0 to serve a team")
    port: int = Field(8765, ge=1, le=65535, description="TCP port of `keepsight serve`")
    workers: int = Field(1, ge=1, description="worker processes of `keepsight serve` behind its port; they share state through the catalog")
    session_hours: float = Field(12.0, gt=0, description="lifetime of the token a password login returns")
    job_size: int = Field(50, ge=1, description="images per job when a task does not say")
    max_upload_bytes: int = Field(2 * 1024**3, ge=1, description="largest file an upload may declare (Upload-Length)")
    max_chunk_bytes: int = Field(16 * 1024**2, ge=1, description="largest body of one upload PATCH request")
    max_archive_members: int = Field(100_000, ge=1, description="most files an uploaded zip may hold")
    max_archive_bytes: int = Field(20 * 1024**3, ge=1, description="largest total uncompressed size of an uploaded zip")
    upload_expiry_hours: float = Field(72.0, gt=0, description="unfinished uploads older than this are discarded")
    link_ttl_seconds: int = Field(3600, ge=1, description="lifetime of a signed export download link")
    match_iou: float = Field(0.5, gt=0, le=1, description="IoU at which two regions count as the same object")
    line_tolerance: float = Field(5.0, gt=0, description="pixels around polylines and points when comparing them")
    secure_cookies: bool = Field(False, description="mark the session cookie Secure (set it when served over HTTPS)")
    password_time_cost: int = Field(3, ge=1, description="argon2id passes per password hash")
    login_max_failures: int = Field(5, ge=1, description="failed sign-ins per user name within the window before sign-ins for that name are refused (429)")
    login_max_failures_per_address: int = Field(50, ge=1, description="failed sign-ins from one client address within the window before that address is refused")
    login_window_seconds: float = Field(900.0, gt=0, description="window over which failed sign-ins are counted; a refusal lasts until the oldest failure leaves it")
    password_memory_kib: int = Field(65536, ge=8, description="argon2id memory per password hash, in KiB")
    rules: list[str] = Field(default_factory=lambda: list(DEFAULT_RULES),
                             description="rules every annotator reads on the label-book page")
