"""/metrics, /healthz and /readyz for the processes that have no web framework of their own.

The worker and the projector used prometheus_client.start_http_server, which answers the
metrics on every path; a platform also needs a liveness and a readiness answer from them
(Kubernetes probes, compose healthchecks). This serves prometheus_client's own WSGI app on
/metrics, so the scrape is byte-for-byte what it was, from a daemon thread as
start_http_server does.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterable
from socketserver import TCPServer, ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server
from wsgiref.types import StartResponse, WSGIApplication, WSGIEnvironment

from prometheus_client import REGISTRY, make_wsgi_app
from prometheus_client.registry import Collector

log = logging.getLogger(__name__)

Ready = Callable[[], bool]


def probe_app(ready: Ready | None = None, registry: Collector = REGISTRY) -> WSGIApplication:
    """WSGI app: /metrics, /healthz (alive), /readyz (200 when `ready()`, else 503), else 404."""
    metrics = make_wsgi_app(registry)

    def app(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO") or "/"
        if path == "/metrics":
            result: Iterable[bytes] = metrics(environ, start_response)
            return result
        if path == "/healthz":
            return _json(start_response, "200 OK", {"status": "ok"})
        if path == "/readyz":
            if _is_ready(ready):
                return _json(start_response, "200 OK", {"status": "ready"})
            return _json(start_response, "503 Service Unavailable", {"status": "not ready"})
        return _json(start_response, "404 Not Found", {"status": "not found", "path": path})

    return app


def start_probe_server(host: str, port: int, ready: Ready | None = None) -> WSGIServer:
    """Serve probe_app on host:port from a daemon thread; port 0 picks a free one.

    The caller stops it with `server.shutdown(); server.server_close()`, or lets the process
    exit (the thread is a daemon, so it never holds up shutdown)."""
    server = make_server(
        host, port, probe_app(ready), server_class=_ThreadingServer, handler_class=_QuietHandler
    )
    thread = threading.Thread(
        target=server.serve_forever, name=f"probes-{server.server_port}", daemon=True
    )
    thread.start()
    return server


def _is_ready(ready: Ready | None) -> bool:
    if ready is None:
        return True
    try:
        return bool(ready())
    except Exception:  # a failing check means "not ready", never a 500 or a dead server
        log.exception("readiness check failed")
        return False


def _json(start_response: StartResponse, status: str, body: dict[str, str]) -> list[bytes]:
    payload = json.dumps(body).encode()
    start_response(
        status,
        [
            ("Content-Type", "application/json"),
            ("Content-Length", str(len(payload))),
            ("Cache-Control", "no-store"),
        ],
    )
    return [payload]


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    # A slow scrape must not block a probe; daemon threads are not joined at close.
    daemon_threads = True

    def server_bind(self) -> None:
        """HTTPServer would ask DNS for the bind address's name (getfqdn); nothing needs it."""
        TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name, self.server_port = str(host), int(port)
        self.setup_environ()


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        """Probes every few seconds would drown the process's own log."""
