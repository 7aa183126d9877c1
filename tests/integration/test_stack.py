"""`contactmoment dev status` reports the running stack."""

import subprocess
import sys
from pathlib import Path

from services.settings import Settings


def test_status_shows_both_servers_running(settings: Settings) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "services.cli", "dev", "status"], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert any(line.startswith("kafka") and "running  pid" in line for line in lines)
    assert any(line.startswith("postgres") and "running  pid" in line for line in lines)
    assert settings.kafka_bootstrap in result.stdout
    # Where the cluster lives, outside the checkout or not: a real, initialised cluster.
    (cluster,) = [line for line in lines if "postgres cluster in " in line]
    data = Path(cluster.split("postgres cluster in ", 1)[1].split(" (outside", 1)[0])
    assert (data / "PG_VERSION").exists(), cluster
