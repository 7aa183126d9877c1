#!/usr/bin/env bash
# Creates .venv and installs contactmoment with its test tools when pyproject.toml changed.
# Java, Maven and PostgreSQL are installed (as root, on Debian/Ubuntu) by `contactmoment dev up`.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3}"
if ! command -v "$PYTHON" >/dev/null 2>&1; then
    echo "bootstrap: $PYTHON not found; install Python 3.11 or newer (Debian: apt-get install python3 python3-venv)" >&2
    exit 1
fi
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
    echo "bootstrap: contactmoment needs Python 3.11 or newer; $PYTHON is $("$PYTHON" -V 2>&1)" >&2
    exit 1
fi

stamp=.venv/.installed
if [ -f "$stamp" ] && [ "$stamp" -nt pyproject.toml ]; then
    exit 0
fi
if [ ! -x .venv/bin/python ]; then
    echo "bootstrap: creating .venv with $("$PYTHON" -V 2>&1)"
    if ! "$PYTHON" -m venv .venv; then
        echo "bootstrap: '$PYTHON -m venv' failed; on Debian install python3-venv" >&2
        exit 1
    fi
fi
echo "bootstrap: installing contactmoment and its dependencies into .venv …"
log=.venv/install.log
if ! { .venv/bin/python -m pip install --quiet --upgrade pip &&
       .venv/bin/python -m pip install --quiet --editable '.[dev]'; } >"$log" 2>&1; then
    cat "$log" >&2
    echo "bootstrap: installing the Python packages failed (log above, also in $log)" >&2
    exit 1
fi
touch "$stamp"
