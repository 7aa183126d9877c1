"""Who may hand mail to SMTP ingress: a file of users with scrypt-hashed passwords.

One line per user, `name:scrypt$<n>$<r>$<p>$<salt>$<hash>` (salt and hash base64), `#` starts
a comment. Only the mail gateway needs an entry; `contactmoment smtp add-user` adds or replaces
one (`add_user`), `make run` writes one for the local stack. Passwords are checked with
`hashlib.scrypt` (memory-hard, in the standard library) and compared in constant time; an
unknown user costs the same KDF as a known one, so timing does not tell which names exist.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from pathlib import Path

from services.settings import write_private

SCHEME = "scrypt"
# 16 MiB of memory and about 50 ms per check: cheap for one gateway login per connection,
# expensive for guessing. The parameters travel in each line, so they can be raised later.
N, R, P = 2**14, 8, 1
SALT_BYTES, HASH_BYTES = 16, 32
# A machine account: nobody types it, so there is no reason for a short one.
MIN_PASSWORD_LENGTH = 12


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


def check_name(name: str) -> None:
    """ValueError unless `name` can stand at the start of a users-file line and be read back."""
    if (
        not name
        or ":" in name
        or name.startswith("#")  # the line would be a comment
        or any(c.isspace() or not c.isprintable() for c in name)
    ):
        raise ValueError("a user name is non-empty, without ':', spaces or a leading '#'")


def check_password(password: str) -> None:
    """ValueError unless `password` is fit for a gateway account."""
    if not password:
        raise ValueError("the password is empty")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValueError(f"the password needs at least {MIN_PASSWORD_LENGTH} characters")


def users_line(name: str, password: str) -> str:
    """One line of the users file."""
    check_name(name)
    return f"{name}:{hash_password(password)}\n"


def parse_users(text: str, path: Path) -> dict[str, PasswordHash]:
    """The accounts of a users file's text; InvalidUsersFile names the first bad line."""
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
    return hashes


def with_user(text: str, name: str, line: str) -> tuple[str, bool]:
    """`text` with `name`'s line replaced by `line` (or appended), and whether it replaced one.

    Comments, blank lines and the other accounts stay as they were, in their order.
    """
    kept, replaced = [], False
    for old in text.splitlines(keepends=True):
        if old.strip().partition(":")[0] == name and not old.lstrip().startswith("#"):
            if not replaced:
                kept.append(line)
            replaced = True
            continue
        kept.append(old)
    if not replaced:
        if kept and not kept[-1].endswith("\n"):
            kept[-1] += "\n"
        kept.append(line)
    return "".join(kept), replaced


def write_users_file(path: Path, text: str) -> None:
    """Replace `path` atomically with `text`, readable by its owner only (0600 from creation).

    A reader (the API starting, check-config) sees the old file or the new one, never half.
    """
    write_private(path, text.encode("utf-8"))


def add_user(path: Path, name: str, password: str) -> bool:
    """Add `name` with `password` to the users file at `path`, or replace its line.

    The file is created when missing; an existing one must parse (InvalidUsersFile naming the
    line otherwise), so a broken file is never rewritten into a different broken file.
    ValueError for a bad name or password. Returns whether an account was replaced.
    """
    check_name(name)
    check_password(password)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        text = ""
    except OSError as exc:
        raise InvalidUsersFile(f"cannot read {path}: {exc.strerror}") from None
    parse_users(text, path)
    new, replaced = with_user(text, name, users_line(name, password))
    write_users_file(path, new)
    return replaced


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

    @property
    def names(self) -> list[str]:
        """The account names, sorted (for check-config; never the hashes)."""
        return sorted(self._hashes)

    @classmethod
    def load(cls, path: Path) -> SmtpUsers:
        """Read `path`; InvalidUsersFile names the first bad line."""
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise InvalidUsersFile(f"cannot read {path}: {exc.strerror}") from None
        hashes = parse_users(text, path)
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
