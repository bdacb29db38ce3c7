"""Secrets: password hashes (argon2id), API tokens (hashed at rest), HMAC-signed expiring links."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from keepsight.config import STATE_DIR
from keepsight.errors import DatasetError
from keepsight.service.config import ServiceConfig
from keepsight.storage.blobs import atomic_write_bytes

TOKEN_PREFIX = "ks_"
SECRET_NAME = "service-secret"


class Passwords:
    """argon2id hashing with the cost the config asks for; old hashes are re-hashed on login."""

    def __init__(self, settings: ServiceConfig) -> None:
        self._hasher = PasswordHasher(time_cost=settings.password_time_cost, memory_cost=settings.password_memory_kib)
        self._decoy: str | None = None

    def decoy(self) -> str:
        """A hash to verify against when the user does not exist, so timing does not tell who does."""
        if self._decoy is None:
            self._decoy = self._hasher.hash(secrets.token_hex(16))
        return self._decoy

    def hash(self, password: str) -> str:
        if len(password) < 8:
            raise DatasetError("a password needs at least 8 characters")
        return self._hasher.hash(password)

    def verify(self, stored: str | None, password: str) -> bool:
        if not stored:
            return False
        try:
            return self._hasher.verify(stored, password)
        except (VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, stored: str) -> bool:
        return self._hasher.check_needs_rehash(stored)


def new_token() -> str:
    """A bearer token: 256 random bits. Only its sha256 is stored."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    # Tokens carry 256 bits of entropy, so a fast hash is enough at rest (no dictionary to guess from).
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def load_secret(root: Path) -> bytes:
    """The server's signing key in ``.keepsight/service-secret`` (created, mode 0600, on first use)."""
    path = root / STATE_DIR / SECRET_NAME
    if not path.exists():
        # Worker processes may start at once: the first one's key is everyone's.
        atomic_write_bytes(path, secrets.token_bytes(32), mode=0o600, exclusive=True)
    key = path.read_bytes()
    if len(key) < 32:
        raise DatasetError("the service secret is shorter than 32 bytes; delete it to make a new one", path=path)
    return key


def sign(key: bytes, path: str, expires: int) -> str:
    message = f"{path}\n{expires}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def signed_query(key: bytes, path: str, ttl_seconds: int, *, now: float | None = None) -> tuple[int, str]:
    """(expires, signature) for a link to ``path`` valid for ``ttl_seconds``."""
    expires = int((now if now is not None else time.time()) + ttl_seconds)
    return expires, sign(key, path, expires)


def check_signature(key: bytes, path: str, expires: int, signature: str, *, now: float | None = None) -> str | None:
    """None when the link is valid, else why it is not."""
    if expires < (now if now is not None else time.time()):
        return "the link has expired; ask for a new one"
    if not hmac.compare_digest(sign(key, path, expires), signature):
        return "the link's signature does not match"
    return None
