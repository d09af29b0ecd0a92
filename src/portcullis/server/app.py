"""The FastAPI application: migrations first, then the API and the pages."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from portcullis import __version__
from portcullis.server import api, migrate
from portcullis.server.config import ServerConfig
from portcullis.server.db import Database
from portcullis.server.ratelimit import LoginLimiter


def create_app(config: ServerConfig) -> FastAPI:
    """The console for ``config``; the database is migrated to the newest schema here, before
    the first request."""
    db = Database(config.database_url)
    migrate.upgrade(db.engine)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        db.close()

    app = FastAPI(title="Portcullis console", version=__version__, lifespan=lifespan,
                  openapi_url="/api/v1/openapi.json", docs_url="/api/v1/docs", redoc_url=None)
    app.state.db = db
    app.state.config = config
    app.state.login_limiter = LoginLimiter(config.login_attempts, config.login_window_seconds)
    app.include_router(api.router)
    return app
