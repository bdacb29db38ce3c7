"""The catalog: SQLite by default, PostgreSQL for a shared server (SQLAlchemy + Alembic)."""
