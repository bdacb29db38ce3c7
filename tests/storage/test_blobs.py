from __future__ import annotations

import stat
from pathlib import Path

import pytest

from keepsight.errors import IntegrityError
from keepsight.storage.blobs import LocalBlobStore, atomic_write_bytes, digest_bytes, open_blob_store


@pytest.fixture
def store(blob_url: str, tmp_path: Path):  # type: ignore[no-untyped-def]
    store = open_blob_store(blob_url, base=tmp_path)
    if blob_url.startswith("s3://"):
        store.ensure_bucket()
    return store


def test_put_is_content_addressed_and_idempotent(store, tmp_path: Path) -> None:
    data = b"\x89PNG fake image bytes" * 100
    first = store.put(data)
    second = store.put(data)
    assert first.digest == digest_bytes(data) and first.created and not second.created
    assert store.exists(first.digest)
    assert store.get(first.digest) == data
    store.copy_to(first.digest, tmp_path / "copy" / "x.png")
    assert (tmp_path / "copy" / "x.png").read_bytes() == data
    store.delete(first.digest)
    assert not store.exists(first.digest)


def test_put_refuses_bytes_that_do_not_match_the_digest(store) -> None:
    with pytest.raises(IntegrityError, match="do not match"):
        store.put(b"abc", "0" * 64)
    assert not store.exists("0" * 64)


def test_local_store_detects_corruption_and_leaves_no_temporary_files(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path / "blobs")
    info = store.put(b"hello world")
    path = store.local_path(info.digest)
    assert path is not None and path.read_bytes() == b"hello world"
    path.write_bytes(b"hello w0rld")
    with pytest.raises(IntegrityError, match="corrupt"):
        store.get(info.digest)
    assert not [p for p in (tmp_path / "blobs").rglob(".tmp-*")]


def test_s3_store_refuses_bytes_corrupted_in_transit(s3_server: str) -> None:
    """Bytes altered between keepsight and the server are caught by the read-back checksum."""
    from keepsight.storage.blobs.s3 import S3BlobStore

    store = S3BlobStore(f"s3://ks-corrupt/b?endpoint_url={s3_server}")
    store.ensure_bucket()
    real_put = store._client.put_object

    def flip_a_byte(**kwargs):  # type: ignore[no-untyped-def]
        body = bytearray(kwargs.pop("Body"))
        body[0] ^= 0xFF
        kwargs.pop("ChecksumSHA256")
        return real_put(Body=bytes(body), **kwargs)

    store._client.put_object = flip_a_byte  # type: ignore[method-assign]
    data = b"image bytes" * 50
    with pytest.raises(IntegrityError, match="different bytes"):
        store.put(data)
    assert not store.exists(digest_bytes(data))


def test_atomic_writes_get_the_umask_mode_and_secrets_their_own(tmp_path: Path) -> None:
    atomic_write_bytes(tmp_path / "report.html", b"<html></html>")
    atomic_write_bytes(tmp_path / "token.json", b"{}", mode=0o600)
    # What open() would give a new file under this process's umask (mkstemp alone gives 0600).
    probe = tmp_path / "probe"
    probe.write_bytes(b"")
    assert stat.S_IMODE((tmp_path / "report.html").stat().st_mode) == stat.S_IMODE(probe.stat().st_mode)
    assert stat.S_IMODE((tmp_path / "token.json").stat().st_mode) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["probe", "report.html", "token.json"]  # no temporary left


def test_an_exclusive_write_never_replaces_and_tells_who_won(tmp_path: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    target = tmp_path / "secret"
    with ThreadPoolExecutor(8) as pool:
        won = list(pool.map(lambda i: atomic_write_bytes(target, bytes([i]) * 32, mode=0o600, exclusive=True),
                            range(8)))
    assert won.count(True) == 1
    assert target.read_bytes() == bytes([won.index(True)]) * 32
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["secret"]  # the losers' temporaries are gone
