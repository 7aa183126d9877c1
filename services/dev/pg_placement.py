"""Where the local PostgreSQL cluster lives: pure decisions, the file system read elsewhere.

As root the server runs as the `postgres` system user, which must be able to enter every
directory down to its cluster. A checkout in a private home (mode 700, like /root) is out of
its reach, so there the cluster moves to a directory of the service user's own under
RELOCATED_ROOT, named for the checkout. A cluster that already exists stays where it is.
"""

from __future__ import annotations

import hashlib
import re
import stat
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from services.dev.errors import StackError

RELOCATED_ROOT = Path("/var/lib/contactmoment")


@dataclass(frozen=True)
class Account:
    """Who a server runs as: enough of passwd and group to know which directories it enters."""

    name: str
    uid: int
    gids: frozenset[int]


@dataclass(frozen=True)
class DirEntry:
    """One existing directory, as stat(2) shows it."""

    path: Path
    mode: int
    uid: int
    gid: int


@dataclass(frozen=True)
class Placement:
    """Where the cluster lives, and why it is not in the checkout when it is not."""

    home: Path
    # Why the cluster is outside the checkout (None: it is in the checkout's .local/pg).
    moved_because: str | None = None

    @property
    def relocated(self) -> bool:
        return self.moved_because is not None


def may_enter(entry: DirEntry, who: Account) -> bool:
    """Whether `who` may search (cd into, open below) the directory: the x bit that applies.

    As the kernel does, only the owner's bits count for the owner and only the group's for
    a member, even when "other" would allow more. ACLs are not read; nothing here sets any."""
    if who.uid == 0:
        return True
    if entry.uid == who.uid:
        return bool(entry.mode & stat.S_IXUSR)
    if entry.gid in who.gids:
        return bool(entry.mode & stat.S_IXGRP)
    return bool(entry.mode & stat.S_IXOTH)


def first_barrier(chain: Sequence[DirEntry], who: Account) -> Path | None:
    """The first directory of `chain` (from / downwards) that `who` cannot enter, or None."""
    for entry in chain:
        if not may_enter(entry, who):
            return entry.path
    return None


def relocated_base(root: Path, checkout: Path) -> Path:
    """`<root>/<checkout name>-<hash of its path>`: every relocated cluster of one checkout."""
    return root / f"{_slug(checkout.name)}-{_digest(checkout)}"


def relocated_home(root: Path, checkout: Path, local_dir: Path) -> Path:
    """Where the cluster of `local_dir` goes when moved: `pg` in the checkout's base for its
    own `.local`, a directory named for any other local dir (the fault tests' stacks)."""
    base = relocated_base(root, checkout)
    if local_dir == checkout / ".local":
        return base / "pg"
    return base / f"pg-{_slug(local_dir.name)}-{_digest(local_dir)}"


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-.") or "checkout"


def _digest(path: Path) -> str:
    return hashlib.sha256(str(path).encode()).hexdigest()[:10]


def place_cluster(
    *,
    local: Path,
    relocated: Path,
    server: Account,
    can_relocate: bool,
    exists_local: bool,
    exists_relocated: bool,
    local_barrier: Path | None,
    relocated_barrier: Path | None,
) -> Placement:
    """Choose the cluster's home, or raise StackError (before anything is created).

    `local` is `.local/pg` in the checkout, `relocated` the home under RELOCATED_ROOT;
    `exists_*` say which already holds a cluster; `*_barrier` is the first directory above
    each that `server` cannot enter (None: it reaches it). `can_relocate` is true as root,
    which can create the relocated home and give it to `server`."""
    if exists_local and local_barrier is None:
        return Placement(local)
    if exists_relocated:
        because = (
            f"{server.name} cannot enter {local_barrier}"
            if local_barrier
            else f"made there when {server.name} could not reach the checkout"
        )
        return Placement(relocated, moved_because=because)
    if exists_local:
        raise StackError(
            f"the PostgreSQL cluster in {local} cannot start: it runs as {server.name}, who "
            f"cannot enter {local_barrier}. Let that user in (`chmod o+x {local_barrier}`), "
            "or delete the cluster (`make clean`) so the next start creates one it can reach."
        )
    if local_barrier is None:
        return Placement(local)
    if not can_relocate:
        raise StackError(
            f"PostgreSQL runs as {server.name}, who cannot enter {local_barrier}, so its "
            f"cluster cannot live in {local}. Let that user in (`chmod o+x {local_barrier}`), "
            "set CONTACTMOMENT_LOCAL_DIR to a directory it can reach, or run as root (the "
            f"cluster then lives under {RELOCATED_ROOT})."
        )
    if relocated_barrier is not None:
        raise StackError(
            f"PostgreSQL runs as {server.name}, who cannot enter {local_barrier} (the "
            f"checkout) nor {relocated_barrier} (where the cluster would move: {relocated}). "
            f"Let that user into one of them (`chmod o+x …`), or clone the checkout where it "
            "can reach."
        )
    return Placement(relocated, moved_because=f"{server.name} cannot enter {local_barrier}")
