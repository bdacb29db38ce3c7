"""Resumable uploads: the server side of tus 1.0 (core, creation, checksum, termination, expiration).

1. ``POST /uploads`` with ``Upload-Length`` and ``Upload-Metadata`` (``filename`` and the
   ``sha256`` hex digest of the whole file, base64-encoded as tus wants; optional ``path``,
   ``split``, ``format``) opens a session: an empty ``.part`` file under
   ``.keepsight/service/uploads/``.
2. ``PATCH`` appends one chunk at ``Upload-Offset``. With ``Upload-Checksum: sha256 <base64>``
   the chunk is verified before it is written; a mismatch (460) or a dropped connection
   leaves the offset where it was, so the client resends just that chunk.
3. ``HEAD`` tells a client that lost track where to resume (``Upload-Offset``).
4. When the last byte arrives the whole file is hashed and compared with the declared
   sha256 *before* anything enters the catalog; then it is imported like ``keepsight import``
   (a zip is unpacked safely first, see ``archives.py``).
"""

from __future__ import annotations

import base64
import binascii
import fcntl
import hashlib
import os
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from keepsight.errors import DatasetError, FormatError, KeepsightError
from keepsight.formats.base import IMAGE_EXTENSIONS, safe_join
from keepsight.ingest.importer import import_path
from keepsight.service.context import ServiceContext
from keepsight.service.errors import ChecksumMismatch, NotFound, StateConflict, TooLarge
from keepsight.service.store import transfers
from keepsight.service.store.accounts import Principal
from keepsight.service.transfers.archives import extract_zip, remove_tree
from keepsight.storage.blobs import digest_file
from keepsight.storage.catalog.rows import now

TUS_VERSION = "1.0.0"
TUS_EXTENSIONS = "creation,checksum,termination,expiration"
CHECKSUM_ALGORITHMS = "sha256"
_HEX64 = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class Upload:
    id: str
    filename: str
    length: int
    received: int
    sha256: str
    state: str
    expires_at: datetime
    meta: dict[str, Any]
    result: dict[str, Any] | None
    error: str | None

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Upload:
        expires = row["expires_at"]
        expires = expires.replace(tzinfo=UTC) if expires.tzinfo is None else expires.astimezone(UTC)
        return cls(row["id"], row["filename"], int(row["length"]), int(row["received"]), row["sha256"],
                   row["state"], expires, dict(row["meta"]), row["result"], row["error"])


def parse_metadata(header: str | None) -> dict[str, str]:
    """``Upload-Metadata``: comma-separated ``key base64value`` pairs."""
    out: dict[str, str] = {}
    for pair in (header or "").split(","):
        pair = pair.strip()
        if not pair:
            continue
        key, _, value = pair.partition(" ")
        try:
            out[key] = base64.b64decode(value.strip(), validate=True).decode("utf-8") if value.strip() else ""
        except (binascii.Error, UnicodeDecodeError):
            raise DatasetError(f"Upload-Metadata value of {key!r} is not base64 of UTF-8 text") from None
    return out


def _part(ctx: ServiceContext, upload_id: str) -> Path:
    return ctx.uploads_dir / f"{upload_id}.part"


def create(ctx: ServiceContext, principal: Principal, *, length: int, metadata: dict[str, str]) -> Upload:
    settings = ctx.settings
    if length < 0:
        raise DatasetError("Upload-Length must not be negative")
    if length > settings.max_upload_bytes:
        raise TooLarge(f"the upload declares {length} bytes; the limit is {settings.max_upload_bytes}")
    filename = metadata.get("filename", "")
    digest = metadata.get("sha256", "").lower()
    if not filename:
        raise DatasetError("Upload-Metadata needs the file's name ('filename')")
    if not _HEX64.match(digest):
        raise DatasetError("Upload-Metadata needs 'sha256': the hex sha256 of the whole file, to verify it on arrival")
    target = metadata.get("path") or filename
    safe_join(Path("/"), target, origin=filename, element="path")  # refuses absolute paths and '..' up front
    suffix = Path(target).suffix.lower()
    if suffix != ".zip" and suffix not in IMAGE_EXTENSIONS:
        raise FormatError(f"uploads are images ({', '.join(sorted(IMAGE_EXTENSIONS))}) or .zip archives, "
                          f"not {suffix or 'files without an extension'}", path=target)
    _expire_old(ctx)
    upload_id = uuid.uuid4().hex
    _part(ctx, upload_id).touch()
    with ctx.ds.transaction() as conn:
        transfers.insert_upload(conn, {
            "id": upload_id, "user_id": principal.user_id, "filename": filename, "length": length, "sha256": digest,
            "meta": {k: v for k, v in metadata.items() if k != "sha256"},
            "expires_at": now() + timedelta(hours=settings.upload_expiry_hours)})
        return Upload.from_row(transfers.get_upload(conn, upload_id))


def _expire_old(ctx: ServiceContext) -> None:
    with ctx.ds.transaction() as conn:
        for upload_id in transfers.expired_uploads(conn, now()):
            transfers.finish_upload(conn, upload_id, state="failed", error="expired before it was complete")
            _part(ctx, upload_id).unlink(missing_ok=True)


def get(ctx: ServiceContext, principal: Principal, upload_id: str) -> Upload:
    """An upload its creator (or an admin) may see; expired ones are gone."""
    with ctx.ds.reading() as conn:
        row = transfers.get_upload(conn, upload_id)
    if row["user_id"] != principal.user_id and principal.role != "admin":
        raise NotFound(f"no upload {upload_id}")
    upload = Upload.from_row(row)
    if upload.state == "receiving" and upload.expires_at < now():
        raise NotFound(f"upload {upload_id} expired; start again")
    return upload


def parse_checksum(header: str) -> bytes:
    algorithm, _, value = header.strip().partition(" ")
    if algorithm.lower() != "sha256":
        raise DatasetError(f"Upload-Checksum algorithm {algorithm!r} is not supported; use sha256")
    try:
        return base64.b64decode(value.strip(), validate=True)
    except binascii.Error:
        raise DatasetError("Upload-Checksum value is not base64") from None


def append(ctx: ServiceContext, principal: Principal, upload_id: str, *, offset: int, data: bytes,
           checksum: str | None) -> Upload:
    """Write one chunk at ``offset``; on the last chunk verify the whole file and import it."""
    upload = get(ctx, principal, upload_id)
    if upload.state != "receiving":
        raise StateConflict(f"upload {upload_id} is {upload.state}; nothing more can be appended")
    if len(data) > ctx.settings.max_chunk_bytes:
        raise TooLarge(f"a chunk may hold {ctx.settings.max_chunk_bytes} bytes; this one holds {len(data)}")
    if checksum is not None and hashlib.sha256(data).digest() != parse_checksum(checksum):
        raise ChecksumMismatch(f"the chunk at offset {offset} does not match its Upload-Checksum; it was not "
                               "written: send it again")
    part = _part(ctx, upload_id)
    with part.open("r+b") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)  # one writer per upload, across threads and worker processes
        upload = get(ctx, principal, upload_id)
        if offset != upload.received:
            raise StateConflict(f"Upload-Offset {offset} does not match the server's offset {upload.received}; "
                                "ask with HEAD where to resume")
        if offset + len(data) > upload.length:
            raise DatasetError(f"the chunk would end at {offset + len(data)}, past Upload-Length {upload.length}")
        fh.seek(offset)
        fh.truncate()  # whatever an interrupted write left behind the offset goes
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
        with ctx.ds.transaction() as conn:
            if not transfers.advance_upload(conn, upload_id, offset=offset, length=len(data)):
                raise StateConflict(f"upload {upload_id} moved on meanwhile; ask with HEAD where to resume")
        if offset + len(data) == upload.length:
            return _finish(ctx, principal, upload_id, part)
    return get(ctx, principal, upload_id)


def _finish(ctx: ServiceContext, principal: Principal, upload_id: str, part: Path) -> Upload:
    upload = get(ctx, principal, upload_id)
    actual = digest_file(part)
    if actual != upload.sha256:
        _fail(ctx, upload_id, part, f"the file's sha256 is {actual} but the upload declared {upload.sha256}")
        raise ChecksumMismatch(f"the uploaded file does not match its declared sha256 ({upload.sha256}); "
                               "it was discarded and nothing was imported")
    staging = ctx.work_dir / "staging" / upload_id
    remove_tree(staging)
    staging.mkdir(parents=True)
    target = upload.meta.get("path") or upload.filename
    try:
        if Path(target).suffix.lower() == ".zip":
            extract_zip(part, staging, max_members=ctx.settings.max_archive_members,
                        max_bytes=ctx.settings.max_archive_bytes)
            fmt = upload.meta.get("format") or None
        else:
            dest = safe_join(staging, target, origin=upload.filename)
            dest.parent.mkdir(parents=True, exist_ok=True)
            os.replace(part, dest)
            fmt = upload.meta.get("format") or "image_folder"
        report = import_path(ctx.ds, staging, format=fmt, split=upload.meta.get("split") or None,
                             author=principal.name)
    except KeepsightError as exc:
        _fail(ctx, upload_id, part, exc.message)
        raise
    finally:
        remove_tree(staging)
    with ctx.ds.transaction() as conn:
        transfers.finish_upload(conn, upload_id, state="imported", result=report.as_dict())
    part.unlink(missing_ok=True)
    return get(ctx, principal, upload_id)


def _fail(ctx: ServiceContext, upload_id: str, part: Path, reason: str) -> None:
    with ctx.ds.transaction() as conn:
        transfers.finish_upload(conn, upload_id, state="failed", error=reason)
    part.unlink(missing_ok=True)


def terminate(ctx: ServiceContext, principal: Principal, upload_id: str) -> None:
    upload = get(ctx, principal, upload_id)
    if upload.state != "receiving":
        raise StateConflict(f"upload {upload_id} is {upload.state}")
    _fail(ctx, upload_id, _part(ctx, upload_id), "terminated by the client")
