"""Simulated residents and businesses with consistent identities across channels."""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field

from faker import Faker


@dataclass
class Person:
    name: str
    bsn: str | None
    kvk: str | None
    email: str
    mobile: str
    threads: list[str] = field(default_factory=list)
    """Message-IDs of e-mail threads this person started (replies go there)."""


def make_person(fake: Faker, rng: random.Random) -> Person:
    business = rng.random() < 0.1
    name = fake.company() if business else fake.name()
    local = "".join(
        c for c in name.lower().replace(" ", ".") if c.isascii() and (c.isalnum() or c == ".")
    )
    local = re.sub(r"\.+", ".", local).strip(".")
    return Person(
        name=name,
        bsn=None if business else fake.ssn(),
        kvk=f"{rng.randrange(10_000_000, 99_999_999)}" if business else None,
        email=f"{local or 'inwoner'}{rng.randrange(100)}@example.nl",
        # 061–064 numbers are valid Dutch mobiles (Faker's numbers often are not valid at all).
        mobile=f"06{rng.randrange(10_000_000, 65_000_000)}",
    )


class Population:
    """Returning customers switch channels: most traffic comes from people seen before."""

    def __init__(self, fake: Faker, rng: random.Random, size: int = 300) -> None:
        self.fake, self.rng = fake, rng
        self.people: list[Person] = [make_person(fake, rng) for _ in range(size // 3)]
        self.size = size

    def pick(self) -> Person:
        if len(self.people) < self.size and self.rng.random() < 0.35:
            person = make_person(self.fake, self.rng)
            self.people.append(person)
            return person
        return self.rng.choice(self.people)
