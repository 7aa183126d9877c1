"""E-mail parsing off the event loop: a small process pool with a deadline per message.

The API process serves staff, residents and ingest on one event loop; parsing a hostile
message there would stall all of them. `MailReader.read` checks the header limits on the
loop (they read at most the header limit), then hands the bytes to a worker process that
checks the MIME structure and parses. A message not parsed within the timeout is refused
and the pool's processes are replaced, so a stuck parse holds no worker.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from services.ingest.email import InvalidEmail, ParsedMail, parse_email
from services.ingest.mail_limits import (
    MailLimitExceeded,
    MailLimits,
    check_headers,
    check_structure,
)

log = logging.getLogger(__name__)


TIMEOUT_LIMIT = "CONTACTMOMENT_EMAIL_PARSE_TIMEOUT_SECONDS"


def parse_timeout(seconds: float) -> MailLimitExceeded:
    """The refusal of a message not parsed within the timeout."""
    return MailLimitExceeded(
        "message",
        TIMEOUT_LIMIT,
        seconds,
        problem=f"not parsed within {TIMEOUT_LIMIT} = {seconds:g}",
    )


def _parse_checked(raw: bytes, limits: MailLimits) -> ParsedMail:
    """In the worker: the structure limits first, so an over-limit message is never parsed."""
    check_structure(raw, limits)
    return parse_email(raw)


class MailReader:
    """Limits, then a parse in a worker process under a deadline; shared by HTTP and SMTP."""

    def __init__(self, limits: MailLimits, timeout: float = 10.0, workers: int = 2) -> None:
        self.limits = limits
        self.timeout = timeout
        self.workers = workers
        self._pool: ProcessPoolExecutor | None = None
        # One message per worker at a time, so the deadline measures its parse, not a queue.
        self._slots = asyncio.Semaphore(workers)

    def _executor(self) -> ProcessPoolExecutor:
        if self._pool is None:
            # spawn: a fresh interpreter, not a fork of a process running threads and sockets.
            self._pool = ProcessPoolExecutor(
                self.workers, mp_context=multiprocessing.get_context("spawn")
            )
        return self._pool

    async def start(self) -> None:
        """Start the workers now (an interpreter each), so the first message is not slowed."""
        loop = asyncio.get_running_loop()
        pool = self._executor()
        await asyncio.gather(*(loop.run_in_executor(pool, _warm) for _ in range(self.workers)))

    async def read(self, raw: bytes) -> ParsedMail:
        """The parsed message; InvalidEmail (MailLimitExceeded for a limit) when refused."""
        if not raw.strip():
            raise InvalidEmail("message", "is empty")
        check_headers(raw, self.limits)
        async with self._slots:
            for attempt in (1, 2):
                pool = self._executor()
                future = asyncio.get_running_loop().run_in_executor(
                    pool, _parse_checked, raw, self.limits
                )
                try:
                    return await asyncio.wait_for(future, self.timeout)
                except TimeoutError:
                    log.warning(
                        "e-mail parse over %.1f s: replacing the parse workers", self.timeout
                    )
                    self._replace(pool)
                    raise parse_timeout(self.timeout) from None
                except BrokenProcessPool:
                    # Another message's timeout replaced the pool under this one: once more.
                    self._replace(pool)
                    if attempt == 2:
                        raise
        raise AssertionError("unreachable")

    def _replace(self, pool: ProcessPoolExecutor) -> None:
        if self._pool is pool:
            self._pool = None
        # The pool API cannot stop a running task: end its processes (they hold no state).
        for process in list(getattr(pool, "_processes", {}).values()):
            process.terminate()
        pool.shutdown(wait=False, cancel_futures=True)

    def close(self) -> None:
        """Stop the workers (at shutdown)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


def _warm() -> None:
    """Nothing: importing this module in the worker is the work."""
