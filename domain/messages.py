"""Notification texts: plain Dutch at B1 level, one template per kind and audience."""

from __future__ import annotations

TEMPLATES: dict[tuple[str, str], str] = {
    (
        "callback-missed",
        "customer",
    ): "Het spijt ons. We hebben u niet op tijd teruggebeld over '{subject}'. "
    "We bellen u uiterlijk {promise} terug.",
    (
        "callback-missed",
        "staff",
    ): "Terugbelverzoek over '{subject}' is niet op tijd afgehandeld (uiterlijk {due}). "
    "Bel de klant vandaag nog terug.",
    (
        "interim-update-due",
        "staff",
    ): "Verzoek over '{subject}' staat al lang open zonder bericht aan de klant. "
    "Laat de klant weten hoe het ervoor staat.",
    (
        "deadline-breached",
        "regieteam",
    ): "Verzoek over '{subject}' ({department}) is te laat: het moest uiterlijk {due} "
    "klaar zijn. Zorg dat het wordt opgepakt.",
    (
        "repeat-contact",
        "staff",
    ): "Deze klant heeft al {count} keer contact gehad over '{subject}' in 14 dagen. "
    "Neem de regie en los het in één keer op.",
    (
        "document-expiring",
        "customer",
    ): "Uw {document} is geldig tot {valid_until}. Maak op tijd een afspraak om een "
    "nieuwe aan te vragen.",
    (
        "feedback-request",
        "customer",
    ): "Uw vraag over '{subject}' is afgehandeld. Wilt u ons laten weten hoe het ging? "
    "Geef een cijfer van 1 tot 5.",
}
DOCUMENTS = {"passport": "paspoort", "id-card": "identiteitskaart", "driving-licence": "rijbewijs"}


def text(kind: str, audience: str, **values: str) -> str:
    return TEMPLATES[(kind, audience)].format(**values)
