"""``/docs`` (Swagger UI) and ``/redoc`` from packaged assets: no CDN, no inline script.

FastAPI's own pages load their scripts from a CDN and start them with an inline
script, which the Content-Security-Policy forbids. These pages load the same viewers
from the ``fastapi-offline`` package's files (served under ``/docs/assets``) and start
Swagger UI from a script file of ours. ``HANGAR_DOCS_ENABLED`` turns the pages and
``/openapi.json`` off (by default they are off in production).
"""

from __future__ import annotations

from pathlib import Path

import fastapi_offline
from fastapi import APIRouter, FastAPI
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

ASSETS = Path(fastapi_offline.__file__).parent / "static"
OWN_ASSETS = Path(__file__).parent / "static"

_SWAGGER = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title} · API</title>
<link rel="stylesheet" href="/docs/assets/swagger-ui.css">
<link rel="icon" href="/docs/assets/favicon.png">
</head>
<body data-openapi-url="{openapi_url}">
<div id="swagger-ui"></div>
<script src="/docs/assets/swagger-ui-bundle.js"></script>
<script src="/docs/own/swagger-init.js"></script>
</body>
</html>
"""

_REDOC = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title} · API reference</title>
<link rel="icon" href="/docs/assets/favicon.png">
</head>
<body>
<redoc spec-url="{openapi_url}"></redoc>
<script src="/docs/assets/redoc.standalone.js"></script>
</body>
</html>
"""


def install_docs(app: FastAPI, *, enabled: bool) -> None:
    """Serve ``/docs`` and ``/redoc`` (and their assets) when ``enabled``."""
    if not enabled:
        return
    title = app.title
    router = APIRouter(include_in_schema=False)
    openapi_url = app.openapi_url or "/openapi.json"

    @router.get("/docs")
    async def swagger_ui() -> HTMLResponse:
        return HTMLResponse(_SWAGGER.format(title=title, openapi_url=openapi_url))

    @router.get("/redoc")
    async def redoc() -> HTMLResponse:
        return HTMLResponse(_REDOC.format(title=title, openapi_url=openapi_url))

    app.include_router(router)
    app.mount("/docs/assets", StaticFiles(directory=ASSETS), name="docs-assets")
    app.mount("/docs/own", StaticFiles(directory=OWN_ASSETS), name="docs-own")
