"""The service's errors: keepsight errors that carry an HTTP status.

    KeepsightError
    ├── ServiceError (400)
    │   ├── NotAuthenticated (401)   no, unknown, expired or revoked token
    │   ├── PermissionDenied (403)   the role or the job's assignee does not allow it
    │   ├── NotFound (404)
    │   ├── TooLarge (413)           over a size limit of the config
    │   ├── PreconditionFailed (412) a tus request without ``Tus-Resumable: 1.0.0``
    │   ├── UnsupportedMediaType (415) a tus PATCH that is not ``application/offset+octet-stream``
    │   ├── TooManyRequests (429)    too many failed sign-ins: carries the seconds to wait
    │   └── ChecksumMismatch (460)   an upload chunk whose ``Upload-Checksum`` does not match
    └── ConflictError (409)
        ├── StateConflict            the job or item is not in a state that allows it
        └── RevisionConflict         the annotations changed since ``base_revision``: carries the current ones

Other keepsight errors map by class (see :func:`status_of`).
"""

from __future__ import annotations

from typing import Any

from keepsight.errors import (
    ConflictError,
    DatasetError,
    FormatError,
    IntegrityError,
    KeepsightError,
    StorageError,
)


class ServiceError(KeepsightError):
    status = 400


class NotAuthenticated(ServiceError):
    status = 401


class PermissionDenied(ServiceError):
    status = 403


class NotFound(ServiceError):
    status = 404


class PreconditionFailed(ServiceError):
    status = 412


class TooLarge(ServiceError):
    status = 413


class UnsupportedMediaType(ServiceError):
    status = 415


class TooManyRequests(ServiceError):
    status = 429

    def __init__(self, reason: str, *, retry_after: int) -> None:
        super().__init__(reason)
        self.retry_after = retry_after


class ChecksumMismatch(ServiceError):
    status = 460  # tus checksum extension: "Checksum Mismatch"


class StateConflict(ConflictError):
    pass


class RevisionConflict(ConflictError):
    """A save based on an old revision: the body of the 409 holds the current revision and content."""

    def __init__(self, reason: str, *, revision: int, annotations: list[dict[str, Any]]) -> None:
        super().__init__(reason)
        self.revision = revision
        self.annotations = annotations


def status_of(error: KeepsightError) -> int:
    if isinstance(error, ServiceError):
        return error.status
    if isinstance(error, ConflictError):
        return 409
    if isinstance(error, IntegrityError):
        return 422  # bytes that do not match the hash they were sent with
    if isinstance(error, FormatError):
        return 422
    if isinstance(error, StorageError):
        return 500
    if isinstance(error, DatasetError):
        return 400
    return 400
