"""Raw e-mail (RFC 5322 / MIME) → events, using only the standard library's parser.

A new inbound thread opens a `question`; replies land on the request of the thread's root
Message-ID; mail from the municipality's own domains is outbound and answers its thread.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email import policy
from email.message import EmailMessage, Message
from email.parser import BytesParser
from email.utils import getaddresses, parsedate_to_datetime
from html.parser import HTMLParser

from schemas.events import (
    Attachment,
    Channel,
    ContactRecorded,
    Direction,
    EventType,
    RequestAnswered,
    RequestType,
)
from schemas.identifiers import IdentifierKind, InvalidIdentifier, normalise, redact_bsns
from schemas.keys import Pseudonymiser
from services.ingest.common import (
    TYPED,
    EventBuilder,
    Mapped,
    clean,
    identifiers,
    request_id_for,
)

NO_SUBJECT = "(geen onderwerp)"
DEFAULT_DATE_SKEW = timedelta(days=1)


class InvalidEmail(ValueError):
    """The message cannot be mapped; `field` is the header or part that is wrong."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem

    def __reduce__(self) -> tuple[object, ...]:
        # Parsing runs in a worker process: the error must cross back intact.
        return (type(self), (self.field, self.problem))


@dataclass(frozen=True)
class ParsedMail:
    message_id: str
    thread_root: str
    is_reply: bool
    sender: str
    recipients: tuple[str, ...]
    subject: str
    sent_at: datetime | None
    date_header: str
    text: str
    attachments: tuple[Attachment, ...]


def parse_email(raw: bytes) -> ParsedMail:
    """Headers, body text and attachment list of one message; InvalidEmail when unusable."""
    if not raw.strip():
        raise InvalidEmail("message", "is empty")
    try:
        return _parse(raw)
    except InvalidEmail:
        raise
    except RecursionError:
        raise InvalidEmail("message", "its MIME structure is nested too deeply") from None
    except Exception as exc:  # the parser's own defects: a clear refusal, never a 500
        raise InvalidEmail("message", f"cannot be parsed ({type(exc).__name__})") from None


def _parse(raw: bytes) -> ParsedMail:
    msg = BytesParser(policy=policy.default).parsebytes(raw)
    senders = _addresses(msg, "From")
    if not senders:
        raise InvalidEmail("From", "missing, or not an e-mail address")
    message_id = _message_id(msg.get("Message-ID")) or (
        "sha256-" + hashlib.sha256(raw).hexdigest()[:40]  # deterministic for retries
    )
    references = [r for r in (_message_ids(msg.get("References"))) if r]
    in_reply_to = _message_id(msg.get("In-Reply-To"))
    root = references[0] if references else (in_reply_to or message_id)
    text, attachments = _body(msg)
    return ParsedMail(
        message_id=message_id,
        thread_root=root,
        is_reply=bool(references or in_reply_to),
        sender=senders[0],
        recipients=tuple(_addresses(msg, "To") + _addresses(msg, "Cc")),
        subject=_header_text(msg, "Subject") or NO_SUBJECT,
        sent_at=_date(msg),
        date_header=_header_text(msg, "Date")[:200],
        text=text,
        attachments=tuple(attachments),
    )


def event_time(
    mail: ParsedMail, received_at: datetime, max_skew: timedelta
) -> tuple[datetime, str | None]:
    """When the contact happened, and the Date header kept as a claim when it was not used.

    The Date header is whatever the sender wrote: it is believed only within `max_skew` of
    the time the message was received, so a forged date cannot move a request's clock.
    """
    sent = mail.sent_at
    if sent is not None and abs(sent - received_at) <= max_skew:
        return sent, None
    return received_at, mail.date_header or None


def map_email(
    mail: ParsedMail,
    pseudonyms: Pseudonymiser,
    own_domains: frozenset[str],
    received_at: datetime,
    max_date_skew: timedelta = DEFAULT_DATE_SKEW,
) -> Mapped:
    """The events of one parsed message, dated by `event_time`."""
    outbound = _domain(mail.sender) in own_domains
    if outbound:
        customers = [a for a in mail.recipients if _domain(a) not in own_domains]
        if not customers:
            raise InvalidEmail(
                "To", f"an outbound message needs a recipient outside {', '.join(own_domains)}"
            )
        customer = customers[0]
    else:
        customer = mail.sender
    # A From or To header proves nothing about whose address it is: typed.
    idents = identifiers(pseudonyms, (IdentifierKind.EMAIL, customer, TYPED))
    events = EventBuilder(Channel.EMAIL, mail.message_id, idents)
    when, claimed_date = event_time(mail, received_at, max_date_skew)
    opens = not outbound and not mail.is_reply
    in_request = opens or mail.is_reply
    request_id = request_id_for(Channel.EMAIL, mail.thread_root) if in_request else None
    subject = clean(mail.subject, 500) or NO_SUBJECT
    events.add(
        EventType.CONTACT_RECORDED,
        when,
        ContactRecorded(
            channel=Channel.EMAIL,
            direction=Direction.OUTBOUND if outbound else Direction.INBOUND,
            subject=subject,
            outcome="sent" if outbound else "received",
            identifiers=idents,
            summary=clean(mail.text),
            request_id=request_id,
            thread_id=mail.thread_root[:998],
            attachments=list(mail.attachments) or None,
            claimed_date=claimed_date,
        ),
    )
    if opens and request_id:
        events.open_request(when, request_id, RequestType.QUESTION, subject)
    elif outbound and request_id:
        events.add(EventType.REQUEST_ANSWERED, when, RequestAnswered(request_id=request_id))
    return events.result()


# -- header helpers -------------------------------------------------------------------------


def _header_text(msg: Message, name: str) -> str:
    try:
        value = msg.get(name)
    except (ValueError, IndexError, TypeError):  # a header the parser cannot decode
        return ""
    return " ".join(str(value).split()) if value is not None else ""


def _addresses(msg: Message, name: str) -> list[str]:
    """Valid addresses in a header, normalised; invalid entries are skipped."""
    found = []
    for header in msg.get_all(name, []) or []:
        addresses = getattr(header, "addresses", None)
        if addresses is not None:
            pairs = [(a.display_name, a.addr_spec) for a in addresses]
        else:
            pairs = getaddresses([str(header)])
        for _display, addr in pairs:
            try:
                found.append(normalise(IdentifierKind.EMAIL, addr))
            except InvalidIdentifier:
                continue
    return found


def _domain(address: str) -> str:
    return address.rpartition("@")[2].lower()


def _message_id(value: object) -> str | None:
    ids = _message_ids(value)
    return ids[0] if ids else None


def _message_ids(value: object) -> list[str]:
    if value is None:
        return []
    return [part.strip("<>") for part in str(value).split() if part.strip("<>")]


def _date(msg: Message) -> datetime | None:
    raw = _header_text(msg, "Date")
    if not raw:
        return None
    try:
        sent = parsedate_to_datetime(raw)
    except (TypeError, ValueError, IndexError):
        return None
    return sent if sent.tzinfo else sent.replace(tzinfo=UTC)


# -- body helpers ---------------------------------------------------------------------------


def _body(msg: EmailMessage) -> tuple[str, list[Attachment]]:
    plain = html = None
    attachments = []
    for part in msg.walk():
        if part.is_multipart():
            continue
        disposition = part.get_content_disposition()
        if disposition == "attachment" or (disposition == "inline" and part.get_filename()):
            payload = part.get_payload(decode=True) or b""
            attachments.append(
                Attachment(
                    name=redact_bsns(part.get_filename() or "naamloos")[:500],
                    content_type=part.get_content_type()[:200],
                    size=len(payload),
                )
            )
        elif part.get_content_type() == "text/plain" and plain is None:
            plain = _decoded_text(part)
        elif part.get_content_type() == "text/html" and html is None:
            html = _decoded_text(part)
    if plain is not None and plain.strip():
        return plain, attachments
    return (_html_to_text(html) if html else ""), attachments


def _decoded_text(part: Message) -> str:
    """Body text in its declared charset; an unknown or wrong charset falls back to latin-1."""
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return ""
    charset = part.get_content_charset() or "us-ascii"
    try:
        return payload.decode(charset)
    except (LookupError, UnicodeDecodeError):
        try:
            return payload.decode("utf-8")
        except UnicodeDecodeError:
            return payload.decode("latin-1")


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: object) -> None:
        if tag in ("script", "style"):
            self._skip += 1
        elif tag in ("br", "p", "div", "li", "tr"):
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style") and self._skip:
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def _html_to_text(html: str) -> str:
    extractor = _TextExtractor()
    extractor.feed(html)
    lines = ("".join(extractor.parts)).splitlines()
    return "\n".join(" ".join(line.split()) for line in lines if line.strip())
