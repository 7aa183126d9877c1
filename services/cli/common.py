"""What every command module shares: exit codes and how a command speaks."""

from __future__ import annotations

import argparse
from collections.abc import Callable

from services.settings import Settings

EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2
Handler = Callable[[Settings, argparse.Namespace], int]


def say(message: str) -> None:
    """A line of the command's output, flushed (commands run under `make` and `run`)."""
    print(message, flush=True)
