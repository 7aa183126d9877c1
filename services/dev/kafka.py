"""Apache Kafka 4 (KRaft, one or three nodes) from the official jars, resolved by Maven once.

Layout under `.local/kafka`: `lib/` (the jars, shared by every cluster size) and one
directory per cluster size, `<N>-node/node-<id>/` with that node's config, data, logs and pid.
A one-node and a three-node cluster therefore never share storage; `dev up` without
`--brokers` starts the size that was started last.

`dev up --secure` starts a cluster of its own (`<N>-node-secure/`) whose clients must use TLS
and SASL/SCRAM-SHA-512: the CA, broker key and certificate in `tls/`, one password per user in
`users/` (kafka_tls.py), each user held to its process's topics and groups by ACLs (ACL_RULES).
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import shutil
import signal
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from services.dev.errors import StackError
from services.dev.kafka_tls import BROKER_CN, BROKER_USER, USERS, ensure_passwords, ensure_tls
from services.dev.processes import pid_alive, read_pid, start_detached, stop_pid, wait_until
from services.dev.system import require_java, require_maven
from services.kafka.client import MECHANISM, PLAINTEXT, KafkaAuth, local_tls_dir
from services.ports import port_open, require_port_free
from services.settings import PROJECT_ROOT, Settings

DEPLOY = PROJECT_ROOT / "deploy" / "kafka"
# 1 GiB heap: room for the 32 MiB cleaner buffer, page cache does the rest on 24 GiB.
HEAP = ["-Xms256m", "-Xmx1g", "-XX:+UseG1GC", "-XX:MaxGCPauseMillis=20"]
READY_TIMEOUT = 120.0
SIZES = (1, 3)
MODES = (False, True)  # plain, secure
Progress = Callable[[str], None]

WORKER = "contactmoment-worker"  # the default app id: its group, ticks and changelogs
PROJECTOR = "contactmoment-projector"
EVENTS, SIGNALS, NOTIFICATIONS, ACCESS, DEADLETTER = (
    "contact.events.v1",
    "contact.signals.v1",
    "contact.notifications.v1",
    "contact.access.v1",
    "contact.deadletter.v1",
)
# What each process's user may do on the secure broker: (user, operation, resource type,
# pattern type, name). Anything not listed is refused.
ACL_RULES: tuple[tuple[str, str, str, str, str], ...] = (
    # The api writes events, access records and dead letters, and reads nothing.
    *(("api", "WRITE", "TOPIC", "LITERAL", t) for t in (EVENTS, ACCESS, DEADLETTER)),
    # The projector reads the contact.* topics in its group and writes dead letters.
    *(
        ("projector", "READ", "TOPIC", "LITERAL", t)
        for t in (EVENTS, SIGNALS, NOTIFICATIONS, ACCESS)
    ),
    ("projector", "WRITE", "TOPIC", "LITERAL", DEADLETTER),
    ("projector", "READ", "GROUP", "PREFIXED", PROJECTOR),
    # The worker reads events; writes events (customer.linked), signals, notifications and
    # dead letters; owns its ticks and changelog topics and its group.
    ("worker", "READ", "TOPIC", "LITERAL", EVENTS),
    *(
        ("worker", "WRITE", "TOPIC", "LITERAL", t)
        for t in (EVENTS, SIGNALS, NOTIFICATIONS, DEADLETTER)
    ),
    ("worker", "ALL", "TOPIC", "PREFIXED", WORKER),
    ("worker", "READ", "GROUP", "PREFIXED", WORKER),
    # tools (topics create, erasure, operators) administer the contract's topics.
    ("tools", "ALL", "TOPIC", "PREFIXED", "contact."),
)


@dataclass(frozen=True)
class KafkaStatus:
    node_id: int
    running: bool
    pid: int | None
    address: str
    log: Path


@dataclass(frozen=True)
class KafkaNode:
    """One broker + controller process: its ports and its files."""

    node_id: int
    host: str
    broker_port: int
    controller_port: int
    home: Path

    @property
    def address(self) -> str:
        return f"{self.host}:{self.broker_port}"

    @property
    def pid_file(self) -> Path:
        return self.home / "kafka.pid"

    @property
    def config(self) -> Path:
        return self.home / "server.properties"

    @property
    def data(self) -> Path:
        return self.home / "data"

    @property
    def logs(self) -> Path:
        return self.home / "logs"

    @property
    def server_log(self) -> Path:
        return self.logs / "server.log"

    def pid(self) -> int | None:
        pid = read_pid(self.pid_file)
        return pid if pid_alive(pid) else None


def node_ports(settings: Settings, brokers: int) -> list[tuple[int, int]]:
    """(broker, controller) port per node: the bootstrap list when it names every node,
    otherwise every second port upwards from the first (9092, 9094, 9096 / 9093, 9095 …)."""
    listed = [int(s.strip().rpartition(":")[2]) for s in settings.kafka_bootstrap.split(",")]
    brokers_ports = (
        listed if len(listed) == brokers else [listed[0] + 2 * i for i in range(brokers)]
    )
    return [(port, settings.kafka_controller_port + 2 * i) for i, port in enumerate(brokers_ports)]


class LocalKafka:
    """A local KRaft cluster of `brokers` nodes (default: the size started last, else 1)."""

    def __init__(
        self,
        settings: Settings,
        brokers: int | None = None,
        jars: Path | None = None,
        secure: bool | None = None,
    ) -> None:
        self.settings = settings
        self.root = settings.local_dir / "kafka"
        # Another checkout's .local may lend its jars (the fault tests run their own cluster).
        self.lib = jars or self.root / "lib"
        self.size_file = self.root / "brokers"
        running = self._running_cluster() if brokers is None or secure is None else None
        self.brokers = brokers or (running[0] if running else self._recorded_size())
        # Plain unless asked for, or unless a secure cluster is what runs (status, down).
        self.secure = secure if secure is not None else bool(running and running[1])
        if self.brokers not in SIZES:
            raise StackError(f"a local Kafka cluster has 1 or 3 brokers, not {self.brokers}")
        host = settings.kafka_host
        self.cluster_dir = self.root / f"{self.brokers}-node{'-secure' * self.secure}"
        self.nodes = [
            KafkaNode(i + 1, host, b, c, self.cluster_dir / f"node-{i + 1}")
            for i, (b, c) in enumerate(node_ports(settings, self.brokers))
        ]

    def _others(self) -> list[LocalKafka]:
        """Every other cluster this checkout may run: other sizes and the other mode."""
        return [
            LocalKafka(self.settings, size, self.lib, mode)
            for size in SIZES
            for mode in MODES
            if (size, mode) != (self.brokers, self.secure)
        ]

    def _running_cluster(self) -> tuple[int, bool] | None:
        for size in SIZES:
            for mode in MODES:
                if any(n.pid() for n in LocalKafka(self.settings, size, self.lib, mode).nodes):
                    return size, mode
        return None

    def _recorded_size(self) -> int:
        try:
            return int(self.size_file.read_text().strip())
        except (FileNotFoundError, ValueError):
            return 1

    def auth(self, user: str) -> KafkaAuth:
        """How `user` connects to this cluster (PLAINTEXT when it is not secure)."""
        if not self.secure:
            return PLAINTEXT
        password = ensure_passwords(self.settings.local_dir)[user]
        return KafkaAuth(
            "SASL_SSL", user, password, local_tls_dir(self.settings.local_dir) / "ca.pem"
        )

    @property
    def bootstrap(self) -> str:
        """Every node's client address: what CONTACTMOMENT_KAFKA_BOOTSTRAP should say."""
        return ",".join(n.address for n in self.nodes)

    # -- status ---------------------------------------------------------------------------

    def status(self) -> list[KafkaStatus]:
        return [
            KafkaStatus(n.node_id, n.pid() is not None, n.pid(), n.address, n.server_log)
            for n in self.nodes
        ]

    @property
    def running(self) -> bool:
        return all(s.running for s in self.status())

    # -- start ----------------------------------------------------------------------------

    def up(self, progress: Progress = print) -> float:
        """Start every node that is not running; returns seconds until the cluster is ready."""
        for other in self._others():
            if any(s.running for s in other.status()):
                kind = "secure " * other.secure
                raise StackError(
                    f"a {kind}{other.brokers}-node Kafka cluster is running; stop it first "
                    "(`contactmoment dev down`) to start one with "
                    f"{self.brokers} node{'s' * (self.brokers > 1)}"
                    f"{' (secure)' if self.secure else ''}"
                )
        self.root.mkdir(parents=True, exist_ok=True)
        self.size_file.write_text(f"{self.brokers}\n")
        java = ""
        for node in self.nodes:
            if node.pid():
                continue
            java = java or require_java()
            self._start_node(node, java, progress)
        waited = self.wait_ready()
        if self.secure:
            self._create_acls(require_java(), progress)
        return waited

    def _start_node(self, node: KafkaNode, java: str, progress: Progress) -> int:
        require_port_free(
            node.host, node.broker_port, "a Kafka broker", "CONTACTMOMENT_KAFKA_BOOTSTRAP"
        )
        require_port_free(
            node.host,
            node.controller_port,
            "a Kafka controller",
            "CONTACTMOMENT_KAFKA_CONTROLLER_PORT",
        )
        self._resolve_jars(progress)
        self._write_config(node)
        self._format_storage(node, java, progress)
        progress(f"starting Kafka node {node.node_id} on {node.address} (log: {node.server_log})")
        return start_detached(
            [
                java,
                *HEAP,
                f"-Dlog4j2.configurationFile={DEPLOY / 'log4j2.properties'}",
                f"-Dkafka.logs.dir={node.logs}",
                "-cp",
                f"{self.lib}/*",
                "kafka.Kafka",
                str(node.config),
            ],
            log_path=node.logs / "stdout.log",
            pid_path=node.pid_file,
            cwd=node.home,
        )

    def start_node(self, node_id: int, progress: Progress = print) -> float:
        """Start one stopped node again (fault tests); seconds until the cluster is whole."""
        node = self.nodes[node_id - 1]
        if not node.pid():
            self._start_node(node, require_java(), progress)
        return self.wait_ready()

    def wait_ready(self) -> float:
        """Until every node runs and the cluster metadata lists all of them."""
        first = self.nodes[0]
        return wait_until(
            lambda: self._cluster_ready(),
            timeout=READY_TIMEOUT,
            alive=lambda: all(n.pid() for n in self.nodes),
            what=f"Kafka ({self.brokers} node{'s' * (self.brokers > 1)})",
            log_path=first.server_log if self.brokers == 1 else self.cluster_dir,
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

    def _write_config(self, node: KafkaNode) -> None:
        voters = ",".join(f"{n.node_id}@{n.host}:{n.controller_port}" for n in self.nodes)
        replication = min(3, self.brokers)
        values = {
            "NODE_ID": str(node.node_id),
            "VOTERS": voters,
            "BROKER_PORT": str(node.broker_port),
            "CONTROLLER_PORT": str(node.controller_port),
            "DATA_DIR": str(node.data),
            "REPLICATION": str(replication),
            "MIN_ISR": str(min(2, replication)),
        }
        text = (DEPLOY / "server.properties").read_text()
        if self.secure:
            tls = ensure_tls(self.settings.local_dir)
            values |= {
                "BROKER_PASSWORD": ensure_passwords(self.settings.local_dir)[BROKER_USER],
                "KEYSTORE": str(tls.keystore),
                "TRUSTSTORE": str(tls.ca),
                "BROKER_CN": BROKER_CN,
            }
            text += "\n" + (DEPLOY / "secure.properties").read_text()  # a later key wins
        for name, value in values.items():
            text = text.replace(f"@{name}@", value)
        node.home.mkdir(parents=True, exist_ok=True)
        node.config.touch(mode=0o600, exist_ok=True)
        node.config.chmod(0o600)  # it holds the broker's password when secure
        node.config.write_text(text)

    def _cluster_id(self, java: str) -> str:
        """One id for every node of the cluster, drawn once and kept beside the nodes."""
        path = self.cluster_dir / "cluster-id"
        if path.exists():
            return path.read_text().strip()
        uuid = self._storage_tool(java, self.nodes[0], ["random-uuid"]).stdout.strip()
        path.write_text(uuid + "\n")
        return uuid

    def _format_storage(self, node: KafkaNode, java: str, progress: Progress) -> None:
        if (node.data / "meta.properties").exists():
            return  # formatted once; formatting again would refuse or wipe the cluster id
        progress(f"formatting storage of Kafka node {node.node_id} (first start only) …")
        scram: list[str] = []
        if self.secure:  # the users exist from the first metadata record on
            for user, password in ensure_passwords(self.settings.local_dir).items():
                scram += ["--add-scram", f"{MECHANISM}=[name={user},password={password}]"]
        self._storage_tool(
            java, node, ["format", "-t", self._cluster_id(java), "-c", str(node.config), *scram]
        )

    def _create_acls(self, java: str, progress: Progress) -> None:
        """ACL_RULES through Kafka's Admin client, as the broker's super user (idempotent)."""
        auth = self.auth(BROKER_USER)
        admin = self.cluster_dir / "admin.properties"
        admin.touch(mode=0o600, exist_ok=True)
        admin.chmod(0o600)
        admin.write_text(
            f"bootstrap.servers={self.bootstrap}\n"
            "security.protocol=SASL_SSL\n"
            f"sasl.mechanism={MECHANISM}\n"
            "sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule "
            f'required username="{auth.username}" password="{auth.password}";\n'
            "ssl.truststore.type=PEM\n"
            f"ssl.truststore.location={auth.ca_file}\n"
        )
        rules = "".join(
            f"User:{u}|{op}|{kind}|{pattern}|{name}\n" for u, op, kind, pattern, name in ACL_RULES
        )
        result = subprocess.run(
            [java, "-cp", f"{self.lib}/*", str(DEPLOY / "Acls.java"), str(admin)],
            input=rules,
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            raise StackError(
                f"creating the Kafka ACLs failed:\n{(result.stdout + result.stderr)[-3000:]}"
            )
        progress(f"kafka: {len(ACL_RULES)} ACL rules for {', '.join(USERS[1:])}")

    def _storage_tool(
        self, java: str, node: KafkaNode, args: list[str]
    ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [
                java,
                f"-Dlog4j2.configurationFile={DEPLOY / 'log4j2.properties'}",
                f"-Dkafka.logs.dir={node.logs}",
                "-cp",
                f"{self.lib}/*",
                "kafka.tools.StorageTool",
                *args,
            ],
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            raise StackError(f"kafka-storage {args[0]} failed:\n{result.stdout}{result.stderr}")
        return result

    def _cluster_ready(self) -> bool:
        """Ready when a node answers metadata listing every broker and a live controller."""
        live = [n for n in self.nodes if port_open(n.host, n.broker_port)]
        if len(live) < len(self.nodes):
            return False
        from aiokafka.admin import AIOKafkaAdminClient

        async def probe() -> bool:
            admin = AIOKafkaAdminClient(
                bootstrap_servers=self.bootstrap,
                request_timeout_ms=3000,
                **self.auth(BROKER_USER).aiokafka_options(),
            )
            try:
                await admin.start()
                cluster = await admin.describe_cluster()
                brokers = cluster.get("brokers") or []
                return len(brokers) == len(self.nodes) and cluster.get("controller_id", -1) >= 0
            except Exception:
                return False
            finally:
                await admin.close()

        return asyncio.run(probe())

    # -- stop -----------------------------------------------------------------------------

    def down(self) -> bool:
        """Stop every node (of any cluster size) that runs; whether any did. All nodes get
        SIGTERM at once: one by one, the last ones would wait for a quorum already gone."""
        pids: list[tuple[KafkaNode, int]] = []
        for cluster in (self, *self._others()):
            pids += [(n, pid) for n in cluster.nodes if (pid := n.pid())]
        for _node, pid in pids:
            os.kill(pid, signal.SIGTERM)
        for node, pid in pids:
            stop_pid(pid, timeout=60)  # already asked; kills what has not stopped by then
            node.pid_file.unlink(missing_ok=True)
        return bool(pids)

    def stop_node(self, node_id: int, *, kill: bool = False) -> bool:
        """Stop one node cleanly, or with SIGKILL (fault tests); whether it ran."""
        node = self.nodes[node_id - 1]
        pid = node.pid()
        if pid is None:
            node.pid_file.unlink(missing_ok=True)
            return False
        if kill:
            os.kill(pid, signal.SIGKILL)
            wait_until(
                lambda: not pid_alive(pid),
                timeout=10,
                alive=lambda: True,
                what=f"Kafka node {node_id}",
                log_path=node.server_log,
            )
        else:
            stop_pid(pid, timeout=60)
        node.pid_file.unlink(missing_ok=True)
        return True
