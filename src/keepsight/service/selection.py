"""Which images a task covers: a query, resolved to active sample ids in catalog order.

Queries (``kind``):

* ``samples`` — explicit sample ids and/or paths;
* ``split`` — every image of a split;
* ``unannotated`` — images with no live annotation (optionally in one split);
* ``audit`` — the images behind the findings of a saved audit run (optionally some checks
  or severities only);
* ``drift`` — the images the drift monitor selected (their ids and/or paths);
* ``since_version`` — images added since a dataset version (``keepsight.versions``).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Connection, select

from keepsight.dataset import Dataset
from keepsight.errors import DatasetError
from keepsight.model.annotation import normalize_split
from keepsight.storage.catalog.tables import annotations as annotation_rows
from keepsight.storage.catalog.tables import samples


class _Query(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SamplesQuery(_Query):
    kind: Literal["samples"] = "samples"
    ids: list[int] = Field(default_factory=list)
    paths: list[str] = Field(default_factory=list)


class SplitQuery(_Query):
    kind: Literal["split"] = "split"
    split: str


class UnannotatedQuery(_Query):
    kind: Literal["unannotated"] = "unannotated"
    split: str | None = None


class AuditQuery(_Query):
    kind: Literal["audit"] = "audit"
    run_id: str
    checks: list[str] = Field(default_factory=list, description="only findings of these checks (default: all)")
    severities: list[Literal["error", "warning", "info"]] = Field(default_factory=list)


class DriftQuery(_Query):
    kind: Literal["drift"] = "drift"
    ids: list[int] = Field(default_factory=list)
    paths: list[str] = Field(default_factory=list)
    note: str = Field("", description="where the selection came from (e.g. the drift run)")


class SinceVersionQuery(_Query):
    kind: Literal["since_version"] = "since_version"
    version: str = Field(..., description="a version label (v3) or 'latest'")


TaskQuery = Annotated[SamplesQuery | SplitQuery | UnannotatedQuery | AuditQuery | DriftQuery | SinceVersionQuery,
                      Field(discriminator="kind")]


def resolve(ds: Dataset, query: Any) -> list[int]:
    """The active sample ids a query selects, in id order, without repeats."""
    with ds.reading() as conn:
        if isinstance(query, (SamplesQuery, DriftQuery)):
            return _explicit(conn, query.ids, query.paths)
        if isinstance(query, SplitQuery):
            return _ids(conn, select(samples.c.id).where(samples.c.split == normalize_split(query.split)))
        if isinstance(query, UnannotatedQuery):
            live = select(annotation_rows.c.id).where(annotation_rows.c.sample_id == samples.c.id,
                                                  annotation_rows.c.deleted.is_(False)).exists()
            stmt = select(samples.c.id).where(~live)
            if query.split:
                stmt = stmt.where(samples.c.split == normalize_split(query.split))
            return _ids(conn, stmt)
        if isinstance(query, AuditQuery):
            wanted = _audit_samples(ds, query)
            return _ids(conn, select(samples.c.id).where(samples.c.id.in_(wanted))) if wanted else []
        if isinstance(query, SinceVersionQuery):
            known = _version_sample_ids(ds, query.version)
            return [s for s in _ids(conn, select(samples.c.id)) if s not in known]
    raise DatasetError(f"unknown task query {query!r}")


def _ids(conn: Connection, stmt: Any) -> list[int]:
    stmt = stmt.where(samples.c.status == "active").order_by(samples.c.id)
    return [int(r[0]) for r in conn.execute(stmt)]


def _explicit(conn: Connection, ids: list[int], paths: list[str]) -> list[int]:
    found: set[int] = set()
    if ids:
        got = {int(r[0]) for r in conn.execute(select(samples.c.id).where(samples.c.id.in_(ids),
                                                                          samples.c.status == "active"))}
        missing = sorted(set(ids) - got)
        if missing:
            raise DatasetError(f"no active samples with ids {missing[:10]}" + (" ..." if len(missing) > 10 else ""))
        found |= got
    if paths:
        rows = dict(conn.execute(select(samples.c.path, samples.c.id).where(samples.c.path.in_(paths),
                                                                            samples.c.status == "active")).all())
        missing_paths = [p for p in paths if p not in rows]
        if missing_paths:
            raise DatasetError(f"no active samples at {missing_paths[:10]}" + (" ..." if len(missing_paths) > 10 else ""))
        found |= {int(v) for v in rows.values()}
    return sorted(found)


def _audit_samples(ds: Dataset, query: AuditQuery) -> set[int]:
    from keepsight.runs import load_run

    run = load_run(ds, query.run_id)
    if run.kind != "audit":
        raise DatasetError(f"run {query.run_id} is a {run.kind} run, not an audit")
    wanted: set[int] = set()
    for finding in run.read_json("findings.json").get("findings", []):
        if query.checks and finding.get("check") not in query.checks:
            continue
        if query.severities and finding.get("severity") not in query.severities:
            continue
        wanted.update(int(s) for s in finding.get("samples", []))
    return wanted


def _version_sample_ids(ds: Dataset, label: str) -> set[int]:
    """The sample ids a dataset version holds (``v3``, ``3`` or ``latest``)."""
    from keepsight.versions.api import load_manifest

    return {entry.id for entry in load_manifest(ds, label).entries}
