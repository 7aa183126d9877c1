"""What every long-running process shares: logging, a /metrics port, clean shutdown."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Callable, Coroutine
from typing import Any

from prometheus_client import start_http_server

from services.dev.processes import require_port_free

log = logging.getLogger(__name__)


def serve_metrics(port: int, process: str) -> None:
    """Prometheus text format on 127.0.0.1:<port>/metrics for this process alone."""
    variable = f"CONTACTMOMENT_{process.upper()}_METRICS_PORT"
    require_port_free("127.0.0.1", port, f"the {process} metrics endpoint", variable)
    start_http_server(port, addr="127.0.0.1")
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("aiokafka").setLevel(logging.WARNING)
    log.info("%s metrics on http://127.0.0.1:%d/metrics", process, port)


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
