"""A dataset: a folder with ``keepsight.yaml``, ``labelbook.yaml`` and a state folder.

``Dataset`` only opens and closes things (config, catalog engine, blob store); the work
is done by functions in other modules that take a ``Dataset`` (ingest, export, info...).
"""

from __future__ import annotations

import getpass
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import yaml
from pydantic import ValidationError
from sqlalchemy import Connection, Engine

from keepsight.config import CONFIG_NAME, LABELBOOK_NAME, STATE_DIR, DatasetConfig, dump_config, load_config
from keepsight.errors import DatasetError
from keepsight.model.annotation import Annotation, Sample
from keepsight.model.labelbook import LabelBook
from keepsight.storage.blobs import BlobStore, atomic_write_bytes, open_blob_store
from keepsight.storage.catalog import engine as catalog_engine
from keepsight.storage.catalog import queries, writes


def current_user() -> str:
    return os.environ.get("KEEPSIGHT_USER") or getpass.getuser()


class Dataset:
    def __init__(self, root: Path, config: DatasetConfig, engine: Engine, blobs: BlobStore) -> None:
        self.root = root
        self.config = config
        self.engine = engine
        self.blobs = blobs

    # -- lifecycle ---------------------------------------------------------------------

    @classmethod
    def init(cls, root: Path | str, *, catalog: str | None = None, blobs: str | None = None,
             name: str | None = None) -> Dataset:
        """Create a dataset folder (or adopt an empty one) and its catalog schema."""
        root = Path(root).resolve()
        if (root / CONFIG_NAME).exists():
            raise DatasetError(f"a dataset already exists here ({CONFIG_NAME} found)", path=root)
        config = DatasetConfig(name=name or root.name)
        if catalog:
            config.catalog = catalog
        if blobs:
            config.blobs = blobs
        root.mkdir(parents=True, exist_ok=True)
        (root / STATE_DIR).mkdir(exist_ok=True)
        ds = cls._connect(root, config)
        if config.blobs.startswith("s3://"):
            ds.blobs.ensure_bucket()  # type: ignore[attr-defined]
        atomic_write_bytes(root / CONFIG_NAME, dump_config(config).encode("utf-8"))
        ds.write_labelbook_file(ds.labelbook())
        return ds

    @classmethod
    def open(cls, root: Path | str) -> Dataset:
        root = Path(root).resolve()
        ds = cls._connect(root, load_config(root))
        ds._sync_labelbook_file()
        return ds

    @classmethod
    def _connect(cls, root: Path, config: DatasetConfig) -> Dataset:
        url = catalog_engine.resolve_catalog_url(config.catalog, root)
        engine = catalog_engine.create_catalog_engine(url)
        catalog_engine.upgrade(engine)
        return cls(root, config, engine, open_blob_store(config.blobs, base=root))

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Dataset:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- catalog access ------------------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        with self.engine.begin() as conn:
            yield conn

    @contextmanager
    def reading(self) -> Iterator[Connection]:
        with self.engine.connect() as conn:
            yield conn

    def labelbook(self) -> LabelBook:
        with self.reading() as conn:
            return queries.load_labelbook(conn)

    def samples(self) -> Iterator[Sample]:
        with self.reading() as conn:
            yield from queries.iter_samples(conn)

    def samples_with_annotations(self) -> Iterator[tuple[Sample, list[Annotation]]]:
        with self.reading() as conn:
            yield from queries.iter_samples_with_annotations(conn)

    def copy_image(self, sample: Sample, dest: Path) -> None:
        self.blobs.copy_to(sample.blob, dest)

    def image_bytes(self, sample: Sample) -> bytes:
        return self.blobs.get(sample.blob)

    # -- the label book file ---------------------------------------------------------------

    @property
    def labelbook_path(self) -> Path:
        return self.root / LABELBOOK_NAME

    def write_labelbook_file(self, book: LabelBook) -> None:
        header = "# keepsight label book: classes and the rules for drawing them (edit freely)\n"
        body = yaml.safe_dump(book.model_dump(mode="json"), sort_keys=False, allow_unicode=True)
        atomic_write_bytes(self.labelbook_path, (header + body).encode("utf-8"))

    def set_labelbook(self, book: LabelBook) -> None:
        with self.transaction() as conn:
            writes.save_labelbook(conn, book)
            writes.record_event(conn, "labelbook.update", actor=current_user(), details={"classes": book.names()})
        self.write_labelbook_file(book)

    def _sync_labelbook_file(self) -> None:
        """The file is what people edit: load edits into the catalog; recreate it if missing."""
        path = self.labelbook_path
        stored = self.labelbook()
        if not path.exists():
            self.write_labelbook_file(stored)
            return
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
            edited = LabelBook.model_validate(data)
        except (yaml.YAMLError, ValidationError) as exc:
            raise DatasetError(f"invalid label book: {exc}", path=path) from None
        if edited != stored:
            self.set_labelbook(edited)
