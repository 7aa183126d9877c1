"""The role rules, table-driven: which role grants a read, or None / a refusal."""

import pytest

from services.api.auth import Staff
from services.api.policy import customer_role, request_role, worklist

OWN, OTHER = "Burgerzaken", "Vergunningen"


def staff(*roles: str, department: str | None = None) -> Staff:
    return Staff("medewerker", frozenset(roles), department)


KCC = staff("kcc")
DEPT = staff("department", department=OWN)
REGIE = staff("regieteam")
AUDITOR = staff("auditor")
CHANNEL = staff("channel")
KCC_DEPT = staff("kcc", "department", department=OWN)
DEPT_REGIE = staff("department", "regieteam", department=OWN)
AUDITOR_CHANNEL = staff("auditor", "channel")
REGIE_AUDITOR = staff("regieteam", "auditor")

# (who, departments of the customer's requests, any overdue) → the granting role
CUSTOMER = [
    (KCC, [], False, "kcc"),
    (KCC, [OTHER], True, "kcc"),
    (DEPT, [OWN], False, "department"),
    (DEPT, [OTHER, OWN], False, "department"),
    (DEPT, [OTHER], False, None),
    (DEPT, [OTHER], True, None),
    (DEPT, [None], False, None),
    (DEPT, [], False, None),
    (REGIE, [OTHER], True, "regieteam"),
    (REGIE, [], True, "regieteam"),
    (REGIE, [OTHER], False, None),
    (AUDITOR, [OWN], True, None),
    (CHANNEL, [OWN], True, None),
    (KCC_DEPT, [OWN], False, "kcc"),
    (KCC_DEPT, [OTHER], False, "kcc"),
    (DEPT_REGIE, [OWN], True, "department"),
    (DEPT_REGIE, [OTHER], True, "regieteam"),
    (DEPT_REGIE, [OTHER], False, None),
    (AUDITOR_CHANNEL, [OWN], True, None),
    (REGIE_AUDITOR, [OWN], True, "regieteam"),
    (REGIE_AUDITOR, [OWN], False, None),
]


@pytest.mark.parametrize(("who", "departments", "overdue", "expected"), CUSTOMER)
def test_customer_role(
    who: Staff, departments: list[str | None], overdue: bool, expected: str | None
) -> None:
    assert customer_role(who, departments, overdue) == expected
    assert customer_role(who, iter(departments), overdue) == expected  # any iterable


# (who, the request's department, overdue) → the granting role
REQUEST = [
    (KCC, None, False, "kcc"),
    (KCC, OTHER, False, "kcc"),
    (DEPT, OWN, False, "department"),
    (DEPT, OWN, True, "department"),
    (DEPT, OTHER, True, None),
    (DEPT, None, False, None),
    (REGIE, None, True, "regieteam"),
    (REGIE, OWN, False, None),
    (AUDITOR, OWN, True, None),
    (CHANNEL, None, True, None),
    (KCC_DEPT, OTHER, False, "kcc"),
    (DEPT_REGIE, OWN, False, "department"),
    (DEPT_REGIE, OTHER, True, "regieteam"),
    (DEPT_REGIE, OTHER, False, None),
    (AUDITOR_CHANNEL, OWN, True, None),
]


@pytest.mark.parametrize(("who", "department", "overdue", "expected"), REQUEST)
def test_request_role(
    who: Staff, department: str | None, overdue: bool, expected: str | None
) -> None:
    assert request_role(who, department, overdue) == expected


# (who, status, department asked for) → (role, department filter), or a refusal (str)
GRANTED = [
    (KCC, "open", None, ("kcc", None)),
    (KCC, "overdue", OTHER, ("kcc", OTHER)),
    (KCC, "closed", OWN, ("kcc", OWN)),
    (DEPT, "open", None, ("department", OWN)),
    (DEPT, "closed", OWN, ("department", OWN)),
    (DEPT, "overdue", None, ("department", OWN)),
    (REGIE, "overdue", None, ("regieteam", None)),
    (REGIE, "overdue", OTHER, ("regieteam", OTHER)),
    (KCC_DEPT, "open", OTHER, ("kcc", OTHER)),
    (DEPT_REGIE, "open", None, ("department", OWN)),
    (DEPT_REGIE, "closed", OWN, ("department", OWN)),
    # the regieteam role reads every department's overdue work, also when held with another
    (DEPT_REGIE, "overdue", None, ("regieteam", None)),
    (DEPT_REGIE, "overdue", OTHER, ("regieteam", OTHER)),
    (REGIE_AUDITOR, "overdue", None, ("regieteam", None)),
]


@pytest.mark.parametrize(("who", "status", "department", "expected"), GRANTED)
def test_worklist_granted(
    who: Staff, status: str, department: str | None, expected: tuple[str, str | None]
) -> None:
    assert worklist(who, status, department) == expected


# (who, status, department asked for) → words the refusal must contain
REFUSED = [
    (DEPT, "open", OTHER, OWN),
    (DEPT, "overdue", OTHER, OWN),
    (REGIE, "open", None, "status=overdue"),
    (REGIE, "closed", OWN, "status=overdue"),
    (AUDITOR, "open", None, "kcc, department, regieteam"),
    (CHANNEL, "overdue", None, "kcc, department, regieteam"),
    (AUDITOR_CHANNEL, "overdue", None, "kcc, department, regieteam"),
    (DEPT_REGIE, "open", OTHER, OWN),
    (REGIE_AUDITOR, "open", None, "status=overdue"),
]


@pytest.mark.parametrize(("who", "status", "department", "says"), REFUSED)
def test_worklist_refused(who: Staff, status: str, department: str | None, says: str) -> None:
    answer = worklist(who, status, department)
    assert isinstance(answer, str)
    assert says in answer
