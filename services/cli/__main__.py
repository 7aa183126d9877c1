"""`python -m services.cli`: what the runner and the test harness start processes with."""

import sys

from services.cli import main

sys.exit(main())
