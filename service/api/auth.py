"""Who may call which route: optional bearer tokens, checked once for every route of the app.

Three tokens, each off when empty: `api_token` for submitting (POST /headlines), `read_token` for every
read route, `metrics_token` for /metrics. /healthz is always open, so a load balancer needs no secret, and
so is /login, where a browser (which cannot send a bearer header) trades the read token for a cookie.
A GET may carry the token in that cookie instead of the header; a POST may not, so a cookie can never
submit, whatever the tokens are, and /metrics (a scraper's route, with its own token) takes no cookie.
The check is a dependency of the whole app rather than of each router, so a route added later is
covered by `read_token` without anyone remembering to add it.
"""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from headline_dedup.config import Settings

OPEN_PATHS = frozenset({"/healthz", "/login"})
METRICS_PATH = "/metrics"
# The cookie /login sets (HttpOnly, SameSite=Strict): the read token, for the story browser and its fetches.
COOKIE = "headlines_token"

# auto_error=False: a missing header is our 401 (with WWW-Authenticate), not FastAPI's 403. Declaring the
# scheme is what gives /docs its "Authorize" button.
bearer = HTTPBearer(auto_error=False, description="The api_token, read_token or metrics_token of config.yaml.")


def required_token(settings: Settings, method: str, path: str) -> str:
    """The token this request needs; empty when the route is open."""
    if path in OPEN_PATHS:
        return ""
    if path == METRICS_PATH:
        return settings.metrics_token.get_secret_value()
    if method == "POST" and path == "/headlines":
        return settings.api_token.get_secret_value()
    return settings.read_token.get_secret_value()


def matches(given: str, expected: str) -> bool:
    # Constant time, so the answer's timing says nothing about how much of a guess was right.
    return hmac.compare_digest(given.encode(), expected.encode())


async def authorize(request: Request,
                    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> None:
    # async: the hot GET and POST routes run on the event loop, and a sync dependency would cost each a
    # thread hop.
    settings: Settings = request.app.state.headlines.engine.settings
    expected = required_token(settings, request.method, request.url.path)
    if not expected:
        return
    given = credentials.credentials if credentials is not None else None
    # The cookie only where no Authorization header came at all: a header that is there, even a malformed
    # one, is what the client meant.
    if ("authorization" not in request.headers and request.method in ("GET", "HEAD")
            and request.url.path != METRICS_PATH):
        given = request.cookies.get(COOKIE)
    if given is None:
        raise _unauthorized("this route needs 'Authorization: Bearer <token>' (a browser: log in at /login)")
    if not matches(given, expected):
        raise _unauthorized("the bearer token is not the one this route needs", error="invalid_token")


def _unauthorized(detail: str, error: str = "") -> HTTPException:
    challenge = 'Bearer realm="headline-dedup"' + (f', error="{error}"' if error else "")
    return HTTPException(401, detail, headers={"WWW-Authenticate": challenge})
