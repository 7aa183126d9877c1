"""The auditor's view of the access log (role `auditor`; nothing else opens it)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request

from schemas.keys import is_customer_key
from services.api.auth import requires
from services.api.database import connection
from services.api.problems import validation_problem

router = APIRouter(prefix="/v1", tags=["audit"], dependencies=[Depends(requires("auditor"))])


@router.get("/access-log")
async def get_access_log(
    request: Request,
    customer_key: str | None = None,
    staff_subject: str | None = None,
    start: Annotated[datetime | None, Query(alias="from")] = None,
    end: Annotated[datetime | None, Query(alias="to")] = None,
    limit: Annotated[int, Query(ge=1, le=5000)] = 500,
) -> dict[str, Any]:
    """Access records, newest first, filtered by customer, staff member and time."""
    if customer_key is not None and not is_customer_key(customer_key):
        raise validation_problem([{"field": "customer_key", "problem": "not a customer key"}])
    where: list[str] = []
    args: list[Any] = []
    for clause, value in (
        ("customer_key = ${}", customer_key),
        ("staff_subject = ${}", staff_subject),
        ("occurred_at >= ${}", start),
        ("occurred_at < ${}", end),
    ):
        if value is not None:
            args.append(value)
            where.append(clause.format(len(args)))
    args.append(limit)
    sql = (
        "SELECT event_id, occurred_at, customer_key, trace_id, span_id, name, endpoint, purpose,"  # noqa: S608
        " processing_activity, staff_subject, role, department FROM access_log"
        + (f" WHERE {' AND '.join(where)}" if where else "")
        + f" ORDER BY occurred_at DESC, event_id LIMIT ${len(args)}"
    )
    async with connection(request) as conn:
        rows = await conn.fetch(sql, *args)
    return {
        "items": [
            {**dict(r), "event_id": str(r["event_id"]), "occurred_at": r["occurred_at"].isoformat()}
            for r in rows
        ]
    }
