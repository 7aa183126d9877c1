"""Where the local PostgreSQL cluster lives: in the checkout when its server user can enter
every directory down to it, else (as root) under a directory of that user's own."""

import stat
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.dev.errors import StackError
from services.dev.pg_placement import (
    Account,
    DirEntry,
    Placement,
    first_barrier,
    may_enter,
    place_cluster,
    relocated_base,
    relocated_home,
)

POSTGRES = Account("postgres", uid=105, gids=frozenset({110}))
ROOT_UID = 0
LOCAL = Path("/home/anna/cm/.local/pg")
MOVED = Path("/var/lib/contactmoment/cm-0123456789/pg")


def entry(path: str, mode: int, uid: int = ROOT_UID, gid: int = ROOT_UID) -> DirEntry:
    return DirEntry(Path(path), stat.S_IFDIR | mode, uid, gid)


# -- can user X enter directory D? --------------------------------------------------------


@pytest.mark.parametrize(
    ("mode", "uid", "gid", "allowed"),
    [
        (0o755, ROOT_UID, ROOT_UID, True),  # other may search
        (0o700, ROOT_UID, ROOT_UID, False),  # a private home: owner only
        (0o750, ROOT_UID, 110, True),  # postgres's group may search
        (0o700, 105, 105, True),  # postgres's own directory
        (0o070, 105, 110, False),  # the owner's bits decide for the owner, not the group's
        (0o707, ROOT_UID, 110, False),  # the group's bits decide for a member, not other's
        (0o644, ROOT_UID, ROOT_UID, False),  # readable is not enterable
    ],
)
def test_may_enter_uses_the_bits_that_apply(mode: int, uid: int, gid: int, allowed: bool) -> None:
    assert may_enter(entry("/d", mode, uid, gid), POSTGRES) is allowed


def test_root_enters_everything() -> None:
    root = Account("root", ROOT_UID, frozenset({0}))
    assert may_enter(entry("/root", 0o000, 105, 110), root)


def test_the_first_barrier_from_the_top_is_named() -> None:
    chain = [
        entry("/", 0o755),
        entry("/home", 0o755),
        entry("/home/anna", 0o700),
        entry("/home/anna/cm", 0o700),
    ]
    assert first_barrier(chain, POSTGRES) == Path("/home/anna")
    assert first_barrier(chain[:2], POSTGRES) is None


@given(st.lists(st.integers(0, 0o777), max_size=8))
def test_a_barrier_is_the_first_entry_that_cannot_be_entered(modes: list[int]) -> None:
    chain = [entry(f"/d{i}", mode) for i, mode in enumerate(modes)]
    barrier = first_barrier(chain, POSTGRES)
    allowed = [may_enter(e, POSTGRES) for e in chain]
    if barrier is None:
        assert all(allowed)
    else:
        index = [e.path for e in chain].index(barrier)
        assert all(allowed[:index]) and not allowed[index]


# -- where does the cluster live? ---------------------------------------------------------


def place(**overrides: Any) -> Placement:
    arguments: dict[str, Any] = {
        "local": LOCAL,
        "relocated": MOVED,
        "server": POSTGRES,
        "can_relocate": True,
        "exists_local": False,
        "exists_relocated": False,
        "local_barrier": None,
        "relocated_barrier": None,
        **overrides,
    }
    return place_cluster(**arguments)


def test_a_reachable_checkout_keeps_the_cluster() -> None:
    placement = place()
    assert placement.home == LOCAL and not placement.relocated


def test_an_existing_reachable_cluster_stays_even_if_a_moved_one_exists() -> None:
    placement = place(exists_local=True, exists_relocated=True)
    assert placement.home == LOCAL


def test_a_private_home_as_root_moves_the_cluster_and_says_why() -> None:
    placement = place(local_barrier=Path("/home/anna"))
    assert placement.home == MOVED
    assert placement.moved_because == "postgres cannot enter /home/anna"


def test_a_moved_cluster_is_found_again() -> None:
    placement = place(exists_relocated=True, local_barrier=Path("/home/anna"))
    assert placement.home == MOVED and placement.relocated
    # Still found there after the checkout became reachable: its data is there.
    assert place(exists_relocated=True).home == MOVED


def test_without_root_there_is_nowhere_to_move_to() -> None:
    with pytest.raises(StackError) as exc:
        place(local_barrier=Path("/home/anna"), can_relocate=False)
    message = str(exc.value)
    assert "cannot enter /home/anna" in message
    assert "chmod o+x /home/anna" in message and "CONTACTMOMENT_LOCAL_DIR" in message


def test_an_existing_cluster_out_of_reach_is_not_moved_silently() -> None:
    with pytest.raises(StackError, match=r"cannot enter /home/anna.*make clean"):
        place(exists_local=True, local_barrier=Path("/home/anna"))


def test_a_relocation_target_out_of_reach_is_refused() -> None:
    with pytest.raises(StackError, match="nor /var/lib"):
        place(local_barrier=Path("/home/anna"), relocated_barrier=Path("/var/lib"))


# -- the relocated home's name -------------------------------------------------------------


def test_the_moved_home_is_named_for_the_checkout_and_stable() -> None:
    root, checkout = Path("/var/lib/contactmoment"), Path("/home/anna/cm")
    home = relocated_home(root, checkout, checkout / ".local")
    assert home == relocated_home(root, checkout, checkout / ".local")
    assert home.parent == relocated_base(root, checkout)
    assert home.name == "pg" and home.parent.name.startswith("cm-")
    other = relocated_home(root, Path("/root/cm"), Path("/root/cm/.local"))
    assert other.parent != home.parent


def test_another_local_dir_of_the_checkout_gets_its_own_home_in_the_same_base() -> None:
    root, checkout = Path("/var/lib/contactmoment"), Path("/root/cm")
    faults = relocated_home(root, checkout, checkout / ".local" / "faults" / "faults-42")
    assert faults.parent == relocated_base(root, checkout)
    assert faults != relocated_home(root, checkout, checkout / ".local")
