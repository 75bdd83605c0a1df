"""GET /docs: Swagger UI from assets the package ships (service/api/static), so it works with no network.

FastAPI's own /docs loads Swagger UI from a CDN, which leaves the page blank offline or behind a strict
proxy. The assets are swagger-ui-dist (see static/VERSION.txt); they are public files, so they are served
without a token, while /docs and /openapi.json keep read_token as every read route does.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

STATIC = Path(__file__).resolve().parent / "static"
ASSETS = "/docs-assets"


def add_docs(app: FastAPI) -> None:
    """Serve /docs from the packaged assets; call on an app made with docs_url=None and redoc_url=None."""
    app.mount(ASSETS, StaticFiles(directory=STATIC), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json", title=f"{app.title} - API docs",
            swagger_js_url=f"{ASSETS}/swagger-ui-bundle.js", swagger_css_url=f"{ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS}/favicon-32x32.png",
            # No spec validator badge: it would send the schema to a public validator service.
            swagger_ui_parameters={"validatorUrl": None})
