"""What a benchmark reads of the processes it measures: CPU seconds from /proc, the
produce requests a broker served (over JMX, `jmx/ProduceRequests.java`) and py-spy
flame graphs of a running worker."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

TICK = os.sysconf("SC_CLK_TCK")
JMX_PROBE = Path(__file__).parent / "jmx" / "ProduceRequests.java"


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime + stime


def broker_pids(config_part: str) -> list[int]:
    """Kafka broker processes whose command line names a config path containing
    `config_part` (the local stack's single node: "/1-node/")."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"kafka.Kafka" in cmdline and any(config_part.encode() in a for a in cmdline):
            pids.append(int(entry.name))
    return pids


def produce_requests(pids: list[int]) -> int | None:
    """Produce requests the brokers have served since they started (None without a JDK).
    The count is the broker's, so any other client of the same broker adds to it."""
    if not pids or shutil.which("java") is None:
        return None
    total = 0
    for pid in pids:
        done = subprocess.run(
            ["java", str(JMX_PROBE), str(pid)], capture_output=True, text=True, timeout=60
        )
        if done.returncode != 0:
            print(f"produce request count of broker {pid} failed: {done.stderr}", file=sys.stderr)
            return None
        total += int(done.stdout.strip())
    return total


class FlameGraph:
    """py-spy recording a process until `stop()`; the SVG is written then."""

    def __init__(self, pid: int, path: Path, rate: int = 200) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        py_spy = Path(sys.executable).with_name("py-spy")
        self.process = subprocess.Popen(
            [
                *(str(py_spy), "record", "--pid", str(pid), "--rate", str(rate)),
                *("--nonblocking", "--output", str(path), "--format", "flamegraph"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )

    def stop(self) -> None:
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
