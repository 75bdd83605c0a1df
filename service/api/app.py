"""Wires the API: settings, Redis, engine, batcher, routes and error handlers. No logic lives here."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import cast

import redis
import redis.asyncio
from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse

from headline_dedup import __version__
from headline_dedup.api import clusters, events, headlines, health, lookup, metrics, stats
from headline_dedup.api.auth import authorize
from headline_dedup.api.batcher import Batcher
from headline_dedup.api.deps import AppState
from headline_dedup.api.docs import add_docs
from headline_dedup.api.models import BatchIn
from headline_dedup.api.pages import add_pages
from headline_dedup.config import Settings, get_settings
from headline_dedup.embedded import connect, resolve_url
from headline_dedup.engine import engine_for
from headline_dedup.errors import BadInputError, NotFoundError

# Redis errors that mean "not now" rather than "wrong command": redis-py's classes for the error codes it
# knows (it strips the code from the message), and the codes it leaves at the start of the message.
UNAVAILABLE_ERRORS = (redis.exceptions.OutOfMemoryError, redis.exceptions.ReadOnlyError,
                      redis.exceptions.TryAgainError)
UNAVAILABLE_REPLIES = ("MISCONF ", "MASTERDOWN ", "NOREPLICAS ", "BUSY ")


def _errors(app: FastAPI) -> None:
    @app.exception_handler(BadInputError)
    async def bad_input(_: Request, exc: BadInputError) -> JSONResponse:
        body: dict[str, object] = {"detail": str(exc)}
        if exc.problems:
            body["problems"] = exc.problems
        return JSONResponse(body, status_code=422)

    @app.exception_handler(NotFoundError)
    async def not_found(_: Request, exc: NotFoundError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=404)

    @app.exception_handler(redis.ConnectionError)
    @app.exception_handler(redis.TimeoutError)
    async def redis_down(_: Request, exc: redis.RedisError) -> JSONResponse:
        return JSONResponse({"detail": f"Redis is unavailable, try again shortly ({exc})"}, status_code=503,
                            headers={"Retry-After": "1"})

    @app.exception_handler(redis.ResponseError)
    async def redis_refused(request: Request, exc: redis.ResponseError) -> JSONResponse:
        # Out of memory, disk full (MISCONF), a read-only replica: Redis is up but cannot take writes
        # now. That is the service being unavailable, not a bug, so the client should retry later.
        if isinstance(exc, UNAVAILABLE_ERRORS) or str(exc).startswith(UNAVAILABLE_REPLIES):
            return await redis_down(request, exc)
        raise exc

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()]
        return JSONResponse({"detail": "; ".join(problems)}, status_code=422)


def async_connect(url: str, cluster: bool) -> redis.asyncio.Redis:
    """The event loop's client: of the Redis at `url`, or with `cluster` of its Redis Cluster."""
    if cluster:
        # Same commands, routed by key (see embedded.connect).
        return cast(redis.asyncio.Redis, redis.asyncio.RedisCluster.from_url(url, socket_connect_timeout=5))
    return redis.asyncio.Redis.from_url(url, socket_connect_timeout=5)


def create_app(settings: Settings | None = None, r: redis.Redis | None = None) -> FastAPI:
    settings = settings or get_settings()
    engine = engine_for(settings)
    url = resolve_url(settings)
    client = r or connect(url, settings.redis_cluster)
    aclient = async_connect(url, settings.redis_cluster)
    batcher = Batcher(client, engine)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        batcher.start()
        yield
        batcher.stop()
        await aclient.aclose()

    app = FastAPI(title="headline-dedup", version=__version__, lifespan=lifespan,
                  description="Submit news headlines; read which story each belongs to.",
                  dependencies=[Depends(authorize)], docs_url=None, redoc_url=None)
    if settings.cors_origin_list:
        # Off unless origins are named: a browser page elsewhere must not read or submit by default.
        app.add_middleware(CORSMiddleware, allow_origins=settings.cors_origin_list,
                           allow_methods=["GET", "POST"], allow_headers=["Authorization", "Content-Type"])
    app.state.headlines = AppState(client, engine, batcher, aclient, metrics.registry_for(client, engine))
    for module in (headlines, clusters, lookup, stats, events, health, metrics):
        app.include_router(module.router)
    add_docs(app)
    add_pages(app)
    _errors(app)
    _document_body_schemas(app)
    return app


def _document_body_schemas(app: FastAPI) -> None:
    # POST /headlines parses its body itself (for per-item errors), so FastAPI does not see the models.
    def openapi() -> dict:
        if app.openapi_schema is None:
            from fastapi.openapi.utils import get_openapi

            schema = get_openapi(title=app.title, version=app.version, description=app.description,
                                 routes=app.routes)
            extra = BatchIn.model_json_schema(ref_template="#/components/schemas/{model}")
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            components.update(extra.pop("$defs", {}))
            components["BatchIn"] = extra
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
