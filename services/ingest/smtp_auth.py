"""Who may hand mail to SMTP ingress: a file of users with scrypt-hashed passwords.

One line per user, `name:scrypt$<n>$<r>$<p>$<salt>$<hash>` (salt and hash base64), `#` starts
a comment. Only the mail gateway needs an entry; `contactmoment dev` writes one for the local
stack. Passwords are checked with `hashlib.scrypt` (memory-hard, in the standard library) and
compared in constant time; an unknown user costs the same KDF as a known one, so timing does
not tell which names exist.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from pathlib import Path

SCHEME = "scrypt"
# 16 MiB of memory and about 50 ms per check: cheap for one gateway login per connection,
# expensive for guessing. The parameters travel in each line, so they can be raised later.
N, R, P = 2**14, 8, 1
SALT_BYTES, HASH_BYTES = 16, 32


class InvalidUsersFile(ValueError):
    """The users file cannot be used; the message names the line and what is wrong."""


@dataclass(frozen=True)
class PasswordHash:
    n: int
    r: int
    p: int
    salt: bytes
    digest: bytes

    def encode(self) -> str:
        b64 = base64.b64encode
        return (
            f"{SCHEME}${self.n}${self.r}${self.p}$"
            f"{b64(self.salt).decode()}${b64(self.digest).decode()}"
        )

    @classmethod
    def decode(cls, text: str) -> PasswordHash:
        parts = text.split("$")
        if len(parts) != 6 or parts[0] != SCHEME:
            raise ValueError(f"expected {SCHEME}$n$r$p$salt$hash")
        try:
            n, r, p = (int(v) for v in parts[1:4])
            salt = base64.b64decode(parts[4], validate=True)
            digest = base64.b64decode(parts[5], validate=True)
        except ValueError:
            raise ValueError("n, r, p must be integers and salt, hash base64") from None
        if n < 2**10 or n & (n - 1) or not 1 <= r <= 64 or not 1 <= p <= 16:
            raise ValueError("n must be a power of two ≥ 1024, r in 1..64, p in 1..16")
        if len(salt) < 8 or len(digest) < 16:
            raise ValueError("salt and hash are too short")
        return cls(n, r, p, salt, digest)

    def matches(self, password: bytes) -> bool:
        candidate = _kdf(password, self.salt, self.n, self.r, self.p, len(self.digest))
        return hmac.compare_digest(candidate, self.digest)


def _kdf(password: bytes, salt: bytes, n: int, r: int, p: int, length: int) -> bytes:
    # maxmem: OpenSSL's default (32 MiB) is too small for r=8 above n=2**14.
    return hashlib.scrypt(
        password, salt=salt, n=n, r=r, p=p, dklen=length, maxmem=256 * n * r * p + 2**20
    )


def hash_password(password: str) -> str:
    """The stored form of a new password (a fresh random salt each time)."""
    salt = secrets.token_bytes(SALT_BYTES)
    return PasswordHash(N, R, P, salt, _kdf(password.encode(), salt, N, R, P, HASH_BYTES)).encode()


def users_line(name: str, password: str) -> str:
    """One line of the users file."""
    if not name or ":" in name or any(c.isspace() for c in name):
        raise ValueError("a user name is non-empty, without ':' or spaces")
    return f"{name}:{hash_password(password)}\n"


class SmtpUsers:
    """The accounts allowed to submit mail, read once from the users file."""

    def __init__(self, hashes: dict[str, PasswordHash]) -> None:
        if not hashes:
            raise InvalidUsersFile("the users file has no user")
        self._hashes = hashes
        # Checked instead of a missing user, so both answers take as long.
        self._dummy = PasswordHash.decode(hash_password(secrets.token_urlsafe(16)))
        # One check at a time per process: each takes 16 MiB and a core for ~50 ms.
        self._checking = asyncio.Semaphore(2)

    @classmethod
    def load(cls, path: Path) -> SmtpUsers:
        """Read `path`; InvalidUsersFile names the first bad line."""
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise InvalidUsersFile(f"cannot read {path}: {exc.strerror}") from None
        hashes: dict[str, PasswordHash] = {}
        for number, line in enumerate(text.splitlines(), start=1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            name, sep, stored = line.partition(":")
            if not sep or not name:
                raise InvalidUsersFile(f"{path}:{number}: expected name:{SCHEME}$…")
            try:
                hashes[name] = PasswordHash.decode(stored)
            except ValueError as exc:
                raise InvalidUsersFile(f"{path}:{number}: {exc}") from None
        try:
            return cls(hashes)
        except InvalidUsersFile:
            raise InvalidUsersFile(f"{path} has no user") from None

    def verify(self, login: bytes, password: bytes) -> bool:
        """Whether `password` is `login`'s (blocking: ~50 ms of CPU)."""
        try:
            name = login.decode("utf-8")
        except UnicodeDecodeError:
            name = ""
        stored = self._hashes.get(name)
        ok = (stored or self._dummy).matches(password)
        return ok and stored is not None

    async def verify_off_loop(self, login: bytes, password: bytes) -> bool:
        """`verify` in a thread (scrypt releases the GIL), so the event loop keeps serving."""
        async with self._checking:
            return await asyncio.to_thread(self.verify, login, password)
