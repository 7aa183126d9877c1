"""Apache Kafka 4 (single-node KRaft) from the official jars, resolved by Maven once."""

from __future__ import annotations

import asyncio
import hashlib
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from services.dev.errors import StackError
from services.dev.processes import (
    pid_alive,
    port_open,
    read_pid,
    require_port_free,
    start_detached,
    stop_pid,
    wait_until,
)
from services.dev.system import require_java, require_maven
from services.settings import PROJECT_ROOT, Settings

DEPLOY = PROJECT_ROOT / "deploy" / "kafka"
# 1 GiB heap: room for the 32 MiB cleaner buffer, page cache does the rest on 24 GiB.
HEAP = ["-Xms512m", "-Xmx1g", "-XX:+UseG1GC", "-XX:MaxGCPauseMillis=20"]
READY_TIMEOUT = 90.0
Progress = Callable[[str], None]


@dataclass(frozen=True)
class KafkaStatus:
    running: bool
    pid: int | None
    address: str
    log: Path


class LocalKafka:
    """Files under `.local/kafka`: lib/ (jars), data/ (log dirs), logs/, config, pid."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.home = settings.local_dir / "kafka"
        self.lib = self.home / "lib"
        self.data = self.home / "data"
        self.logs = self.home / "logs"
        self.pid_file = self.home / "kafka.pid"
        self.config = self.home / "server.properties"
        self.server_log = self.logs / "server.log"
        self.stdout_log = self.logs / "stdout.log"

    # -- status ---------------------------------------------------------------------------

    def status(self) -> KafkaStatus:
        pid = read_pid(self.pid_file)
        return KafkaStatus(
            running=pid_alive(pid),
            pid=pid if pid_alive(pid) else None,
            address=self.settings.kafka_bootstrap,
            log=self.server_log,
        )

    # -- start ----------------------------------------------------------------------------

    def up(self, progress: Progress = print) -> float:
        """Start the broker unless it runs already; returns seconds until ready."""
        host, port = self.settings.kafka_host, self.settings.kafka_port
        if self.status().running:
            wait = wait_until(
                lambda: port_open(host, port),
                timeout=READY_TIMEOUT,
                alive=lambda: self.status().running,
                what="Kafka",
                log_path=self.server_log,
            )
            return wait
        require_port_free(host, port, "the Kafka broker", "CONTACTMOMENT_KAFKA_BOOTSTRAP")
        require_port_free(
            host,
            self.settings.kafka_controller_port,
            "the Kafka controller",
            "CONTACTMOMENT_KAFKA_CONTROLLER_PORT",
        )
        java = require_java()
        self._resolve_jars(progress)
        self._write_config()
        self._format_storage(java, progress)
        progress(f"starting Kafka on {host}:{port} (log: {self.server_log})")
        pid = start_detached(
            [
                java,
                *HEAP,
                f"-Dlog4j2.configurationFile={DEPLOY / 'log4j2.properties'}",
                f"-Dkafka.logs.dir={self.logs}",
                "-cp",
                f"{self.lib}/*",
                "kafka.Kafka",
                str(self.config),
            ],
            log_path=self.stdout_log,
            pid_path=self.pid_file,
            cwd=self.home,
        )
        return wait_until(
            lambda: self._broker_ready(host, port),
            timeout=READY_TIMEOUT,
            alive=lambda: pid_alive(pid),
            what="Kafka",
            log_path=self.server_log,
        )

    def _resolve_jars(self, progress: Progress) -> None:
        pom = DEPLOY / "pom.xml"
        digest = hashlib.sha256(pom.read_bytes()).hexdigest()
        marker = self.lib / ".resolved"
        if marker.exists() and marker.read_text().strip() == digest:
            return  # cached: no network needed
        mvn = require_maven()
        progress("resolving the Kafka jars with Maven (first start only) …")
        if self.lib.exists():
            shutil.rmtree(self.lib)
        result = subprocess.run(
            [
                mvn,
                "-q",
                "-B",
                "-f",
                str(pom),
                f"-Dmaven.repo.local={self.settings.local_dir / 'm2'}",
                "dependency:copy-dependencies",
                f"-DoutputDirectory={self.lib}",
                "-DincludeScope=runtime",
            ],
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            raise StackError(
                f"Maven could not resolve the Kafka jars from {pom}:\n"
                f"{(result.stdout + result.stderr)[-3000:]}"
            )
        marker.write_text(digest + "\n")

    def _write_config(self) -> None:
        template = (DEPLOY / "server.properties").read_text()
        text = (
            template.replace("@BROKER_PORT@", str(self.settings.kafka_port))
            .replace("@CONTROLLER_PORT@", str(self.settings.kafka_controller_port))
            .replace("@DATA_DIR@", str(self.data))
        )
        self.home.mkdir(parents=True, exist_ok=True)
        self.config.write_text(text)

    def _format_storage(self, java: str, progress: Progress) -> None:
        if (self.data / "meta.properties").exists():
            return  # formatted once; formatting again would refuse or wipe the cluster id
        progress("formatting Kafka storage (first start only) …")
        cp = f"{self.lib}/*"
        log_opt = f"-Dlog4j2.configurationFile={DEPLOY / 'log4j2.properties'}"
        logs_opt = f"-Dkafka.logs.dir={self.logs}"
        uuid = subprocess.run(
            [java, log_opt, logs_opt, "-cp", cp, "kafka.tools.StorageTool", "random-uuid"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        result = subprocess.run(
            [
                java,
                log_opt,
                logs_opt,
                "-cp",
                cp,
                "kafka.tools.StorageTool",
                "format",
                "--standalone",
                "-t",
                uuid,
                "-c",
                str(self.config),
            ],
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            raise StackError(f"kafka-storage format failed:\n{result.stdout}{result.stderr}")

    @staticmethod
    def _broker_ready(host: str, port: int) -> bool:
        """Ready when the broker answers metadata with a live controller."""
        if not port_open(host, port):
            return False
        from aiokafka.admin import AIOKafkaAdminClient

        async def probe() -> bool:
            admin = AIOKafkaAdminClient(bootstrap_servers=f"{host}:{port}", request_timeout_ms=3000)
            try:
                await admin.start()
                cluster = await admin.describe_cluster()
                return bool(cluster.get("brokers")) and cluster.get("controller_id", -1) >= 0
            except Exception:
                return False
            finally:
                await admin.close()

        return asyncio.run(probe())

    # -- stop -----------------------------------------------------------------------------

    def down(self) -> bool:
        pid = read_pid(self.pid_file)
        if not pid_alive(pid):
            self.pid_file.unlink(missing_ok=True)
            return False
        assert pid is not None
        stop_pid(pid, timeout=60)
        self.pid_file.unlink(missing_ok=True)
        return True
