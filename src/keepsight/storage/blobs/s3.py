"""Blobs in an S3-compatible object store (AWS S3, MinIO, Ceph, moto...).

URL: ``s3://bucket/prefix?endpoint_url=http://127.0.0.1:9000&region=us-east-1``.
Credentials come from the usual AWS environment variables or config files. Each object is
uploaded with a SHA-256 checksum that the server verifies, so a corrupted upload is refused.
"""

from __future__ import annotations

import base64
from pathlib import Path
from urllib.parse import parse_qs, urlparse

from keepsight.errors import IntegrityError, StorageError
from keepsight.storage.blobs.base import BlobInfo, check_digest, digest_bytes


class S3BlobStore:
    def __init__(self, url: str) -> None:
        import boto3
        from botocore.config import Config

        parsed = urlparse(url)
        if parsed.scheme != "s3" or not parsed.netloc:
            raise StorageError(f"not an s3:// URL: {url!r}")
        query = {k: v[-1] for k, v in parse_qs(parsed.query).items()}
        self.url = url
        self.bucket = parsed.netloc
        self.prefix = parsed.path.strip("/")
        self._client = boto3.client(
            "s3",
            endpoint_url=query.get("endpoint_url"),
            region_name=query.get("region", "us-east-1"),
            config=Config(retries={"max_attempts": 5, "mode": "standard"}),
        )

    def _key(self, digest: str) -> str:
        check_digest(digest)
        key = f"{digest[:2]}/{digest[2:4]}/{digest}"
        return f"{self.prefix}/{key}" if self.prefix else key

    def ensure_bucket(self) -> None:
        from botocore.exceptions import ClientError

        try:
            self._client.head_bucket(Bucket=self.bucket)
        except ClientError:
            self._client.create_bucket(Bucket=self.bucket)

    def put(self, data: bytes, digest: str | None = None) -> BlobInfo:
        actual = digest_bytes(data)
        if digest is not None and digest != actual:
            raise IntegrityError(f"bytes do not match their digest: expected {digest}, got {actual}")
        if self.exists(actual):
            return BlobInfo(actual, len(data), created=False)
        checksum = base64.b64encode(bytes.fromhex(actual)).decode("ascii")
        self._call("put", actual, Key=self._key(actual), Body=data, ChecksumSHA256=checksum)
        self._verify_stored(actual, checksum, len(data))
        return BlobInfo(actual, len(data), created=True)

    def _verify_stored(self, digest: str, checksum: str, size: int) -> None:
        """Check what the server stored; a mismatch deletes the object and raises.

        Servers that keep the SHA-256 checksum (AWS S3, MinIO) echo it on HEAD and have
        already verified it on upload; for those that do not (some gateways, moto), the
        object is read back and hashed.
        """
        head = self._client.head_object(Bucket=self.bucket, Key=self._key(digest), ChecksumMode="ENABLED")
        stored = head.get("ChecksumSHA256")
        if stored is not None:
            intact = head.get("ContentLength") == size and stored.split("-")[0] == checksum
        else:
            body = self._call("get", digest, Key=self._key(digest))["Body"].read()
            intact = digest_bytes(body) == digest
        if not intact:
            self.delete(digest)
            raise IntegrityError(f"the store holds different bytes for blob {digest} than were sent; upload refused",
                                 path=self.url)

    def exists(self, digest: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self._client.head_object(Bucket=self.bucket, Key=self._key(digest))
            return True
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in {"404", "NoSuchKey", "NotFound"}:
                return False
            raise StorageError(f"cannot reach blob {digest}: {exc}", path=self.url) from None

    def get(self, digest: str) -> bytes:
        body = self._call("get", digest, Key=self._key(digest))["Body"].read()
        if digest_bytes(body) != digest:
            raise IntegrityError(f"blob {digest} is corrupt: its bytes no longer match the digest", path=self.url)
        return body  # type: ignore[no-any-return]

    def copy_to(self, digest: str, dest: Path) -> None:
        from keepsight.storage.blobs.local import atomic_write_bytes

        atomic_write_bytes(dest, self.get(digest))

    def delete(self, digest: str) -> None:
        self._call("delete", digest, Key=self._key(digest))

    def local_path(self, digest: str) -> Path | None:
        return None

    def _call(self, op: str, digest: str, **kwargs: object) -> dict:  # type: ignore[type-arg]
        from botocore.exceptions import BotoCoreError, ClientError

        method = {"put": self._client.put_object, "get": self._client.get_object,
                  "delete": self._client.delete_object}[op]
        try:
            return method(Bucket=self.bucket, **kwargs)  # type: ignore[no-any-return]
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code in {"NoSuchKey", "404"}:
                raise StorageError(f"blob {digest} is missing from the store", path=self.url) from None
            if "Checksum" in code or "BadDigest" in code:
                raise IntegrityError(f"the store refused blob {digest}: checksum mismatch", path=self.url) from None
            raise StorageError(f"{op} of blob {digest} failed: {exc}", path=self.url) from None
        except BotoCoreError as exc:
            raise StorageError(f"{op} of blob {digest} failed: {exc}", path=self.url) from None
