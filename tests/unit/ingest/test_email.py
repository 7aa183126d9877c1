"""Raw e-mail → events, on messages as real mail clients and gateways produce them."""

from datetime import UTC, datetime

import pytest

from schemas.events import ContactRecorded, EventType, RequestAnswered, RequestOpened
from schemas.identifiers import IdentifierKind
from schemas.keys import Pseudonymiser, customer_key
from services.ingest.email import InvalidEmail, map_email, parse_email
from tests.unit.ingest.conftest import BSN_A

OWN = frozenset({"bergenopzoom.nl"})
NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def crlf(text: str) -> bytes:
    return text.strip("\n").replace("\n", "\r\n").encode("latin-1") + b"\r\n"


MULTIPART_ALTERNATIVE_QP = crlf("""
From: =?utf-8?q?Jos=C3=A9_de_Vries?= <Jose.deVries@Example.NL>
To: Gemeente <info@bergenopzoom.nl>
Subject: =?utf-8?b?VnJhYWcgb3ZlciBkZSBXT1otd2FhcmRl?=
Message-ID: <CAF+1234@mail.example.nl>
Date: Mon, 30 Nov 2026 08:05:00 +0100
MIME-Version: 1.0
Content-Type: multipart/alternative; boundary="alt"

--alt
Content-Type: text/plain; charset="utf-8"
Content-Transfer-Encoding: quoted-printable

Geachte heer/mevrouw, de WOZ-waarde van mijn woning klopt niet. Mijn BSN =
is 111222333. Met vriendelijke groet, Jos=C3=A9
--alt
Content-Type: text/html; charset="utf-8"
Content-Transfer-Encoding: quoted-printable

<p>Geachte heer/mevrouw, de WOZ-waarde klopt niet.</p>
--alt--
""")

HTML_ONLY_WINDOWS_1252 = crlf("""
From: Els <els@example.nl>
To: info@bergenopzoom.nl
Subject: Klacht
Message-ID: <els-1@example.nl>
MIME-Version: 1.0
Content-Type: text/html; charset=windows-1252
Content-Transfer-Encoding: quoted-printable

<html><head><style>p {color: red}</style></head><body><p>Ik ben =93boos=94 =
=96 niemand belt terug.</p><p>Caf=E9</p></body></html>
""")

UNKNOWN_CHARSET_WITH_ATTACHMENT = crlf("""
From: piet@example.nl
To: info@bergenopzoom.nl
Subject: foto's
Message-ID: <piet-1@example.nl>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="mix"

--mix
Content-Type: text/plain; charset=x-unknown-charset
Content-Transfer-Encoding: 8bit

Zie bijlage: gat in de weg bij de Grote Markt.
--mix
Content-Type: image/jpeg; name="gat.jpg"
Content-Disposition: attachment; filename="gat.jpg"
Content-Transfer-Encoding: base64

/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAAgGBgcGBQgHBwcJCQgKDA==
--mix
Content-Type: application/pdf
Content-Disposition: attachment; filename="=?utf-8?q?brief_gemeente.pdf?="
Content-Transfer-Encoding: base64

JVBERi0xLjQK
--mix--
""")

MISSING_HEADERS = crlf("""
From: anoniem@example.nl

Alleen een regel tekst, geen onderwerp, geen datum, geen Message-ID.
""")

REPLY = crlf("""
From: Jose.deVries@example.nl
To: info@bergenopzoom.nl
Subject: Re: Vraag over de WOZ-waarde
Message-ID: <CAF+5678@mail.example.nl>
In-Reply-To: <answer-1@bergenopzoom.nl>
References: <CAF+1234@mail.example.nl> <answer-1@bergenopzoom.nl>
Date: Wed, 02 Dec 2026 10:00:00 +0100
Content-Type: text/plain; charset=iso-8859-1
Content-Transfer-Encoding: 8bit

Dank u wel. Groet, Jos\xe9
""")

OUTBOUND_ANSWER = crlf("""
From: KCC <kcc@BergenOpZoom.nl>
To: Jose.deVries@example.nl
Cc: archief@bergenopzoom.nl
Subject: Re: Vraag over de WOZ-waarde
Message-ID: <answer-1@bergenopzoom.nl>
In-Reply-To: <CAF+1234@mail.example.nl>
Date: Tue, 01 Dec 2026 14:00:00 +0100

U krijgt binnen twee weken een nieuwe beschikking.
""")


def mapped(raw: bytes, pseudonyms: Pseudonymiser):  # type: ignore[no-untyped-def]
    return map_email(parse_email(raw), pseudonyms, OWN, NOW)


def test_new_thread_opens_a_question(pseudonyms: Pseudonymiser) -> None:
    result = mapped(MULTIPART_ALTERNATIVE_QP, pseudonyms)
    assert [e.type for e in result.events] == [
        EventType.CONTACT_RECORDED,
        EventType.REQUEST_OPENED,
    ]
    contact, opened = (e.data for e in result.events)
    assert isinstance(contact, ContactRecorded) and isinstance(opened, RequestOpened)
    assert contact.direction == "inbound"
    assert contact.subject == "Vraag over de WOZ-waarde"
    assert contact.summary is not None and "klopt niet" in contact.summary
    assert "José" in contact.summary  # quoted-printable UTF-8 decoded
    assert BSN_A not in contact.summary  # redacted
    assert opened.request_type == "question" and opened.request_id == contact.request_id
    assert contact.thread_id == "CAF+1234@mail.example.nl"
    email = pseudonyms.identifier(IdentifierKind.EMAIL, "jose.devries@example.nl")
    assert result.customer_key == customer_key([email])
    assert result.events[0].time == datetime(2026, 11, 30, 7, 5, tzinfo=UTC)


def test_html_only_windows_1252_becomes_text(pseudonyms: Pseudonymiser) -> None:
    contact = mapped(HTML_ONLY_WINDOWS_1252, pseudonyms).events[0].data
    assert isinstance(contact, ContactRecorded)
    assert contact.summary == "Ik ben “boos” – niemand belt terug.\nCafé"


def test_attachments_are_listed_not_stored(pseudonyms: Pseudonymiser) -> None:
    contact = mapped(UNKNOWN_CHARSET_WITH_ATTACHMENT, pseudonyms).events[0].data
    assert isinstance(contact, ContactRecorded)
    assert contact.summary == "Zie bijlage: gat in de weg bij de Grote Markt."
    assert contact.attachments is not None
    assert [(a.name, a.content_type) for a in contact.attachments] == [
        ("gat.jpg", "image/jpeg"),
        ("brief gemeente.pdf", "application/pdf"),
    ]
    assert [a.size for a in contact.attachments] == [40, 9]
    assert "/9j/" not in result_json(UNKNOWN_CHARSET_WITH_ATTACHMENT, pseudonyms)


def result_json(raw: bytes, pseudonyms: Pseudonymiser) -> str:
    return "".join(e.model_dump_json() for e in mapped(raw, pseudonyms).events)


def test_missing_headers_still_map_deterministically(pseudonyms: Pseudonymiser) -> None:
    first = mapped(MISSING_HEADERS, pseudonyms)
    again = mapped(MISSING_HEADERS, pseudonyms)
    assert [e.id for e in first.events] == [e.id for e in again.events]
    contact = first.events[0].data
    assert isinstance(contact, ContactRecorded)
    assert contact.subject == "(geen onderwerp)"
    assert first.events[0].time == NOW  # no Date header: the time it was received


def test_reply_lands_on_the_request_of_the_thread_root(pseudonyms: Pseudonymiser) -> None:
    question = mapped(MULTIPART_ALTERNATIVE_QP, pseudonyms)
    reply = mapped(REPLY, pseudonyms)
    assert [e.type for e in reply.events] == [EventType.CONTACT_RECORDED]
    first, answer = question.events[1].data, reply.events[0].data
    assert isinstance(first, RequestOpened) and isinstance(answer, ContactRecorded)
    assert answer.request_id == first.request_id
    assert answer.summary == "Dank u wel. Groet, José"  # iso-8859-1 body decoded
    assert reply.customer_key == question.customer_key


def test_outbound_mail_answers_its_thread(pseudonyms: Pseudonymiser) -> None:
    question = mapped(MULTIPART_ALTERNATIVE_QP, pseudonyms)
    answer = mapped(OUTBOUND_ANSWER, pseudonyms)
    assert [e.type for e in answer.events] == [
        EventType.CONTACT_RECORDED,
        EventType.REQUEST_ANSWERED,
    ]
    contact, answered = (e.data for e in answer.events)
    assert isinstance(contact, ContactRecorded) and isinstance(answered, RequestAnswered)
    assert contact.direction == "outbound"
    opened = question.events[1].data
    assert isinstance(opened, RequestOpened)
    assert answered.request_id == opened.request_id
    assert answer.customer_key == question.customer_key  # the recipient, not our own address


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        (b"", "message"),
        (b"\r\n\r\n", "message"),
        (crlf("To: info@bergenopzoom.nl\nSubject: x\n\nbody"), "From"),
        (crlf("From: not an address\n\nbody"), "From"),
        (crlf("From: kcc@bergenopzoom.nl\nTo: archief@bergenopzoom.nl\n\nintern"), "To"),
    ],
)
def test_unusable_messages_name_the_header(
    raw: bytes, field: str, pseudonyms: Pseudonymiser
) -> None:
    with pytest.raises(InvalidEmail) as exc:
        mapped(raw, pseudonyms)
    assert exc.value.field == field
