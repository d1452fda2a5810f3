"""``GET /health``: 200 when the database answers, 503 when it does not."""

from __future__ import annotations

import logging

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from newsletter.errors import StoreError
from newsletter.web.context import ctx

log = logging.getLogger(__name__)


def health(request: Request) -> Response:
    """``GET /health``: ``{"status": "ok", "database": "ok"}`` (200) when ``SELECT 1``
    answers, 503 when the database does not."""
    web = ctx(request)
    try:
        with web.store.begin() as conn:
            conn.execute(text("SELECT 1"))
    except (StoreError, SQLAlchemyError) as exc:
        log.error("health: database unreachable: %s", exc)
        return JSONResponse({"status": "error", "database": "unreachable"}, status_code=503)
    return JSONResponse({"status": "ok", "database": "ok"}, headers={"Cache-Control": "no-store"})
