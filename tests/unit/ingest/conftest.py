import pytest

from schemas.keys import Pseudonymiser

# Valid test BSNs (11-check passes); never real people.
BSN_A = "111222333"
BSN_B = "123456782"


@pytest.fixture
def pseudonyms() -> Pseudonymiser:
    return Pseudonymiser("unit-test-key-material-0123")
