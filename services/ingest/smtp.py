"""SMTP ingress (aiosmtpd): the mail gateway journals or BCCs messages here, signed in.

Only an authenticated session may send: AUTH PLAIN or LOGIN, over STARTTLS or implicit TLS,
against the users file (services/ingest/smtp_auth.py); before that, MAIL FROM is answered
`530 5.7.0 Authentication required` and nothing is read or stored. At most
`max_sessions` sessions at a time; one more is told `421 4.7.0 too busy, try again later`.

The reply to DATA is the delivery guarantee: 250 only after Kafka acknowledged the events;
451 (try again later) when Kafka or the key store is out, each named; 552 when the message
or an event is over a size limit, 554 when it is over a structural limit (recipients, MIME
parts, nesting, parse time), 550 when it cannot be mapped: each names what is wrong.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

from schemas.events import Channel
from services.ingest.email import InvalidEmail, map_email
from services.ingest.mail_limits import MailLimitExceeded
from services.ingest.parse_pool import MailReader
from services.ingest.service import Ingest
from services.ingest.smtp_auth import SmtpUsers
from services.kafka.errors import KafkaAdapterError
from services.privacy.sealer import SealingUnavailable
from services.privacy.sealing import LooksSealed

log = logging.getLogger(__name__)

TOO_BUSY = "421 4.7.0 too busy, try again later"


@dataclass(frozen=True)
class SmtpSecurity:
    """Who may send, and the TLS that protects their password on the way."""

    users: SmtpUsers
    tls: ssl.SSLContext
    implicit_tls: bool = False
    """True: TLS from the first byte (port 465 style); False: STARTTLS, required before AUTH."""


def tls_context(cert: Path, key: Path) -> ssl.SSLContext:
    """The server side of TLS 1.2+ with the given certificate chain and key (PEM)."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cert, key)
    return context


class IngestHandler:
    """aiosmtpd handler: one message in, one ingest call, one reply that says what happened."""

    def __init__(
        self,
        ingest: Ingest,
        reader: MailReader,
        date_skew: timedelta = timedelta(days=1),
    ) -> None:
        self.ingest = ingest
        self.reader = reader
        self.date_skew = date_skew

    async def handle_DATA(self, server: SMTP, session: Any, envelope: Any) -> str:
        raw: bytes = envelope.original_content or envelope.content or b""
        received = self.ingest.clock()
        try:
            mail = await self.reader.read(raw)
            mapped = map_email(
                mail, self.ingest.pseudonyms, self.ingest.own_domains, received, self.date_skew
            )
        except MailLimitExceeded as exc:
            self.ingest.rejected(Channel.EMAIL)
            log.info("smtp: refused a message over a limit: %s", exc)
            if exc.size:
                return f"552 5.3.4 message not accepted: {exc}"
            return f"554 5.6.0 message not accepted: {exc}"
        except InvalidEmail as exc:
            self.ingest.rejected(Channel.EMAIL)
            log.info("smtp: rejected a message: %s", exc)
            return f"550 5.6.0 message not accepted: {exc}"
        try:
            await self.ingest.accept(Channel.EMAIL, mapped)
        except LooksSealed as exc:  # sealed text is made by the sealer, never taken from mail
            return f"550 5.6.0 message not accepted: {exc}"
        except SealingUnavailable as exc:
            log.warning("smtp: key store unavailable, asked the sender to retry: %s", exc)
            return "451 4.3.0 key store unavailable, nothing was stored; try again later"
        except KafkaAdapterError as exc:
            return _kafka_reply(exc)
        return "250 2.0.0 message accepted"


def _kafka_reply(exc: KafkaAdapterError) -> str:
    """The SMTP answer to a Kafka failure: temporary while it is retriable, else permanent."""
    if exc.retriable:
        log.warning("smtp: Kafka unavailable, asked the sender to retry: %s", exc)
        return "451 4.3.0 Kafka unavailable, nothing was stored; try again later"
    log.warning("smtp: Kafka refused the message for good: %s", exc)
    return f"552 5.3.4 message not stored: {exc}; retrying will not help"


class _Sessions:
    """How many sessions are open, against the cap (one event loop: no lock needed)."""

    def __init__(self, cap: int) -> None:
        self.cap, self.open = cap, 0


def _pending(server: SMTP, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
    """aiosmtpd's synchronous authenticator hook: only hands the credentials on, unchecked
    (GatewaySMTP checks them off the event loop)."""
    return AuthResult(success=False, handled=False, auth_data=data)


class GatewaySMTP(SMTP):
    """aiosmtpd's SMTP with the session cap and password checks that do not block the loop."""

    def __init__(
        self,
        handler: IngestHandler,
        users: SmtpUsers,
        sessions: _Sessions,
        implicit_tls: bool,
        **kw: Any,
    ) -> None:
        super().__init__(handler, authenticator=_pending, auth_require_tls=True, **kw)
        if implicit_tls:
            # aiosmtpd counts only STARTTLS as encryption; this socket is TLS from its first
            # byte (asyncio's ssl server), so AUTH is safe without STARTTLS.
            self._auth_require_tls = False
        self._users = users
        self._sessions = sessions

    async def _handle_client(self) -> None:
        if self._sessions.open >= self._sessions.cap:
            log.warning("smtp: %d sessions open, refused one more", self._sessions.open)
            await self.push(TOO_BUSY)
            assert self.transport is not None
            self.transport.close()
            return
        self._sessions.open += 1
        try:
            await super()._handle_client()
        finally:
            self._sessions.open -= 1

    async def auth_PLAIN(self, _: Any, args: list[str]) -> AuthResult:
        return await self._checked(await super().auth_PLAIN(_, args))

    async def auth_LOGIN(self, _: Any, args: list[str]) -> AuthResult:
        return await self._checked(await super().auth_LOGIN(_, args))

    async def _checked(self, pending: AuthResult) -> AuthResult:
        data = pending.auth_data
        if pending.handled or not isinstance(data, LoginPassword):
            return pending  # aiosmtpd already answered (bad base64, aborted)
        if await self._users.verify_off_loop(data.login, data.password):
            return AuthResult(success=True, auth_data=data.login)
        log.info("smtp: failed AUTH from %r", self.session.peer if self.session else None)
        return AuthResult(success=False, handled=False)


async def start_smtp(
    ingest: Ingest,
    host: str,
    port: int,
    max_bytes: int,
    *,
    security: SmtpSecurity,
    reader: MailReader,
    date_skew: timedelta = timedelta(days=1),
    max_sessions: int = 20,
) -> asyncio.Server:
    """Listen for SMTP on host:port: AUTH required over TLS, messages over `max_bytes`
    refused by size, at most `max_sessions` sessions at a time."""
    loop = asyncio.get_running_loop()
    handler = IngestHandler(ingest, reader, date_skew)
    sessions = _Sessions(max_sessions)
    implicit = security.implicit_tls
    return await loop.create_server(
        lambda: GatewaySMTP(
            handler,
            security.users,
            sessions,
            implicit,
            data_size_limit=max_bytes,
            hostname="contactmoment",
            ident="contactmoment ingest",
            enable_SMTPUTF8=True,
            # Implicit TLS: the socket is TLS already; otherwise STARTTLS before anything else.
            tls_context=None if implicit else security.tls,
            require_starttls=not implicit,
            auth_required=True,
            # A few guesses per connection, then the peer has to reconnect (and queue).
            command_call_limit={"AUTH": 3, "*": 100_000},
        ),
        host=host,
        port=port,
        ssl=security.tls if implicit else None,
    )
