"""The FastAPI application: migrations first, then the API, the pages and their headers."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request, Response
from fastapi.exception_handlers import http_exception_handler
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from portcullis import __version__
from portcullis.server import api, migrate, pages
from portcullis.server.config import ServerConfig
from portcullis.server.db import Database
from portcullis.server.ratelimit import LoginLimiter

# No script at all; inline styles only for the chart bars' widths.
CSP = ("default-src 'self'; script-src 'none'; style-src 'self' 'unsafe-inline'; "
       "img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'")
API_DOCS_CSP = "frame-ancestors 'none'"  # the OpenAPI page loads its own scripts


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
    app.include_router(pages.router)
    app.mount("/static", StaticFiles(directory=Path(__file__).with_name("static")),
              name="static")
    app.add_exception_handler(pages.LoginRequired, pages.on_login_required)
    app.add_exception_handler(StarletteHTTPException, _http_error)  # type: ignore[arg-type]
    app.middleware("http")(_security_headers)
    return app


async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
    """JSON for the API (FastAPI's ``{"detail": …}``), an HTML page for people."""
    if request.url.path.startswith("/api/"):
        return await http_exception_handler(request, exc)
    return pages.render(request, "error.html", None, exc.status_code,
                        status=exc.status_code, message=exc.detail)


async def _security_headers(request: Request,
                            call_next: Callable[[Request], Awaitable[Response]]) -> Response:
    response = await call_next(request)
    docs = request.url.path == "/api/v1/docs"
    response.headers.setdefault("Content-Security-Policy", API_DOCS_CSP if docs else CSP)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("X-Frame-Options", "DENY")
    return response
