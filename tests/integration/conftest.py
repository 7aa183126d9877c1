"""A real `contactmoment api` process per test module that needs one."""

from collections.abc import Iterator

import pytest

from harness.processes import RunningApi, start_api
from services.settings import Settings


@pytest.fixture(scope="module")
def api(settings: Settings) -> Iterator[RunningApi]:
    running = start_api()
    try:
        yield running
    finally:
        running.stop()
