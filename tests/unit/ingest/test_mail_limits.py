"""The pre-scan refuses what the parser should never see, and lets real mail through."""

import pytest

from services.ingest.email import InvalidEmail, parse_email
from services.ingest.mail_limits import MailLimitExceeded, MailLimits, prescan
from tests.unit.ingest.test_email import MULTIPART_ALTERNATIVE_QP, UNKNOWN_CHARSET_WITH_ATTACHMENT

LIMITS = MailLimits(header_bytes=4096, recipients=5, parts=6, depth=3)


def nested(depth: int) -> bytes:
    parts = [b"From: jan@example.nl\r\nSubject: diep\r\nMIME-Version: 1.0\r\n"]
    for i in range(depth):
        parts.append(f'Content-Type: multipart/mixed; boundary="b{i}"\r\n\r\n--b{i}\r\n'.encode())
    parts.append(b"Content-Type: text/plain\r\n\r\nbodem\r\n")
    return b"".join(parts)


def limit_of(raw: bytes, limits: MailLimits = LIMITS) -> str:
    with pytest.raises(MailLimitExceeded) as exc:
        prescan(raw, limits)
    assert exc.value.limit in str(exc.value)  # the answer names the limit
    return exc.value.limit


@pytest.mark.parametrize("raw", [MULTIPART_ALTERNATIVE_QP, UNKNOWN_CHARSET_WITH_ATTACHMENT])
def test_real_mail_passes(raw: bytes) -> None:
    prescan(raw, LIMITS)


def test_nesting_within_the_limit_passes_and_one_more_is_refused() -> None:
    prescan(nested(3), LIMITS)
    assert limit_of(nested(4)) == "CONTACTMOMENT_EMAIL_MAX_DEPTH"


def test_siblings_do_not_count_as_depth() -> None:
    siblings = b"From: a@example.nl\r\nContent-Type: multipart/mixed; boundary=top\r\n\r\n"
    for i in range(3):
        siblings += (
            f"--top\r\nContent-Type: multipart/alternative; boundary=s{i}\r\n\r\n"
            f"--s{i}\r\nContent-Type: text/plain\r\n\r\nx\r\n--s{i}--\r\n"
        ).encode()
    siblings += b"--top--\r\n"
    prescan(siblings, MailLimits(parts=10, depth=2))
    assert limit_of(siblings, MailLimits(parts=5, depth=2)) == "CONTACTMOMENT_EMAIL_MAX_PARTS"


def test_header_bytes_recipients() -> None:
    big = b"From: a@example.nl\r\nSubject: " + b"x" * 5000 + b"\r\n\r\nbody"
    assert limit_of(big) == "CONTACTMOMENT_EMAIL_MAX_HEADER_BYTES"
    to = b"From: a@example.nl\r\nTo: " + b",\r\n ".join(b"r%d@x.nl" % i for i in range(6))
    assert limit_of(to + b"\r\n\r\nbody") == "CONTACTMOMENT_EMAIL_MAX_RECIPIENTS"
    cc = b"From: a@example.nl\r\nTo: a@x.nl, b@x.nl, c@x.nl\r\nCc: d@x.nl, e@x.nl, f@x.nl"
    assert limit_of(cc + b"\r\n\r\nbody") == "CONTACTMOMENT_EMAIL_MAX_RECIPIENTS"


def test_recipients_in_the_body_do_not_count() -> None:
    prescan(b"From: a@example.nl\r\n\r\nTo: " + b"x@y.nl, " * 50, LIMITS)


def test_the_parser_s_own_recursion_error_is_a_clear_refusal() -> None:
    with pytest.raises(InvalidEmail) as exc:
        parse_email(nested(2000))  # what the pre-scan keeps from the parser
    assert exc.value.field == "message"


def test_the_refusal_crosses_a_process_boundary_intact() -> None:
    import pickle

    try:
        prescan(nested(4), LIMITS)
    except MailLimitExceeded as exc:
        again = pickle.loads(pickle.dumps(exc))  # noqa: S301 - our own bytes
        assert (again.field, again.limit, again.problem) == (exc.field, exc.limit, exc.problem)
    plain = pickle.loads(pickle.dumps(InvalidEmail("From", "missing")))  # noqa: S301
    assert (plain.field, plain.problem) == ("From", "missing")
