"""One simulated contact per call: a channel payload as the channel system would send it."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from zoneinfo import ZoneInfo

from faker import Faker

from services.simulate.population import Person, Population

AMS = ZoneInfo("Europe/Amsterdam")
SUBJECTS = [
    "paspoort",
    "identiteitskaart",
    "rijbewijs",
    "afvalinzameling",
    "parkeervergunning",
    "Wmo-voorziening",
    "bijstand",
    "omgevingsvergunning",
    "verhuizing doorgeven",
    "WOZ-waarde",
    "kapvergunning",
    "losliggende stoeptegel",
    "gemeentelijke belastingen",
]
QUEUES = ["KCC", "Burgerzaken", "Sociaal Domein", "Openbare Ruimte", "Belastingen"]
LOCATIONS = ["Stadskantoor Bergen op Zoom", "Servicepunt Halsteren"]
DOCUMENT_PRODUCTS = {
    "paspoort": "passport",
    "identiteitskaart": "id-card",
    "rijbewijs": "driving-licence",
}
FORMS = {
    "question": "Vraag stellen",
    "complaint": "Klacht indienen",
    "application": "Aanvraag",
    "report": "Melding openbare ruimte",
}


@dataclass(frozen=True)
class Call:
    """One ingest call: which endpoint, what body, which content type."""

    channel: str
    body: bytes | dict[str, object]
    content_type: str = "application/json"


class Scenarios:
    def __init__(self, seed: int | None, own_domain: str = "bergenopzoom.nl") -> None:
        self.rng = random.Random(seed)
        self.fake = Faker("nl_NL")
        self.fake.seed_instance(seed)
        self.population = Population(self.fake, self.rng)
        self.own_domain = own_domain
        self.counter = 0

    def next(self, now: datetime) -> Call:
        self.counter += 1
        person = self.population.pick()
        pick = self.rng.random()
        if pick < 0.35:
            return self.phone(person, now)
        if pick < 0.55:
            return self.counter_visit(person, now)
        if pick < 0.80:
            return self.web(person, now)
        return self.email(person, now)

    def _id(self, prefix: str) -> str:
        return f"{prefix}-{self.rng.getrandbits(64):016x}"

    def phone(self, person: Person, now: datetime) -> Call:
        outcome = self.rng.choices(
            ["answered", "callback-requested", "forwarded", "abandoned"], [55, 30, 10, 5]
        )[0]
        started = now - timedelta(minutes=self.rng.randrange(2, 15))
        verified = person.bsn is not None and outcome != "abandoned" and self.rng.random() < 0.6
        body: dict[str, object] = {
            "call_id": self._id("call"),
            "direction": "inbound",
            "caller": person.mobile,
            "started_at": started.isoformat(),
            "ended_at": now.isoformat(),
            "queue": self.rng.choice(QUEUES),
            "agent": f"medewerker-{self.rng.randrange(1, 40):02d}",
            "subject": self.rng.choice(SUBJECTS),
            "notes": self.fake.sentence(nb_words=12),
            "outcome": outcome,
        }
        if verified:
            body["bsn"] = person.bsn
        if outcome == "callback-requested":
            body["callback"] = {
                "phone": person.mobile,
                "before": (now + timedelta(days=2)).isoformat(),
            }
        return Call("phone", body)

    def counter_visit(self, person: Person, now: datetime) -> Call:
        product = self.rng.choice([*DOCUMENT_PRODUCTS, "verhuizing doorgeven", "uittreksel BRP"])
        outcome = self.rng.choices(["served", "no-show", "referred"], [85, 10, 5])[0]
        body: dict[str, object] = {
            "visit_id": self._id("visit"),
            "appointment_id": self._id("afspraak"),
            "location": self.rng.choice(LOCATIONS),
            "scheduled_at": (now - timedelta(minutes=20)).isoformat(),
            "product": product,
            "outcome": outcome,
        }
        body["kvk" if person.kvk else "bsn"] = person.kvk or person.bsn
        if outcome != "no-show":
            body["checked_in_at"] = (now - timedelta(minutes=25)).isoformat()
            body["served_at"] = (now - timedelta(minutes=15)).isoformat()
            body["ended_at"] = now.isoformat()
        if outcome == "served" and product in DOCUMENT_PRODUCTS:
            years = 5 if product == "identiteitskaart" else 10
            body["documents_issued"] = [
                {
                    "kind": DOCUMENT_PRODUCTS[product],
                    "valid_until": (now.date() + timedelta(days=365 * years)).isoformat(),
                }
            ]
        return Call("counter", body)

    def web(self, person: Person, now: datetime) -> Call:
        request_type = self.rng.choices(list(FORMS), [50, 10, 20, 20])[0]
        if person.kvk:
            auth: dict[str, str] | None = {"method": "eherkenning", "kvk": person.kvk}
        elif self.rng.random() < 0.7:
            auth = {"method": "digid", "bsn": person.bsn or ""}
        else:
            auth = None
        return Call(
            "web",
            {
                "submission_id": self._id("form"),
                "form": FORMS[request_type],
                "submitted_at": now.isoformat(),
                "auth": auth,
                "contact": {"email": person.email, "phone": person.mobile},
                "subject": self.rng.choice(SUBJECTS),
                "message": self.fake.paragraph(nb_sentences=3),
                "request_type": request_type,
            },
        )

    def email(self, person: Person, now: datetime) -> Call:
        msg = EmailMessage()
        message_id = make_msgid(domain="example.nl")
        roll = self.rng.random()
        if person.threads and roll < 0.5:
            root = self.rng.choice(person.threads)
            outbound = roll < 0.3  # the municipality answers the thread
            msg["From"] = (
                f"Gemeente Bergen op Zoom <kcc@{self.own_domain}>"
                if outbound
                else f"{person.name} <{person.email}>"
            )
            msg["To"] = person.email if outbound else f"info@{self.own_domain}"
            msg["Subject"] = "Re: " + self.rng.choice(SUBJECTS)
            msg["In-Reply-To"] = root
            msg["References"] = root
            text = (
                "Beste inwoner,\n\nHierbij ons antwoord op uw vraag.\n\nMet vriendelijke "
                "groet,\nKCC"
                if outbound
                else self.fake.paragraph(nb_sentences=2)
            )
        else:
            msg["From"] = f"{person.name} <{person.email}>"
            msg["To"] = f"info@{self.own_domain}"
            msg["Subject"] = f"Vraag over {self.rng.choice(SUBJECTS)}"
            person.threads.append(message_id)
            text = self.fake.paragraph(nb_sentences=4)
        msg["Message-ID"] = message_id
        msg["Date"] = format_datetime(now.astimezone(AMS))
        msg.set_content(text)
        return Call("email", msg.as_bytes(), "message/rfc822")
