"""SMTP ingress (aiosmtpd) on 127.0.0.1: the mail gateway journals or BCCs messages here.

The reply to DATA is the delivery guarantee: 250 only after Kafka acknowledged the events;
451 (try again later) when Kafka or the key store is out, each named; 552 when an event is
over Kafka's record limit (retrying cannot help); 550 when the message cannot be mapped.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiosmtpd.smtp import SMTP

from schemas.events import Channel
from services.ingest.email import InvalidEmail, map_email, parse_email
from services.ingest.service import Ingest
from services.kafka.errors import KafkaAdapterError
from services.privacy.sealer import SealingUnavailable

log = logging.getLogger(__name__)


class IngestHandler:
    """aiosmtpd handler: one message in, one ingest call, one reply that says what happened."""

    def __init__(self, ingest: Ingest) -> None:
        self.ingest = ingest

    async def handle_DATA(self, server: SMTP, session: Any, envelope: Any) -> str:
        raw: bytes = envelope.original_content or envelope.content or b""
        try:
            mail = parse_email(raw)
            mapped = map_email(
                mail, self.ingest.pseudonyms, self.ingest.own_domains, self.ingest.clock()
            )
        except InvalidEmail as exc:
            self.ingest.rejected(Channel.EMAIL)
            log.info("smtp: rejected a message: %s", exc)
            return f"550 5.6.0 message not accepted: {exc}"
        try:
            await self.ingest.accept(Channel.EMAIL, mapped)
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


async def start_smtp(ingest: Ingest, host: str, port: int, max_bytes: int) -> asyncio.Server:
    """Listen for SMTP on host:port, refusing messages over `max_bytes`."""
    loop = asyncio.get_running_loop()
    handler = IngestHandler(ingest)
    return await loop.create_server(
        lambda: SMTP(
            handler,
            data_size_limit=max_bytes,
            hostname="contactmoment",
            ident="contactmoment ingest",
            enable_SMTPUTF8=True,
        ),
        host=host,
        port=port,
    )
