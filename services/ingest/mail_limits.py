"""Limits an e-mail must keep before it is parsed, checked by a cheap scan of the raw bytes.

The standard library's parser is thorough but not cheap: a `To:` of 32,000 addresses takes
seconds, and multipart nested a few thousand deep exhausts the recursion limit. This scan
costs one pass of C-level searches over the bytes, so a message over a limit is refused
before any parser sees it, with the limit named.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from services.ingest.email import InvalidEmail


@dataclass(frozen=True)
class MailLimits:
    """What one message may contain; every field maps to a CONTACTMOMENT_EMAIL_MAX_* setting."""

    header_bytes: int = 64 * 1024
    recipients: int = 100
    parts: int = 100
    depth: int = 10


class MailLimitExceeded(InvalidEmail):
    """The message is over one of the limits; `limit` names it, `size` says whether it is a
    size limit (HTTP 413, SMTP 552) or a structural one (HTTP 422, SMTP 554)."""

    def __init__(
        self,
        field: str,
        limit: str,
        maximum: float,
        *,
        size: bool = False,
        problem: str | None = None,
    ) -> None:
        super().__init__(field, problem or f"over the limit {limit} = {maximum:g}")
        self.limit, self.maximum, self.size = limit, maximum, size

    def __reduce__(self) -> tuple[object, ...]:
        return (_rebuild, (self.field, self.limit, self.maximum, self.size, self.problem))


def _rebuild(field: str, limit: str, maximum: float, size: bool, problem: str) -> MailLimitExceeded:
    return MailLimitExceeded(field, limit, maximum, size=size, problem=problem)


_HEADER_END = re.compile(rb"\r?\n\r?\n")
_RECIPIENT_HEADER = re.compile(rb"^(?:to|cc)[ \t]*:([^\n]*(?:\n[ \t][^\n]*)*)", re.I | re.M)
# In order of occurrence: a multipart Content-Type with its (possibly folded) parameters, or
# a line that may be a boundary delimiter (`--b`, `--b--`).
_STRUCTURE = re.compile(
    rb"^(?:content-type[ \t]*:[ \t]*(?P<multipart>multipart/[^\n]*(?:\n[ \t][^\n]*)*)"
    rb"|--(?P<delimiter>[^\r\n]{1,200}?)[ \t]*\r?$)",
    re.I | re.M,
)
_BOUNDARY = re.compile(rb'boundary[ \t]*=[ \t]*(?:"([^"\r\n]{1,200})"|([^\s;"]{1,200}))', re.I)


def prescan(raw: bytes, limits: MailLimits) -> None:
    """Raise MailLimitExceeded when `raw` is over a limit; parse nothing."""
    check_headers(raw, limits)
    check_structure(raw, limits)


def check_headers(raw: bytes, limits: MailLimits) -> None:
    """Header size and recipient count: reads at most `header_bytes` (cheap on any loop)."""
    end = _HEADER_END.search(raw, 0, limits.header_bytes + 4)
    header_size = end.start() if end else len(raw)
    if header_size > limits.header_bytes:
        raise MailLimitExceeded(
            "headers", "CONTACTMOMENT_EMAIL_MAX_HEADER_BYTES", limits.header_bytes, size=True
        )
    header = raw[:header_size]
    addresses = sum(m.group(1).count(b"@") for m in _RECIPIENT_HEADER.finditer(header))
    if addresses > limits.recipients:
        raise MailLimitExceeded("To", "CONTACTMOMENT_EMAIL_MAX_RECIPIENTS", limits.recipients)


def check_structure(raw: bytes, limits: MailLimits) -> None:
    """MIME parts and nesting, from the boundaries each multipart declares.

    One pass in order of occurrence: a declaration opens a level inside the current one;
    `--b` starts a part of level b (closing any level opened inside it); `--b--` closes b.
    A line that only looks like a delimiter (no such boundary declared) is skipped. Its cost
    grows with the lines starting with `--`, so it runs where a timeout bounds it.
    """
    stack: list[bytes] = []
    declared: set[bytes] = set()
    parts = 0
    for match in _STRUCTURE.finditer(raw):
        multipart, token = match.group("multipart"), match.group("delimiter")
        if multipart is not None:
            found = _BOUNDARY.search(multipart)
            if not found:
                continue
            boundary = found.group(1) or found.group(2)
            declared.add(boundary)
            stack.append(boundary)
            if len(stack) > limits.depth:
                raise MailLimitExceeded(
                    "Content-Type", "CONTACTMOMENT_EMAIL_MAX_DEPTH", limits.depth
                )
        elif token in declared and token in stack:
            del stack[stack.index(token) + 1 :]
            parts += 1
        elif token.endswith(b"--") and token[:-2] in stack:
            del stack[stack.index(token[:-2]) :]
            continue
        else:
            continue
        if parts > limits.parts:
            raise MailLimitExceeded("Content-Type", "CONTACTMOMENT_EMAIL_MAX_PARTS", limits.parts)
