"""What the local stack needs from the machine (Java 17, Maven, PostgreSQL), installed
from Debian's packages when missing and running as root, else a clear instruction."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

from services.dev.errors import StackError

DEBIAN_PACKAGES = {
    "java": "openjdk-17-jre-headless",
    "mvn": "maven",
    "postgresql": "postgresql",
}


def can_apt_install() -> bool:
    return os.geteuid() == 0 and shutil.which("apt-get") is not None


def apt_install(package: str) -> None:
    """Install one Debian package, non-interactively."""
    if package == "postgresql":
        # Debian's postinst would create and start a 'main' cluster on port 5432, which is
        # where our own cluster under .local/pg wants to listen.
        conf = Path("/etc/postgresql-common/createcluster.conf")
        conf.parent.mkdir(parents=True, exist_ok=True)
        if "create_main_cluster" not in (conf.read_text() if conf.exists() else ""):
            with conf.open("a") as fh:
                fh.write("\n# contactmoment: no default cluster\ncreate_main_cluster = false\n")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    print(f"installing {package} from Debian's packages …", flush=True)
    update = subprocess.run(["apt-get", "update", "-q"], env=env, capture_output=True, text=True)
    install = subprocess.run(
        ["apt-get", "install", "-y", "-q", "--no-install-recommends", package],
        env=env,
        capture_output=True,
        text=True,
    )
    if install.returncode != 0:
        raise StackError(
            f"apt-get install {package} failed:\n{update.stderr[-2000:]}{install.stderr[-2000:]}"
        )


def _ensure_tool(tool: str, human: str) -> str:
    path = shutil.which(tool)
    if path:
        return path
    if can_apt_install():
        apt_install(DEBIAN_PACKAGES[tool])
        path = shutil.which(tool)
        if path:
            return path
    raise StackError(
        f"{human} is missing: install it (on Debian/Ubuntu: "
        f"`sudo apt-get install {DEBIAN_PACKAGES[tool]}`) and try again."
    )


def require_java() -> str:
    """Path of a `java` of version 17 or newer."""
    java = _ensure_tool("java", "Java 17 (a JRE or JDK)")
    out = subprocess.run([java, "-version"], capture_output=True, text=True).stderr
    match = re.search(r'version "(\d+)', out)
    if not match or int(match.group(1)) < 17:
        raise StackError(
            f"Kafka 4 needs Java 17 or newer, but `{java} -version` says: {out.strip()[:200]}. "
            "Install openjdk-17-jre-headless or put a newer java first on PATH."
        )
    return java


def require_maven() -> str:
    return _ensure_tool("mvn", "Apache Maven (it resolves the Kafka jars)")


def postgres_bindir() -> Path:
    """Directory holding initdb/pg_ctl: Debian's newest /usr/lib/postgresql/N/bin, or PATH."""

    def find() -> Path | None:
        versions = sorted(
            Path("/usr/lib/postgresql").glob("*/bin/initdb"),
            key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0,
        )
        if versions:
            return versions[-1].parent
        initdb = shutil.which("initdb")
        return Path(initdb).resolve().parent if initdb else None

    found = find()
    if found is None and can_apt_install():
        apt_install(DEBIAN_PACKAGES["postgresql"])
        found = find()
    if found is None:
        raise StackError(
            "PostgreSQL server programs (initdb, pg_ctl) are missing: install them (on "
            "Debian/Ubuntu: `sudo apt-get install postgresql`) and try again."
        )
    return found
