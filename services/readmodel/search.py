"""Customer search: the customers that carry a searched identifier, most recent contact
first, one page of them, in a fixed number of queries whatever the number of customers that
share the identifier (a switchboard, a care home, "number withheld")."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg

from services.readmodel import worklist
from services.readmodel.customers import Cluster, clusters, key_root_pairs


@dataclass(frozen=True)
class Candidate:
    """A customer a search found: its cluster, what the role rules need (the departments
    of its requests, whether any is overdue) and its last contact (for the order)."""

    group: Cluster
    departments: list[str | None]
    overdue: bool
    last_contact_at: datetime | None


@dataclass(frozen=True)
class Reach:
    """Which of the keys that carry a searched identifier a search considers: every one
    (the KCC answers anyone), or those with a request of `department` or, with `overdue`,
    an overdue request (services/api/policy.py::search_reach). The role rule itself is
    still applied to each cluster found; this only keeps a restricted role's page from
    filling with customers it may not see."""

    everyone: bool = True
    department: str | None = None
    overdue: bool = False


# The most recently contacted keys that carry one of the hashes and are within reach: one
# index probe of `customers` (and, for a restricted role, of `requests`) per carrier, as
# scalar subqueries so the plan never hashes a whole table, and a top-N sort; never a
# cluster per carrier.
CANDIDATES = (
    "SELECT m.customer_key FROM (SELECT DISTINCT customer_key FROM customer_identifiers"  # noqa: S608
    " WHERE hash = ANY($1)) AS m"
    # LIMIT 1 keeps the reach test a probe of the carrier's requests (an EXISTS would be
    # planned as a semi-join over every request of the department).
    " WHERE $3 OR COALESCE((SELECT true FROM requests r WHERE r.customer_key = m.customer_key"
    f" AND (r.department = $4 OR ($5 AND {worklist.OVERDUE})) LIMIT 1), false)"
    " ORDER BY (SELECT c.last_contact_at FROM customers c"
    " WHERE c.customer_key = m.customer_key) DESC NULLS LAST, m.customer_key LIMIT $2"
)


async def search(
    conn: asyncpg.Connection, hashes: list[str], window: int, reach: Reach = Reach()
) -> tuple[list[Candidate], bool]:
    """The customers carrying one of these identifier hashes, most recent contact first,
    each with its role scope, and whether there may be more than these.

    Only the `window` most recently contacted carriers within reach are read, and only
    their clusters are built: the number of queries is fixed and their cost follows the
    window, not the number of customers who share a number. A cluster's last contact is
    the latest of its keys' (a weak key it absorbed may be more recent than the carrier)."""
    picked = await conn.fetch(
        CANDIDATES, hashes, window, reach.everyone, reach.department, reach.overdue
    )
    groups: dict[str, Cluster] = {}
    for group in (await clusters(conn, [r["customer_key"] for r in picked])).values():
        groups.setdefault(group.root, group)
    if not groups:
        return [], False
    keys, roots = key_root_pairs(groups.values())
    scope = await conn.fetch(
        f"SELECT g.root, r.department, {worklist.OVERDUE} AS overdue FROM requests r"  # noqa: S608
        " JOIN unnest($1::text[], $2::text[]) AS g(key, root) ON r.customer_key = g.key",
        keys,
        roots,
    )
    recent = await conn.fetch(
        "SELECT g.root, max(c.last_contact_at) AS last_contact_at FROM customers c"
        " JOIN unnest($1::text[], $2::text[]) AS g(key, root) ON c.customer_key = g.key"
        " GROUP BY g.root",
        keys,
        roots,
    )
    departments: dict[str, list[str | None]] = {root: [] for root in groups}
    overdue: set[str] = set()
    for r in scope:
        departments[r["root"]].append(r["department"])
        if r["overdue"]:
            overdue.add(r["root"])
    last = {r["root"]: r["last_contact_at"] for r in recent}
    found = [
        Candidate(group, departments[root], root in overdue, last.get(root))
        for root, group in groups.items()
    ]
    # Most recent first, never-contacted last, the key as the tie-break (a stable order).
    found.sort(
        key=lambda c: (
            c.last_contact_at is None,
            -c.last_contact_at.timestamp() if c.last_contact_at else 0.0,
            c.group.root,
        )
    )
    return found, len(picked) >= window
