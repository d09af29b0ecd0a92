"""The web console: `portcullis server`. Pipelines upload reports to it, people browse them.

Nothing a scan runs imports this package (import-linter's "server-apart" contract); it needs the
``server`` extra (FastAPI, SQLAlchemy, Alembic, ...).
"""
