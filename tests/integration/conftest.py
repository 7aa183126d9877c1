"""A real `contactmoment api` process per test module that needs one."""

from collections.abc import Iterator

import pytest

from services.settings import Settings
from tests.integration.running_api import RunningApi, start_api


@pytest.fixture(scope="module")
def api(settings: Settings) -> Iterator[RunningApi]:
    running = start_api()
    try:
        yield running
    finally:
        running.stop()
