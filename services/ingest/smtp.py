"""SMTP ingress (aiosmtpd) on 127.0.0.1: the mail gateway journals or BCCs messages here.

The reply to DATA is the delivery guarantee: 250 only after Kafka acknowledged the events,
451 (try again later) when it did not, 550 when the message cannot be mapped at all.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiosmtpd.smtp import SMTP

from schemas.events import Channel
from services.ingest.email import InvalidEmail, map_email, parse_email
from services.ingest.service import Ingest
from services.kafka.publisher import PublishError

log = logging.getLogger(__name__)


class IngestHandler:
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
        except PublishError as exc:
            log.warning("smtp: Kafka unavailable, asked the sender to retry: %s", exc)
            return "451 4.3.0 cannot store the message right now; try again later"
        return "250 2.0.0 message accepted"


async def start_smtp(ingest: Ingest, host: str, port: int, max_bytes: int) -> asyncio.Server:
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
