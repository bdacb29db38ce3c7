"""Exports for download: ``export_dataset`` into a zip, fetched through a signed, expiring link.

The link is ``/exports/<id>/download?expires=<unix time>&signature=<hmac>``: an HMAC-SHA256
of the path and the expiry under the server's secret (``.keepsight/service-secret``),
compared in constant time. Anyone holding the link may download until it expires, so a
script or a training job needs no account; the response names the zip's sha256
(``X-Checksum-Sha256``) so the download can be verified.
"""

from __future__ import annotations

import os
import shutil
import uuid
import zipfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from keepsight.export import export_dataset
from keepsight.service.context import ServiceContext
from keepsight.service.errors import PermissionDenied
from keepsight.service.security import check_signature, signed_query
from keepsight.service.store import transfers
from keepsight.storage.blobs import digest_file


def download_path(export_id: str) -> str:
    return f"/exports/{export_id}/download"


def signed_link(ctx: ServiceContext, export_id: str) -> dict[str, Any]:
    path = download_path(export_id)
    expires, signature = signed_query(ctx.secret, path, ctx.settings.link_ttl_seconds)
    return {"url": f"{path}?expires={expires}&signature={signature}", "expires": expires}


def _zip_folder(folder: Path, dest: Path) -> None:
    with zipfile.ZipFile(dest, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                zf.write(path, path.relative_to(folder).as_posix())
    with dest.open("rb") as fh:
        os.fsync(fh.fileno())


def create(ctx: ServiceContext, *, format: str, splits: Iterable[str] | None, strict: bool,
           by: str) -> dict[str, Any]:
    export_id = uuid.uuid4().hex
    work = ctx.exports_dir / f".{export_id}.tmp"
    work.mkdir()
    try:
        report = export_dataset(ctx.ds, work / "export", format=format, strict=strict, splits=splits)
        archive = work / "export.zip"
        _zip_folder(work / "export", archive)
        final = ctx.exports_dir / f"{export_id}.zip"
        os.replace(archive, final)  # the zip appears whole or not at all
    finally:
        shutil.rmtree(work, ignore_errors=True)
    values = {"id": export_id, "format": format, "options": {"splits": list(splits or []), "strict": strict},
              "size": final.stat().st_size, "sha256": digest_file(final),
              "report": report.as_dict() | {"dest": None}, "created_by": by}
    with ctx.ds.transaction() as conn:
        transfers.insert_export(conn, values)
    return values


def file_for_link(ctx: ServiceContext, export_id: str, *, expires: int, signature: str) -> tuple[Path, dict[str, Any]]:
    """The export's zip if the link is genuine and unexpired; else PermissionDenied saying why."""
    problem = check_signature(ctx.secret, download_path(export_id), expires, signature)
    if problem is not None:
        raise PermissionDenied(problem)
    with ctx.ds.reading() as conn:
        row = transfers.get_export(conn, export_id)
    return ctx.exports_dir / f"{export_id}.zip", row
