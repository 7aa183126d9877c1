"""Which staff steps a request's status allows: the lifecycle's rules (lifecycle.py) read
the other way round, for the pages that offer a button per step.

A step is offered when folding it would do what its name says; a step the fold ignores
(resuming an open request, answering a closed one) is not offered, so a page never shows a
button that does nothing. One step the fold takes is still not offered: acknowledging a
closed request (a channel system may send a late one; for staff there is nothing left to
confirm). tests/unit/domain/test_steps.py folds every step on every status
to keep this table and the fold in agreement.
"""

from __future__ import annotations

from domain.clock.lifecycle import ANSWERED, OPEN, RESOLVED, SUSPENDED, WITHDRAWN

STAFF_STEPS = (
    "acknowledged",
    "interim-update",
    "answered",
    "resolved",
    "suspended",
    "resumed",
    "extended",
    "withdrawn",
    "reopened",
)
"""Every step staff can take, in the order a page offers them."""

ALLOWED: dict[str, frozenset[str]] = {
    OPEN: frozenset(
        {"acknowledged", "interim-update", "answered", "resolved", "suspended", "extended"}
        | {"withdrawn"}
    ),
    SUSPENDED: frozenset(
        {"acknowledged", "interim-update", "answered", "resolved", "resumed", "extended"}
        | {"withdrawn"}
    ),
    ANSWERED: frozenset({"resolved", "withdrawn", "reopened"}),
    RESOLVED: frozenset({"reopened"}),
    WITHDRAWN: frozenset({"reopened"}),
}


def allowed_steps(status: str, acknowledged: bool = False) -> list[str]:
    """The steps a request in `status` can take, in page order; an acknowledged request is
    not offered a second acknowledgement (the first instant is the one that counts)."""
    allowed = ALLOWED.get(status, frozenset())
    return [
        step
        for step in STAFF_STEPS
        if step in allowed and not (step == "acknowledged" and acknowledged)
    ]


def allows(status: str, step: str, acknowledged: bool = False) -> bool:
    """May a request in `status` take `step` now?"""
    return step in allowed_steps(status, acknowledged)
