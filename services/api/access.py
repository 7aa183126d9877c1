"""The access log's write side: every staff read of personal data is published to
contact.access.v1 before the answer leaves, with the purpose the caller gave.

A read whose record Kafka does not acknowledge is not answered (503, from the error's own
flags in services/api/problems.py): no read without a record. Fields follow the Logboek
Dataverwerkingen where it fits (docs/privacy.md).
"""

from __future__ import annotations

import re
import secrets
import tomllib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from fastapi import Request

from schemas.envelope import new_event
from schemas.events import AccessLogged, EventType
from schemas.identifiers import redact_bsns
from schemas.topics import ACCESS
from services.api.auth import Staff
from services.api.problems import Problem
from services.api.state import services
from services.kafka.publisher import to_record
from services.metrics import ACCESS_RECORDS

PURPOSE_MAX = 500  # characters
TRACEPARENT = re.compile(r"^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$")


@dataclass(frozen=True)
class Purpose:
    text: str
    activity: str | None = None  # the registered processing activity's URI


def load_activities(path: Path) -> dict[str, tuple[str, str]]:
    """Registered processing activities: id → (name, URI)."""
    if not path.exists():
        return {}
    table = tomllib.loads(path.read_text()).get("activities", {})
    return {key: (str(v["name"]), str(v["uri"])) for key, v in table.items()}


def purpose(request: Request) -> Purpose:
    """FastAPI dependency: the X-Purpose of a read; 400 without one."""
    raw = request.headers.get("x-purpose", "").strip()
    activities = services(request).activities
    if not raw:
        raise Problem(
            400,
            "Purpose required",
            "every read of personal data needs an `X-Purpose` header: a registered "
            "processing activity id ("
            + ", ".join(sorted(activities))
            + ") or a short free-text reason",
        )
    if len(raw) > PURPOSE_MAX:
        raise Problem(400, "Purpose too long", f"X-Purpose: at most {PURPOSE_MAX} characters")
    return resolve(activities, raw)


def resolve(activities: dict[str, tuple[str, str]], raw: str) -> Purpose:
    """A registered processing activity id becomes its name and URI; anything else is text,
    kept with its BSNs redacted (staff type "belde over 123456782"; the access log is read
    by auditors and by the resident, and kept for years)."""
    registered = activities.get(raw)
    return Purpose(*registered) if registered else Purpose(redact_bsns(raw))


async def record(
    request: Request, staff: Staff, why: Purpose, name: str, reads: dict[str, str]
) -> None:
    """Publish one access record per customer read (`reads`: customer key → the role that
    granted it), in one call. Raises the publisher's KafkaAdapterError when Kafka does not
    take them (answered 503 while it is retriable), so the read is not answered."""
    if not reads:
        return
    match = TRACEPARENT.match(request.headers.get("traceparent", ""))
    trace_id = match.group(1) if match else secrets.token_hex(16)
    route = request.scope.get("route")
    endpoint = f"{request.method} {getattr(route, 'path', request.url.path)}"
    now = datetime.now(UTC)
    events = []
    for key, role in reads.items():
        span_id = secrets.token_hex(8)
        events.append(
            new_event(
                EventType.ACCESS_LOGGED,
                source="urn:contactmoment:api",
                source_id=f"{trace_id}:{span_id}",
                subject=key,
                time=now,
                data=AccessLogged(
                    trace_id=trace_id,
                    span_id=span_id,
                    name=name,
                    endpoint=endpoint,
                    purpose=why.text,
                    processing_activity=why.activity,
                    staff_subject=staff.subject,
                    role=role,
                    department=staff.department,
                ),
            )
        )
    await services(request).publisher.send_records([to_record(e, ACCESS) for e in events])
    for role in reads.values():
        ACCESS_RECORDS.labels(role).inc()
