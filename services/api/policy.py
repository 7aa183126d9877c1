"""Who may read what: the role rules, pure (the role matrix test drives them through HTTP).

- kcc: every customer and request (the front office answers anyone).
- department: requests of its own department, and the customers who have one.
- regieteam: overdue and escalated work, and the customers it concerns.
- auditor: the access log only.
- channel: ingest only.
Each rule returns the role that grants the read (it goes into the access log), or None.
"""

from __future__ import annotations

from collections.abc import Iterable

from services.api.auth import Staff

READERS = ("kcc", "department", "regieteam")


def customer_role(staff: Staff, departments: Iterable[str | None], overdue: bool) -> str | None:
    """May `staff` read a customer whose requests have these departments / are overdue?"""
    if "kcc" in staff.roles:
        return "kcc"
    if "department" in staff.roles and staff.department and staff.department in set(departments):
        return "department"
    if "regieteam" in staff.roles and overdue:
        return "regieteam"
    return None


def search_reach(staff: Staff) -> tuple[bool, str | None, bool]:
    """Which carriers a search of `staff` considers, as (everyone, department, overdue):
    the customers `customer_role` could grant, so a restricted role's page is not filled
    with customers it may not see (the rule is still applied to each one found)."""
    if "kcc" in staff.roles:
        return True, None, False
    department = staff.department if "department" in staff.roles else None
    return False, department, "regieteam" in staff.roles


def request_role(staff: Staff, department: str | None, overdue: bool) -> str | None:
    return customer_role(staff, [department], overdue)


def worklist(staff: Staff, status: str, department: str | None) -> tuple[str, str | None] | str:
    """The granting role and the department filter to apply, or why it is refused."""
    if "kcc" in staff.roles:
        return "kcc", department
    if "regieteam" in staff.roles and status == "overdue":
        return "regieteam", department  # every department's: also when held with `department`
    if "department" in staff.roles:
        if department not in (None, staff.department):
            return f"the department role reads only its own department ({staff.department})"
        return "department", staff.department
    if "regieteam" in staff.roles:
        return "the regieteam role reads the overdue worklist (status=overdue)"
    return f"this needs one of the roles: {', '.join(READERS)}"
