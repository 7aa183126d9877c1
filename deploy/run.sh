#!/usr/bin/env bash
# `make run`: the stack is up (make up ran first); start the long-running processes in the
# foreground and print where everything is. Ctrl-C stops the processes; data stays in .local/.
set -euo pipefail
cd "$(dirname "$0")/.."
exec .venv/bin/contactmoment run
