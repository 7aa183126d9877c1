"""Fresh, valid identities per test, so runs never see each other's customers."""

import random
from dataclasses import dataclass


def valid_bsn(rng: random.Random) -> str:
    while True:
        first8 = f"{rng.randrange(10_000_000, 99_999_999)}"
        total = sum(int(d) * w for d, w in zip(first8, range(9, 1, -1), strict=True))
        if total % 11 <= 9:
            return first8 + str(total % 11)


@dataclass(frozen=True)
class Resident:
    bsn: str
    email: str
    phone: str
    tag: str


def new_resident() -> Resident:
    rng = random.Random()
    tag = f"{rng.getrandbits(40):010x}"
    return Resident(
        bsn=valid_bsn(rng),
        email=f"inwoner.{tag}@example.nl",
        phone=f"06{rng.randrange(10_000_000, 65_000_000)}",
        tag=tag,
    )
