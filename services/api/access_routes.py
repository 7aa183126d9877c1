"""The auditor's view of the access log (role `auditor`; nothing else opens it)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request

from schemas.keys import is_customer_key
from services.api.auth import requires
from services.api.database import connection
from services.api.problems import validation_problem
from services.readmodel import access_log

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
    async with connection(request) as conn:
        items = await access_log.entries(
            conn,
            customer_keys=[customer_key] if customer_key else None,
            staff_subject=staff_subject,
            start=start,
            end=end,
            limit=limit,
        )
    return {"items": items}
