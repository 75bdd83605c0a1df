"""GET and POST /login: a browser trades the read token for a cookie, since it cannot send a bearer header.

The cookie holds the token itself, HttpOnly (no script reads it) and SameSite=Strict (no other site's page
sends it), Secure when the request came over https. The auth dependency (service/api/auth.py) accepts it
on GET routes only, so the pages, their fetches and EventSource('/events') work, and nothing can be
submitted with it. The token is compared in constant time and never logged or echoed.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import parse_qs, quote

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from headline_dedup.api.auth import COOKIE, matches
from headline_dedup.api.templating import templates

router = APIRouter(include_in_schema=False)
# A login form's body is one short field and a path; anything longer is not one.
MAX_BODY = 16_384


def safe_next(value: str | None) -> str:
    """Where to go after logging in: a path of this site only (never '//host' or a URL elsewhere)."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value or any(
            ord(c) < 32 for c in value):
        return "/"
    # Percent-encoded past ASCII: a Location header is Latin-1, and a story id may not be.
    return quote(value, safe="/?=&%#:;,+@!$'()*~-._")


def form(request: Request, status_code: int = 200, headers: Mapping[str, str] | None = None, next_path: str = "/",
         error: str = "") -> Response:
    needed = bool(request.app.state.headlines.engine.settings.read_token.get_secret_value())
    context = {"next": safe_next(next_path), "error": error, "needed": needed}
    return templates.TemplateResponse(request, "login.html", context, status_code=status_code, headers=headers)


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, next: str = Query("/")) -> Response:
    return form(request, next_path=next)


@router.post("/login", response_class=HTMLResponse)
async def log_in(request: Request) -> Response:
    body = await request.body()
    fields = parse_qs(body[:MAX_BODY].decode("utf-8", "replace")) if len(body) <= MAX_BODY else {}
    given = (fields.get("token") or [""])[0]
    target = safe_next((fields.get("next") or ["/"])[0])
    expected = request.app.state.headlines.engine.settings.read_token.get_secret_value()
    if not expected:
        return RedirectResponse(target, status_code=303)
    if not matches(given, expected):
        return form(request, 401, {"WWW-Authenticate": 'Bearer realm="headline-dedup"'}, target,
                    error="That is not the read token.")
    answer = RedirectResponse(target, status_code=303)
    answer.set_cookie(COOKIE, given, httponly=True, samesite="strict", secure=request.url.scheme == "https",
                      path="/")
    return answer
