"""TCP port checks shared by every server: the production processes and the local stack."""

from __future__ import annotations

import errno
import socket

from services.settings import ConfigError


class PortInUse(ConfigError):
    """A server cannot listen where its configuration says: another process holds the port.

    A configuration error, because the fix is to stop that process or move the port with the
    variable the message names."""

    def __init__(self, host: str, port: int, what: str, variable: str) -> None:
        self.host, self.port, self.variable = host, port, variable
        super().__init__(
            f"port {port} on {host} is already in use by another process, so {what} cannot "
            f"listen there. Stop that process, or choose another port with {variable}."
        )


def port_free(host: str, port: int) -> bool:
    """True when nothing listens on host:port (a bind would succeed)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return False
            raise
    return True


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    """True when something accepts TCP connections on host:port."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def require_port_free(host: str, port: int, what: str, variable: str) -> None:
    """Raise PortInUse (naming the port and `variable`) unless host:port is free."""
    if not port_free(host, port):
        raise PortInUse(host, port, what, variable)
