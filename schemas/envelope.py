"""The CloudEvents 1.0 envelope (structured JSON mode) around every event's data.

Encoding and decoding go through the CloudEvents SDK, so what we write is what any
CloudEvents consumer reads; the envelope and data are then checked against our models.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Literal

from cloudevents.core.exceptions import BaseCloudEventException
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent
from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    SerializeAsAny,
    ValidationError,
    model_validator,
)

from schemas.events import DATA_MODELS, EventData, EventType
from schemas.keys import CUSTOMER_KEY_PATTERN, event_id

CONTENT_TYPE = "application/cloudevents+json"
DATA_CONTENT_TYPE = "application/json"
_FORMAT = JSONFormat()
EVENT_ID_PATTERN = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"


class InvalidEvent(ValueError):
    """A record is not a valid contactmoment event; `reason` names the field and problem."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Envelope(BaseModel):
    """One event: CloudEvents 1.0 context attributes plus the type's data model."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    specversion: Literal["1.0"] = "1.0"
    id: str = Field(pattern=EVENT_ID_PATTERN)
    source: str = Field(min_length=1, max_length=200, examples=["urn:contactmoment:phone"])
    type: EventType
    subject: str = Field(pattern=CUSTOMER_KEY_PATTERN, description="customer key, never a BSN")
    time: AwareDatetime
    datacontenttype: Literal["application/json"] = "application/json"
    data: SerializeAsAny[EventData]

    @model_validator(mode="before")
    @classmethod
    def _data_matches_type(cls, values: Any) -> Any:
        """Validate `data` with the model its `type` names (a tagged union by hand)."""
        if not isinstance(values, dict):
            return values
        model = DATA_MODELS.get(values.get("type"))  # type: ignore[arg-type]
        data = values.get("data")
        if model is not None and not isinstance(data, EventData):
            return {**values, "data": model.model_validate(data)}
        if model is not None and not isinstance(data, model):
            raise ValueError(f"data is a {type(data).__name__}, type needs a {model.__name__}")
        return values


def new_event(
    event_type: EventType,
    *,
    source: str,
    source_id: str,
    subject: str,
    time: datetime,
    data: EventData,
    part: str = "",
) -> Envelope:
    """An event whose id derives from (source, source_id, type, part): retries are harmless."""
    return Envelope(
        id=event_id(source, source_id, event_type.value, part),
        source=source,
        type=event_type,
        subject=subject,
        time=time,
        data=data,
    )


def encode(event: Envelope) -> bytes:
    """Structured-mode CloudEvents JSON bytes, written by the CloudEvents SDK."""
    attributes = event.model_dump(mode="json", exclude={"data"})
    attributes["time"] = event.time
    data = event.data.model_dump(mode="json", exclude_none=True)
    return _FORMAT.write(CloudEvent(attributes, data))


def decode(raw: bytes | str) -> Envelope:
    """Parse and validate one record; InvalidEvent with a reason a person can act on.

    The fast path validates the structured-mode JSON in one pass (pydantic-core); only a
    record that fails it goes through the CloudEvents SDK to name what is wrong.
    """
    try:
        return Envelope.model_validate_json(raw)
    except ValidationError:
        pass
    try:
        parsed = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidEvent(f"not JSON: {exc}") from None
    if not isinstance(parsed, dict):
        raise InvalidEvent("not a CloudEvent: the JSON value is not an object")
    try:
        sdk_event = _FORMAT.read(None, raw)
    except (BaseCloudEventException, ValueError, TypeError, KeyError) as exc:
        raise InvalidEvent(f"not a CloudEvents 1.0 event: {exc}") from None
    attributes = dict(sdk_event.get_attributes())
    model = DATA_MODELS.get(attributes.get("type"))  # type: ignore[arg-type]
    if model is None:
        raise InvalidEvent(f"type: unknown event type {attributes.get('type')!r}")
    try:
        attributes["data"] = model.model_validate(sdk_event.get_data())
    except ValidationError as exc:
        raise InvalidEvent(describe_validation_error(exc, prefix="data")) from None
    try:
        return Envelope.model_validate(attributes)
    except ValidationError as exc:
        raise InvalidEvent(describe_validation_error(exc)) from None


def describe_validation_error(exc: ValidationError, prefix: str = "") -> str:
    """`data.identifiers.0.hash: String should match pattern …; …` — field first."""
    parts = []
    for err in exc.errors():
        where = (
            ".".join(
                [prefix, *(str(p) for p in err["loc"])] if prefix else [str(p) for p in err["loc"]]
            )
            or "event"
        )
        parts.append(f"{where}: {err['msg']}")
    return "; ".join(parts)
