"""LocalPostgres reads the real file system to place its cluster, refuses before initdb when
it cannot, and `clean` deletes a moved cluster. No server is started: the server user is a
stand-in that owns nothing, so a 700 directory keeps it out as it keeps out `postgres`."""

import os
import shutil
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from services.dev import postgres
from services.dev.errors import StackError
from services.dev.pg_placement import Account, relocated_base, relocated_home
from services.dev.postgres import LocalPostgres, directory_chain
from services.settings import Settings

OUTSIDER = Account("postgres", uid=4242, gids=frozenset({4242}))


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    home = tmp_path / "privhome"
    home.mkdir(mode=0o700)
    home.chmod(0o700)
    (home / "cm" / ".local").mkdir(parents=True)
    return home / "cm"


@pytest.fixture
def varlib() -> Iterator[Path]:
    """Stands in for /var/lib: enterable by everybody (tmp_path's parents are not)."""
    path = Path(tempfile.mkdtemp(prefix="cm-varlib-"))
    path.chmod(0o755)
    yield path / "contactmoment"
    shutil.rmtree(path)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _local_postgres(checkout: Path, varlib: Path) -> LocalPostgres:
    settings = Settings(
        local_dir=checkout / ".local",
        database_url=f"postgresql://contactmoment@127.0.0.1:{_free_port()}/contactmoment",
    )
    return LocalPostgres(settings, relocated_root=varlib, checkout=checkout)


def test_directory_chain_runs_from_the_root_to_the_last_existing_directory(
    checkout: Path,
) -> None:
    chain = directory_chain(checkout / ".local" / "pg" / "data")
    assert chain[0].path == Path("/")
    assert chain[-1].path == checkout / ".local"  # pg/ does not exist yet
    assert [e.path for e in chain] == [
        *reversed((checkout / ".local").parents),
        checkout / ".local",
    ]


def test_as_root_a_checkout_out_of_reach_moves_the_cluster(
    monkeypatch: pytest.MonkeyPatch, checkout: Path, tmp_path: Path, varlib: Path
) -> None:
    monkeypatch.setattr(postgres, "running_as_root", lambda: True)
    monkeypatch.setattr(postgres, "service_account", lambda create: OUTSIDER)
    pg = _local_postgres(checkout, varlib)
    expected = relocated_home(varlib, checkout, checkout / ".local")
    assert pg.placement.relocated and pg.home == expected
    status = pg.status()
    assert status.data == expected / "data" and status.log == expected / "postgres.log"
    barrier = Path(str(status.moved_because).removeprefix("postgres cannot enter "))
    assert barrier in checkout.parents


def test_without_root_it_stops_before_initdb_naming_cause_and_fix(
    monkeypatch: pytest.MonkeyPatch, checkout: Path, tmp_path: Path, varlib: Path
) -> None:
    ran: list[list[str]] = []
    monkeypatch.setattr(postgres, "running_as_root", lambda: False)
    monkeypatch.setattr(postgres, "service_account", lambda create: OUTSIDER)
    monkeypatch.setattr(postgres, "postgres_bindir", lambda: tmp_path / "bin")
    monkeypatch.setattr(LocalPostgres, "_run", lambda self, argv, what: ran.append(argv))
    pg = _local_postgres(checkout, varlib)
    with pytest.raises(StackError) as exc:
        pg.up(progress=lambda _: None)
    assert "postgres" in str(exc.value) and "cannot enter" in str(exc.value)
    assert "chmod o+x" in str(exc.value)
    assert ran == []
    assert not (checkout / ".local" / "pg").exists()
    assert not varlib.exists()


def _fake_cluster(home: Path, pid: int | None = None) -> None:
    (home / "data").mkdir(parents=True)
    (home / "data" / "PG_VERSION").write_text("17\n")
    if pid:
        (home / "data" / "postmaster.pid").write_text(f"{pid}\n")


def test_clean_deletes_the_moved_clusters_of_the_checkout(
    monkeypatch: pytest.MonkeyPatch, checkout: Path, tmp_path: Path, varlib: Path
) -> None:
    monkeypatch.setattr(postgres, "running_as_root", lambda: True)
    monkeypatch.setattr(postgres, "service_account", lambda create: OUTSIDER)
    _fake_cluster(relocated_home(varlib, checkout, checkout / ".local"))
    _fake_cluster(relocated_home(varlib, checkout, checkout / ".local" / "faults" / "f-1"))
    pg = _local_postgres(checkout, varlib)
    assert pg.placement.relocated  # found where it was made
    assert pg.clean() == [relocated_base(varlib, checkout)]
    assert not varlib.exists()  # no other checkout's cluster was left in it
    assert pg.clean() == []


def test_clean_keeps_other_checkouts_clusters(
    monkeypatch: pytest.MonkeyPatch, checkout: Path, tmp_path: Path, varlib: Path
) -> None:
    monkeypatch.setattr(postgres, "running_as_root", lambda: True)
    monkeypatch.setattr(postgres, "service_account", lambda create: OUTSIDER)
    other = relocated_home(varlib, tmp_path / "other", tmp_path / "other" / ".local")
    _fake_cluster(other)
    _fake_cluster(relocated_home(varlib, checkout, checkout / ".local"))
    _local_postgres(checkout, varlib).clean()
    assert (other / "data" / "PG_VERSION").exists()


def test_clean_refuses_while_a_cluster_of_the_checkout_runs(
    monkeypatch: pytest.MonkeyPatch, checkout: Path, tmp_path: Path, varlib: Path
) -> None:
    monkeypatch.setattr(postgres, "running_as_root", lambda: True)
    monkeypatch.setattr(postgres, "service_account", lambda create: OUTSIDER)
    own = relocated_home(varlib, checkout, checkout / ".local")
    faults = relocated_home(varlib, checkout, checkout / ".local" / "faults" / "f-1")
    _fake_cluster(own)
    _fake_cluster(faults, pid=os.getpid())  # a live process stands in for its server
    with pytest.raises(StackError, match=f"running in {faults}"):
        _local_postgres(checkout, varlib).clean()
    assert (own / "data" / "PG_VERSION").exists()
