"""What the API's handlers use, in one typed container instead of loose `app.state` names.

`create_app` builds one `Services` and attaches it; handlers reach it through `services`
(or the `Svc` dependency), so mypy checks every use.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, FastAPI
from starlette.requests import HTTPConnection

if TYPE_CHECKING:  # the modules below import this one for `services`
    from domain.clock.norms import Catalogue
    from schemas.keys import Pseudonymiser
    from services.api.auth import Authenticator
    from services.api.database import Database
    from services.ingest.parse_pool import MailReader
    from services.ingest.service import Ingest
    from services.kafka.publisher import Publisher
    from services.privacy.sealer import Sealer
    from services.settings import Settings


@dataclass(frozen=True)
class Services:
    """The API process's collaborators, built once at start-up."""

    settings: Settings
    publisher: Publisher
    """The one producer: ingest, staff actions and the access log all write through it."""
    pseudonymiser: Pseudonymiser
    sealer: Sealer
    ingest: Ingest
    """Seal, publish and count one ingest call (shared with SMTP)."""
    mail: MailReader
    """E-mail limits and parsing off the event loop (shared with SMTP)."""
    database: Database
    catalogue: Catalogue
    """The service norms, for the KPIs."""
    auth: Authenticator
    activities: dict[str, tuple[str, str]]
    """Registered processing activities: id → (name, URI)."""


def attach(app: FastAPI, services: Services) -> None:
    """Make `services` what every handler of `app` gets."""
    app.state.services = services


def services(connection: HTTPConnection) -> Services:
    """The Services of the app serving this request (FastAPI dependency or plain call)."""
    found = getattr(connection.app.state, "services", None)
    if not isinstance(found, Services):
        raise TypeError("this app was not built by services.api.app.create_app")
    return found


Svc = Annotated[Services, Depends(services)]
