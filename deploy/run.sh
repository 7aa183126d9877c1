#!/usr/bin/env bash
# `make run`: the stack is up (make up ran first); start the long-running processes in the
# foreground and print where everything is. Ctrl-C stops the processes; data stays in .local/.
set -euo pipefail
cd "$(dirname "$0")/.."
# Two API processes share the port (docs/performance.md, ingest): /metrics sums them and
# one of them serves SMTP. CONTACTMOMENT_API_WORKERS=1 runs a single process.
export CONTACTMOMENT_API_WORKERS="${CONTACTMOMENT_API_WORKERS:-2}"
exec .venv/bin/contactmoment run
