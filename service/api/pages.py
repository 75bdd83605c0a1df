"""The story browser: GET / (newest and largest stories), /stories/{id}, /find (which story is this?).

Server-rendered Jinja2 templates (service/api/templates) with a little plain JS (service/api/assets,
served by the app: no CDN, no build step) that adds new placements from GET /events without a reload.
Read-only, and behind `read_token` like every read route: a browser logs in at /login (service/api/login.py),
and a page asked for without the token answers 401 with that form rather than JSON.
"""

from __future__ import annotations

from contextlib import suppress
from pathlib import Path

from fastapi import APIRouter, Depends, FastAPI, Query, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException

from headline_dedup import browse
from headline_dedup.api import login
from headline_dedup.api.deps import AppState, state
from headline_dedup.api.lookup import look_up
from headline_dedup.api.templating import templates
from headline_dedup.errors import BadInputError, NotFoundError

HERE = Path(__file__).resolve().parent
ASSETS = "/assets"
router = APIRouter(include_in_schema=False)
# Stories in each list of the front page.
LISTED = 20


def is_page(path: str) -> bool:
    return path in ("/", "/find") or path.startswith("/stories/")


@router.get("/", response_class=HTMLResponse)
def front(request: Request, app: AppState = Depends(state)) -> Response:
    lists = browse.story_lists(app.redis, app.engine, LISTED)
    return templates.TemplateResponse(request, "index.html", {**lists, "listed": LISTED})


@router.get("/stories/{cluster_id}", response_class=HTMLResponse)
def story_page(request: Request, cluster_id: str, app: AppState = Depends(state)) -> Response:
    try:
        view = browse.story(app.redis, app.engine, cluster_id)
    except NotFoundError as exc:
        return templates.TemplateResponse(request, "missing.html", {"detail": str(exc)}, status_code=404)
    return templates.TemplateResponse(request, "story.html", {"story": view, "shown": browse.STORY_PAGE})


@router.get("/find", response_class=HTMLResponse)
def find(request: Request, title: str = Query(""), published_at: str = Query(""),
         app: AppState = Depends(state)) -> Response:
    """The answer of GET /lookup for the form's title, as a page; stores nothing."""
    context: dict[str, object] = {"title": title, "published_at": published_at}
    if not title.strip():
        return templates.TemplateResponse(request, "find.html", context)
    try:
        result = look_up(app, title, published_at if published_at.strip() else None, None)
    except BadInputError as exc:
        return templates.TemplateResponse(request, "find.html", {**context, "error": str(exc)}, status_code=422)
    context["result"] = result
    if result.cluster_id is not None:
        with suppress(NotFoundError):  # deleted between the two reads: the answer stands without its title
            context["story"] = browse.story(app.redis, app.engine, result.cluster_id, limit=1)
    return templates.TemplateResponse(request, "find.html", context)


def add_pages(app: FastAPI) -> None:
    """The browser's routes, its assets (public files, like /docs' assets) and its 401 page."""
    app.mount(ASSETS, StaticFiles(directory=HERE / "assets"), name="assets")
    app.include_router(router)
    app.include_router(login.router)

    @app.exception_handler(HTTPException)
    async def login_instead(request: Request, exc: HTTPException) -> Response:
        if exc.status_code == 401 and is_page(request.url.path):
            wanted = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return login.form(request, status_code=401, headers=exc.headers, next_path=wanted)
        return await http_exception_handler(request, exc)
