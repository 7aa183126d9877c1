"""The API process: one FastAPI app on CONTACTMOMENT_API_PORT, plus SMTP ingress."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, Literal

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from prometheus_client import make_asgi_app
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from domain.clock.norms import load as load_norms
from schemas.keys import Pseudonymiser
from services.api import (
    access_routes,
    health,
    ingest_routes,
    problems,
    resident_routes,
    resident_ui,
    staff_routes,
    ui,
    ui_kpis,
    ui_lists,
)
from services.api.access import load_activities
from services.api.auth import Authenticator
from services.api.database import Database
from services.api.limits import Limits
from services.api.multiprocess import metrics_registry
from services.api.ratelimit import RateLimits
from services.api.state import Services, attach
from services.ingest.mail_setup import date_skew, mail_reader, smtp_security
from services.ingest.service import Ingest
from services.ingest.smtp import start_smtp
from services.kafka.client import KafkaAuth
from services.kafka.publisher import KafkaPublisher, Publisher
from services.metrics import HTTP_DURATION
from services.privacy.crypto import master_key
from services.privacy.keycache import KeyCache, listen
from services.privacy.sealer import Sealer, postgres_sealer
from services.settings import Settings

log = logging.getLogger(__name__)


def create_app(
    settings: Settings,
    *,
    publisher: Publisher | None = None,
    api_token: str | None = None,
    pseudonym_key: str | None = None,
    sealer: Sealer | None = None,
    smtp: bool = False,
) -> FastAPI:
    """Build the app; tests pass an in-memory publisher and sealer and explicit secrets (an
    explicit `api_token` enables the static token, as CONTACTMOMENT_ALLOW_STATIC_TOKEN does)."""
    publisher = publisher or KafkaPublisher(
        settings.kafka_bootstrap, auth=KafkaAuth.from_settings(settings, "api")
    )
    # The api role (0005_roles.sql): reads the read model, reads and writes data keys.
    database = Database(settings.database_url_for("api"))
    keys = KeyCache()
    sealer = sealer or postgres_sealer(
        master_key(settings.secret("master-key")), database.pool, keys
    )
    pseudonymiser = Pseudonymiser(pseudonym_key or settings.secret("pseudonym-key"))
    ingest = Ingest(publisher, pseudonymiser, settings.own_domains, sealer)
    reader = mail_reader(settings)
    # Refuse here, before serving, when SMTP would have no sign-in or no TLS.
    security = smtp_security(settings) if smtp else None
    static = api_token or (settings.secret("api-token") if settings.allow_static_token else None)
    services = Services(
        settings=settings,
        publisher=publisher,
        pseudonymiser=pseudonymiser,
        sealer=sealer,
        ingest=ingest,
        mail=reader,
        database=database,
        catalogue=load_norms(settings.service_norms),
        auth=Authenticator(settings, static),
        activities=load_activities(settings.processing_activities),
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await publisher.start()
        stop = asyncio.Event()
        listener = asyncio.create_task(listen(settings.database_url_for("api"), keys, stop))
        warm = asyncio.create_task(reader.start())  # parse workers up before the first mail
        server = None
        if security is not None:
            server = await start_smtp(
                ingest,
                settings.bind_host,
                settings.smtp_port,
                settings.max_email_bytes,
                security=security,
                reader=reader,
                date_skew=date_skew(settings),
                max_sessions=settings.smtp_max_sessions,
            )
            log.info("SMTP ingress listening on %s:%d", settings.bind_host, settings.smtp_port)
        try:
            yield
        finally:
            if server is not None:
                server.close()
                await server.wait_closed()
            warm.cancel()
            await asyncio.gather(warm, return_exceptions=True)
            reader.close()
            stop.set()
            await listener
            await publisher.stop()
            await database.close()

    app = FastAPI(
        title="contactmoment",
        version="0.1.0",
        summary="Contact moments of a municipality: ingest, customer view, requests.",
        lifespan=lifespan,
    )
    attach(app, services)

    problems.install(app)
    app.include_router(ingest_routes.router)
    app.include_router(staff_routes.router)
    app.include_router(access_routes.router)
    app.include_router(resident_routes.router)
    app.include_router(ui.router)
    app.include_router(ui_lists.router)
    app.include_router(ui_kpis.router)
    app.include_router(resident_ui.router)
    app.include_router(health.router)
    app.mount("/metrics", make_asgi_app(metrics_registry()))  # summed over --workers
    # Limits run before routing, authentication and body parsing; timing wraps them too.
    rate_limits = RateLimits.from_settings(settings)
    app.state.rate_limits = rate_limits
    app.add_middleware(Limits, settings=settings, rate_limits=rate_limits)
    app.add_middleware(TimedRequests)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app


class TimedRequests:
    """Request duration per route template (not per raw path: ids would explode labels).

    A plain ASGI middleware: Starlette's BaseHTTPMiddleware costs a task per request.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_and_note(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or (
                "/metrics" if scope["path"].startswith("/metrics") else "unmatched"
            )
            HTTP_DURATION.labels(scope["method"], template, str(status)).observe(
                time.perf_counter() - started
            )


def _openapi(app: FastAPI) -> dict[str, Any]:
    """The generated document plus the channel payload schemas the ingest routes reference."""
    if app.openapi_schema:
        return app.openapi_schema
    doc = get_openapi(title=app.title, version=app.version, summary=app.summary, routes=app.routes)
    models: list[tuple[type[BaseModel], Literal["validation"]]] = [
        (model, "validation") for model, _ in ingest_routes.JSON_CHANNELS.values()
    ]
    _, defs = models_json_schema(models, ref_template="#/components/schemas/{model}")
    doc.setdefault("components", {}).setdefault("schemas", {}).update(defs.get("$defs", {}))
    app.openapi_schema = doc
    return doc
