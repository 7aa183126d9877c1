"""The worker's and projector's probe port: /metrics as before, /healthz, /readyz, 404 else.

Real servers on free loopback ports (the socket tests among the unit tests: the point is
what a kubelet or Prometheus would get over HTTP)."""

from collections.abc import Iterator

import httpx
import pytest
from prometheus_client import REGISTRY, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4

from services import metrics  # noqa: F401 (registers the contract's metrics)
from services.runtime import serve_metrics


class Check:
    """A readiness check the tests switch: ready, not ready, or raising."""

    def __init__(self) -> None:
        self.answer: bool | Exception = True

    def __call__(self) -> bool:
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


def _start(check: Check | None) -> Iterator[str]:
    server = serve_metrics(0, "test", check, host="127.0.0.1")
    host, port = server.server_address[:2]
    assert host == "127.0.0.1" and port != 0
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def base() -> Iterator[str]:
    """As the worker and projector call it today: no readiness check."""
    yield from _start(None)


@pytest.fixture(scope="module")
def check() -> Check:
    return Check()


@pytest.fixture(scope="module")
def checked(check: Check) -> Iterator[str]:
    yield from _start(check)


@pytest.fixture(autouse=True)
def _ready_again(check: Check) -> None:
    check.answer = True


def _types(exposition: str) -> set[str]:
    return {line for line in exposition.splitlines() if line.startswith("# TYPE ")}


def test_metrics_are_what_prometheus_client_exposes(base: str) -> None:
    answer = httpx.get(f"{base}/metrics", timeout=5)
    assert answer.status_code == 200
    # Without an Accept header prometheus_client answers its compatibility format, as
    # start_http_server did; every metric family of the registry is there.
    assert answer.headers["content-type"] == CONTENT_TYPE_PLAIN_0_0_4
    assert _types(answer.text) == _types(generate_latest(REGISTRY).decode())
    assert "# TYPE contactmoment_events_processed_total counter" in answer.text


def test_metrics_negotiate_openmetrics_like_prometheus_client(base: str) -> None:
    answer = httpx.get(
        f"{base}/metrics", headers={"Accept": "application/openmetrics-text"}, timeout=5
    )
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/openmetrics-text")
    assert answer.text.rstrip().endswith("# EOF")


def test_healthz_says_ok(base: str) -> None:
    answer = httpx.get(f"{base}/healthz", timeout=5)
    assert (answer.status_code, answer.json()) == (200, {"status": "ok"})


def test_readyz_is_ready_without_a_check(base: str) -> None:
    answer = httpx.get(f"{base}/readyz", timeout=5)
    assert (answer.status_code, answer.json()) == (200, {"status": "ready"})


def test_readyz_follows_the_check_on_every_request(checked: str, check: Check) -> None:
    assert httpx.get(f"{checked}/readyz", timeout=5).status_code == 200
    check.answer = False
    answer = httpx.get(f"{checked}/readyz", timeout=5)
    assert (answer.status_code, answer.json()) == (503, {"status": "not ready"})
    # Liveness does not follow readiness: a process that is catching up is alive.
    assert httpx.get(f"{checked}/healthz", timeout=5).status_code == 200
    check.answer = True
    assert httpx.get(f"{checked}/readyz", timeout=5).status_code == 200


def test_a_check_that_raises_means_not_ready(checked: str, check: Check) -> None:
    check.answer = RuntimeError("no broker")
    assert httpx.get(f"{checked}/readyz", timeout=5).status_code == 503
    assert httpx.get(f"{checked}/healthz", timeout=5).status_code == 200  # still serving


@pytest.mark.parametrize("path", ["/", "/metricsx", "/health", "/readyz/extra"])
def test_other_paths_are_not_found(base: str, path: str) -> None:
    # prometheus_client's own server answered metrics on every path; a probe must not
    # mistake a typo for a healthy process.
    assert httpx.get(f"{base}{path}", timeout=5).status_code == 404
