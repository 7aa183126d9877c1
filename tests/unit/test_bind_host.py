"""CONTACTMOMENT_BIND_HOST reaches every server: API, SMTP ingress, worker/projector probes.

127.0.0.2 is loopback too (all of 127/8 is), but not the old hard-coded address, so a
server that ignored the setting would show up here without leaving the machine."""

import argparse
import socket
from pathlib import Path
from typing import Any

import pytest

import services.api.app as api_app
from services.api.app import create_app
from services.cli import processes
from services.dev.smtp_secrets import ensure_smtp_secrets
from services.kafka.publisher import MemoryPublisher
from services.privacy.sealer import memory_sealer
from services.runtime import serve_metrics
from services.settings import Settings

HOST = "127.0.0.2"
SECRETS = {"api_token": "t" * 32, "pseudonym_key": "k" * 32}
SETTINGS_SECRETS = {**SECRETS, "master_key": "m" * 32, "allow_static_token": True}


def _free_port(host: str) -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def test_the_default_is_loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CONTACTMOMENT_BIND_HOST", raising=False)
    assert Settings().bind_host == "127.0.0.1"


def test_the_api_listens_and_reports_on_the_bind_host(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    uvicorn_calls: list[dict[str, Any]] = []
    monkeypatch.setattr("uvicorn.run", lambda app, **kwargs: uvicorn_calls.append(kwargs))
    settings = Settings(bind_host=HOST, api_port=_free_port(HOST), **SETTINGS_SECRETS)
    args = argparse.Namespace(no_smtp=True, log_level="info", access_log=False)
    assert processes.cmd_api(settings, args) == 0
    assert uvicorn_calls[0]["host"] == HOST
    assert f"API on http://{HOST}:{settings.api_port}" in capsys.readouterr().out


async def test_smtp_ingress_listens_on_the_bind_host(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    started = []
    real_start_smtp = api_app.start_smtp

    async def recording_start_smtp(*args: Any, **kwargs: Any) -> Any:
        server = await real_start_smtp(*args, **kwargs)
        started.append(server)
        return server

    monkeypatch.setattr(api_app, "start_smtp", recording_start_smtp)
    smtp = ensure_smtp_secrets(tmp_path)
    settings = Settings(
        bind_host=HOST,
        smtp_port=_free_port(HOST),
        smtp_users_file=smtp.users_file,
        smtp_tls_cert=smtp.cert,
        smtp_tls_key=smtp.key,
    )
    app = create_app(
        settings, publisher=MemoryPublisher(), sealer=memory_sealer(), smtp=True, **SECRETS
    )
    async with app.router.lifespan_context(app):
        (server,) = started
        assert {s.getsockname()[:2] for s in server.sockets} == {(HOST, settings.smtp_port)}


def test_the_probe_server_listens_on_the_bind_host() -> None:
    server = serve_metrics(0, "test", host=HOST)
    try:
        assert server.server_address[0] == HOST
    finally:
        server.shutdown()
        server.server_close()
