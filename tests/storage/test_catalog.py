"""Catalog behaviour on SQLite and PostgreSQL: schema, edits with history, optimistic locking."""

from __future__ import annotations

from pathlib import Path

import pytest

from keepsight import Annotation, Box, ConflictError, Dataset, Polygon, import_path
from keepsight.storage.catalog import engine as catalog_engine
from keepsight.storage.catalog import queries, writes
from keepsight.storage.catalog.rows import now
from tests.conftest import write_image


@pytest.fixture
def ds(tmp_path: Path, catalog_url: str):  # type: ignore[no-untyped-def]
    dataset = Dataset.init(tmp_path / "ds", catalog=catalog_url)
    src = tmp_path / "src"
    write_image(src / "scratch" / "a.png", size=(40, 30))
    import_path(dataset, src)
    yield dataset
    dataset.close()


def test_schema_is_at_the_newest_migration(ds: Dataset) -> None:
    assert catalog_engine.current_revisions(ds.engine) == catalog_engine.head_revisions(ds.engine)
    # Re-opening runs the migrations again harmlessly.
    Dataset.open(ds.root).close()


def _add_box(ds: Dataset) -> Annotation:
    with ds.transaction() as conn:
        sample = queries.sample_by_path(conn, "scratch/a.png")
        assert sample is not None
        (uid,) = writes.insert_annotations(conn, sample.id, [Annotation("scratch", Box(1, 2, 10, 12))],
                                           author="ann", at=now(), reason="drawn")
        return next(a for a in queries.annotations_of(conn, sample.id) if a.uid == uid)


def test_edits_keep_their_history(ds: Dataset) -> None:
    box = _add_box(ds)
    assert box.revision == 1 and box.author == "ann"
    with ds.transaction() as conn:
        edited = writes.update_annotation(conn, box.uid, Annotation("chip", Polygon([(1, 1), (9, 1), (9, 9)])),
                                          expected_revision=1, author="rev", reason="wrong class")
    assert (edited.revision, edited.label, edited.kind, edited.author) == (2, "chip", "polygon", "rev")
    with ds.transaction() as conn:
        writes.delete_annotation(conn, box.uid, expected_revision=2, author="rev", reason="not a defect")
        history = writes.annotation_history(conn, box.uid)
        live = queries.annotations_of(conn, queries.sample_by_path(conn, "scratch/a.png").id)
    assert [(h["revision"], h["action"], h["label"]) for h in history] == [
        (1, "create", "scratch"), (2, "update", "chip"), (3, "delete", "chip")]
    assert history[1]["reason"] == "wrong class"
    assert box.uid not in {a.uid for a in live}


def test_second_writer_gets_a_conflict_and_nothing_is_lost(ds: Dataset) -> None:
    box = _add_box(ds)
    with ds.transaction() as conn:
        writes.update_annotation(conn, box.uid, Annotation("scratch", Box(2, 2, 10, 12)), expected_revision=1,
                                 author="first")
    with pytest.raises(ConflictError, match="changed since revision 1: it is now at revision 2"):
        with ds.transaction() as conn:
            writes.update_annotation(conn, box.uid, Annotation("scratch", Box(3, 3, 10, 12)), expected_revision=1,
                                     author="second")
    with ds.reading() as conn:
        kept = next(a for a in queries.annotations_of(conn, 1) if a.uid == box.uid)
    assert kept.geometry == Box(2, 2, 10, 12) and kept.author == "first"


def test_samples_stream_in_batches(ds: Dataset, tmp_path: Path) -> None:
    src = tmp_path / "more"
    for i in range(7):
        write_image(src / "chip" / f"{i}.png", seed=i + 10)
    import_path(ds, src)
    with ds.reading() as conn:
        streamed = [s.path for s in queries.iter_samples(conn, batch=3)]
    assert len(streamed) == 8 and len(set(streamed)) == 8


def test_migrations_build_exactly_the_schema_of_tables_py(tmp_path: Path, catalog_url: str) -> None:
    """Every layer's migration matches its Table objects, and the revisions form one line (one head)."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from keepsight.storage.catalog.tables import metadata

    with Dataset.init(tmp_path / "ds", catalog=catalog_url) as ds:
        assert len(catalog_engine.head_revisions(ds.engine)) == 1
        with ds.engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": False}), metadata)
    assert diff == []
