"""The API process: one FastAPI app on CONTACTMOMENT_API_PORT, plus SMTP ingress."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, Literal

from fastapi import FastAPI, Request, Response
from fastapi.openapi.utils import get_openapi
from prometheus_client import make_asgi_app
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from schemas.keys import Pseudonymiser
from services.api import health, ingest_routes, problems
from services.ingest.publisher import KafkaPublisher, Publisher
from services.ingest.service import Ingest
from services.ingest.smtp import start_smtp
from services.metrics import HTTP_DURATION
from services.settings import Settings

log = logging.getLogger(__name__)


def create_app(
    settings: Settings,
    *,
    publisher: Publisher | None = None,
    api_token: str | None = None,
    pseudonym_key: str | None = None,
    smtp: bool = False,
) -> FastAPI:
    """Build the app; tests pass an in-memory publisher and explicit secrets."""
    publisher = publisher or KafkaPublisher(settings.kafka_bootstrap)
    ingest = Ingest(
        publisher,
        Pseudonymiser(pseudonym_key or settings.secret("pseudonym-key")),
        settings.own_domains,
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await publisher.start()
        server = None
        if smtp:
            server = await start_smtp(ingest, "127.0.0.1", settings.smtp_port,
                                      settings.max_email_bytes)  # fmt: skip
            log.info("SMTP ingress listening on 127.0.0.1:%d", settings.smtp_port)
        try:
            yield
        finally:
            if server is not None:
                server.close()
                await server.wait_closed()
            await publisher.stop()

    app = FastAPI(
        title="contactmoment",
        version="0.1.0",
        summary="Contact moments of a municipality: ingest, customer view, requests.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.api_token = api_token or settings.secret("api-token")
    app.state.ingest = ingest

    problems.install(app)
    app.include_router(ingest_routes.router)
    app.include_router(health.router)
    app.mount("/metrics", make_asgi_app())
    app.middleware("http")(_timed)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app


async def _timed(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
    """Request duration per route template (not per raw path: ids would explode labels)."""
    started = time.perf_counter()
    response = await call_next(request)
    route = request.scope.get("route")
    template = getattr(route, "path", None) or (
        "/metrics" if request.url.path.startswith("/metrics") else "unmatched"
    )
    HTTP_DURATION.labels(request.method, template, str(response.status_code)).observe(
        time.perf_counter() - started
    )
    return response


def _openapi(app: FastAPI) -> dict[str, Any]:
    """The generated document plus the channel payload schemas the ingest routes reference."""
    if app.openapi_schema:
        return app.openapi_schema
    doc = get_openapi(title=app.title, version=app.version, summary=app.summary,
                      routes=app.routes)  # fmt: skip
    models: list[tuple[type[BaseModel], Literal["validation"]]] = [
        (model, "validation") for model, _ in ingest_routes.JSON_CHANNELS.values()
    ]
    _, defs = models_json_schema(models, ref_template="#/components/schemas/{model}")
    doc.setdefault("components", {}).setdefault("schemas", {}).update(defs.get("$defs", {}))
    app.openapi_schema = doc
    return doc
