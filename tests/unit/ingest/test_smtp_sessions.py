"""Real SMTP sessions against `start_smtp` on a free port: only the signed-in gateway,
over TLS, may hand over mail; a refused session stores nothing; limits are named."""

import asyncio
import smtplib
import socket
import ssl
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from schemas.envelope import decode
from schemas.events import ContactRecorded
from schemas.keys import Pseudonymiser
from services.dev.smtp_secrets import SmtpSecrets, ensure_smtp_secrets
from services.ingest.mail_limits import MailLimits
from services.ingest.parse_pool import MailReader
from services.ingest.service import Ingest
from services.ingest.smtp import SmtpSecurity, start_smtp, tls_context
from services.ingest.smtp_auth import SmtpUsers
from services.kafka.publisher import MemoryPublisher
from services.privacy.sealer import memory_sealer

MAIL = (Path(__file__).parents[3] / "docs" / "examples" / "email-new-question.eml").read_bytes()
RECEIVED = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)  # 08:05 +01:00 in MAIL is 55 min before


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def secrets(tmp_path_factory: pytest.TempPathFactory) -> SmtpSecrets:
    return ensure_smtp_secrets(tmp_path_factory.mktemp("smtp"))


@pytest.fixture(scope="module")
async def reader() -> AsyncIterator[MailReader]:
    reader = MailReader(MailLimits(), timeout=20)
    await reader.start()
    yield reader
    reader.close()


@dataclass
class Ingress:
    port: int
    publisher: MemoryPublisher
    secrets: SmtpSecrets

    def client(self, implicit: bool = False) -> smtplib.SMTP:
        context = ssl.create_default_context(cafile=str(self.secrets.cert))
        if implicit:
            return smtplib.SMTP_SSL("127.0.0.1", self.port, timeout=20, context=context)
        smtp = smtplib.SMTP("127.0.0.1", self.port, timeout=20)
        smtp.starttls(context=context)
        return smtp


async def serve(
    secrets: SmtpSecrets, reader: MailReader, implicit: bool = False, max_sessions: int = 20
) -> tuple[asyncio.Server, Ingress]:
    publisher = MemoryPublisher()
    ingest = Ingest(
        publisher,
        Pseudonymiser("unit-test-key-material-0123"),
        frozenset({"bergenopzoom.nl"}),
        memory_sealer(),
        clock=lambda: RECEIVED,
    )
    security = SmtpSecurity(
        SmtpUsers.load(secrets.users_file), tls_context(secrets.cert, secrets.key), implicit
    )
    port = free_port()
    server = await start_smtp(
        ingest,
        "127.0.0.1",
        port,
        1024 * 1024,
        security=security,
        reader=reader,
        max_sessions=max_sessions,
    )
    return server, Ingress(port, publisher, secrets)


@pytest.fixture
async def ingress(secrets: SmtpSecrets, reader: MailReader) -> AsyncIterator[Ingress]:
    server, running = await serve(secrets, reader)
    yield running
    server.close()
    await server.wait_closed()


async def in_thread(fn: Callable[[], Any]) -> Any:
    return await asyncio.to_thread(fn)


async def test_without_auth_mail_from_is_530_and_nothing_is_stored(ingress: Ingress) -> None:
    def send() -> tuple[int, bytes]:
        with ingress.client() as smtp:
            smtp.ehlo()
            return smtp.docmd("MAIL", "FROM:<kcc@bergenopzoom.nl>")

    code, text = await in_thread(send)
    assert (code, text) == (530, b"5.7.0 Authentication required")
    assert ingress.publisher.records == []


async def test_plain_text_sessions_must_start_tls_first(ingress: Ingress) -> None:
    def send() -> tuple[int, bytes]:
        with smtplib.SMTP("127.0.0.1", ingress.port, timeout=20) as smtp:
            smtp.ehlo()
            return smtp.docmd("MAIL", "FROM:<kcc@bergenopzoom.nl>")

    code, _ = await in_thread(send)
    assert code == 530  # STARTTLS first: no password and no mail cross in clear text
    assert ingress.publisher.records == []


async def test_a_wrong_password_is_535(ingress: Ingress) -> None:
    def send() -> None:
        with ingress.client() as smtp:
            smtp.login(ingress.secrets.user, "not-the-password")

    with pytest.raises(smtplib.SMTPAuthenticationError) as exc:
        await in_thread(send)
    assert exc.value.smtp_code == 535
    assert ingress.publisher.records == []


async def test_an_unknown_user_is_535(ingress: Ingress) -> None:
    def send() -> None:
        with ingress.client() as smtp:
            smtp.login("someone", ingress.secrets.password)

    with pytest.raises(smtplib.SMTPAuthenticationError) as exc:
        await in_thread(send)
    assert exc.value.smtp_code == 535


@pytest.mark.parametrize("mechanism", ["PLAIN", "LOGIN"])
async def test_the_signed_in_gateway_over_tls_gets_250(ingress: Ingress, mechanism: str) -> None:
    def send() -> dict[str, Any]:
        with ingress.client() as smtp:
            smtp.ehlo()
            smtp.user, smtp.password = ingress.secrets.user, ingress.secrets.password
            code, _ = smtp.auth(mechanism, getattr(smtp, f"auth_{mechanism.lower()}"))
            assert code == 235
            return smtp.sendmail("jan.jansen@example.nl", ["info@bergenopzoom.nl"], MAIL)

    assert await in_thread(send) == {}
    assert len(ingress.publisher.records) == 2  # contact.recorded, request.opened


async def test_implicit_tls_with_auth_gets_250(secrets: SmtpSecrets, reader: MailReader) -> None:
    server, running = await serve(secrets, reader, implicit=True)
    try:

        def send() -> dict[str, Any]:
            with running.client(implicit=True) as smtp:
                smtp.login(secrets.user, secrets.password)
                return smtp.sendmail("jan.jansen@example.nl", ["info@bergenopzoom.nl"], MAIL)

        assert await in_thread(send) == {}
        assert running.publisher.records
    finally:
        server.close()
        await server.wait_closed()


def signed_in(ingress: Ingress, raw: bytes) -> Callable[[], dict[str, Any]]:
    def send() -> dict[str, Any]:
        with ingress.client() as smtp:
            smtp.login(ingress.secrets.user, ingress.secrets.password)
            return smtp.sendmail("jan.jansen@example.nl", ["info@bergenopzoom.nl"], raw)

    return send


async def test_a_date_far_from_receipt_is_kept_as_a_claim_not_as_the_time(
    ingress: Ingress,
) -> None:
    forged = MAIL.replace(b"Mon, 30 Nov 2026 08:05:00 +0100", b"Thu, 01 Jan 2015 00:00:00 +0000")
    assert await in_thread(signed_in(ingress, forged)) == {}
    contact = decode(ingress.publisher.records[0].value)
    assert contact.time == RECEIVED
    assert isinstance(contact.data, ContactRecorded)
    assert contact.data.claimed_date == "Thu, 01 Jan 2015 00:00:00 +0000"


async def test_a_date_close_to_receipt_is_the_time(ingress: Ingress) -> None:
    assert await in_thread(signed_in(ingress, MAIL)) == {}
    contact = decode(ingress.publisher.records[0].value)
    assert contact.time == datetime(2026, 11, 30, 7, 5, tzinfo=UTC)
    assert isinstance(contact.data, ContactRecorded) and contact.data.claimed_date is None


def many_recipients(count: int) -> bytes:
    to = ",\r\n ".join(f"r{i}@example.nl" for i in range(count))  # folded: lines stay short
    return MAIL.replace(b"To: info@bergenopzoom.nl", f"To: {to}".encode())


def nested(depth: int) -> bytes:
    head = b"From: jan@example.nl\r\nSubject: diep\r\nMIME-Version: 1.0\r\n"
    parts = [head]
    for i in range(depth):
        parts.append(f'Content-Type: multipart/mixed; boundary="b{i}"\r\n\r\n--b{i}\r\n'.encode())
    parts.append(b"Content-Type: text/plain\r\n\r\nbodem\r\n")
    return b"".join(parts)


async def test_32k_recipients_are_refused_naming_the_limit(ingress: Ingress) -> None:
    with pytest.raises(smtplib.SMTPDataError) as exc:
        await in_thread(signed_in(ingress, many_recipients(32_000)))
    assert exc.value.smtp_code == 552  # 0.56 MB of headers: over the header size limit
    assert b"CONTACTMOMENT_EMAIL_MAX_HEADER_BYTES" in exc.value.smtp_error
    assert ingress.publisher.records == []


async def test_too_many_recipients_in_small_headers_are_554(ingress: Ingress) -> None:
    with pytest.raises(smtplib.SMTPDataError) as exc:
        await in_thread(signed_in(ingress, many_recipients(500)))
    assert exc.value.smtp_code == 554
    assert b"CONTACTMOMENT_EMAIL_MAX_RECIPIENTS" in exc.value.smtp_error


async def test_multipart_nested_2000_deep_is_554_naming_the_limit(ingress: Ingress) -> None:
    with pytest.raises(smtplib.SMTPDataError) as exc:
        await in_thread(signed_in(ingress, nested(2000)))
    assert exc.value.smtp_code == 554
    assert b"CONTACTMOMENT_EMAIL_MAX_DEPTH" in exc.value.smtp_error
    assert ingress.publisher.records == []


async def test_sessions_over_the_cap_are_told_to_come_back(
    secrets: SmtpSecrets, reader: MailReader
) -> None:
    server, running = await serve(secrets, reader, max_sessions=1)
    first = await in_thread(lambda: smtplib.SMTP("127.0.0.1", running.port, timeout=20))
    try:
        with pytest.raises(smtplib.SMTPConnectError) as exc:
            await in_thread(lambda: smtplib.SMTP("127.0.0.1", running.port, timeout=20))
        assert exc.value.smtp_code == 421
        assert b"too busy" in exc.value.smtp_error
    finally:
        await in_thread(first.close)
        server.close()
        await server.wait_closed()
