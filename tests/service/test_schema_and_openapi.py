"""The service's tables match migrations 0005-0006 on both backends; the API is described by OpenAPI."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from keepsight import Dataset
from keepsight.service import create_app
from keepsight.service.app import service_routes
from keepsight.storage.catalog.tables import metadata
from tests.service.conftest import FAST


def test_migrations_create_exactly_the_service_tables(tmp_path: Path, catalog_url: str) -> None:
    ds = Dataset.init(tmp_path / "ds", catalog=catalog_url)
    try:
        with ds.engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), metadata)
            tables = set(conn.dialect.get_table_names(conn))
    finally:
        ds.close()
    service = {t for t in metadata.tables if t.startswith("svc_")}
    assert len(service) == 15 and service <= tables
    assert [d for d in diff if "svc_" in str(d)] == []


def test_every_route_is_described(tmp_path: Path) -> None:
    ds = Dataset.init(tmp_path / "ds")
    app = create_app(ds, settings=FAST)
    with TestClient(app) as client:
        spec = client.get("/openapi.json").json()
    ds.close()
    schemes = spec["components"]["securitySchemes"]
    assert {s["type"] for s in schemes.values()} == {"http", "apiKey"}
    for route in service_routes(app):
        if not isinstance(route, APIRoute):
            continue
        assert route.tags, f"{route.path} has no tag"
        for method in route.methods:
            operation = spec["paths"][route.path][method.lower()]
            assert operation.get("description") or operation.get("summary"), route.path
            ok = [code for code in operation["responses"] if code.startswith("2")]
            assert ok, f"{method} {route.path} documents no success response"
            body = operation["responses"][ok[0]].get("content", {})
            if route.response_model is None:  # bytes, tus headers or a file: documented by hand
                assert route.responses or route.status_code in (201, 204), f"{method} {route.path}"
            else:
                assert "application/json" in body, f"{method} {route.path}"
    conflict = spec["paths"]["/jobs/{job_id}/items/{item_id}/annotations"]["put"]["responses"]["409"]
    assert conflict["content"]["application/json"]["schema"]["$ref"].endswith("/ConflictOut")
