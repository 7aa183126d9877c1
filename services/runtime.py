"""What every long-running process shares: logging, a probe port, clean shutdown."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Callable, Coroutine
from typing import Any
from wsgiref.simple_server import WSGIServer

from services.ports import require_port_free
from services.probes import Ready, start_probe_server

log = logging.getLogger(__name__)


def serve_metrics(
    port: int, process: str, ready: Ready | None = None, *, host: str = "127.0.0.1"
) -> WSGIServer:
    """/metrics, /healthz and /readyz on host:port for this process alone.

    `ready` answers /readyz (None: ready whenever the process serves). `host` is
    CONTACTMOMENT_BIND_HOST: loopback unless a container image widens it."""
    variable = f"CONTACTMOMENT_{process.upper()}_METRICS_PORT"
    require_port_free(host, port, f"the {process} metrics endpoint", variable)
    server = start_probe_server(host, port, ready)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("aiokafka").setLevel(logging.WARNING)
    log.info(
        "%s metrics on http://%s:%d/metrics (also /healthz, /readyz)",
        process,
        host,
        server.server_port,
    )
    return server


def run_until_signal(main: Callable[[asyncio.Event], Coroutine[Any, Any, None]]) -> int:
    """Run `main(stop)`; SIGINT/SIGTERM set `stop` so it can finish its batch and exit."""

    async def runner() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await main(stop)

    asyncio.run(runner())
    return 0
