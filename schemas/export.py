"""Generate `schemas/json/<type>.json` (JSON Schema per event) and `schemas/asyncapi.json`.

The committed files are generated from the models; `contactmoment schemas export --check`
and a unit test fail when they drift.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from pydantic import create_model

from schemas.envelope import CONTENT_TYPE, Envelope
from schemas.events import (
    ACCESS_TYPES,
    DATA_MODELS,
    INPUT_TYPES,
    NOTIFICATION_TYPES,
    SIGNAL_TYPES,
    EventType,
)
from schemas.topics import ACCESS, DEADLETTER, EVENTS, NOTIFICATIONS, SIGNALS, TOPICS

SCHEMA_DIR = Path(__file__).parent / "json"
ASYNCAPI_PATH = Path(__file__).parent / "asyncapi.json"
SCHEMA_BASE_URI = "https://contactmoment.nl/schemas/"


def _message_name(event_type: EventType) -> str:
    return event_type.value.removeprefix("nl.contactmoment.").replace(".", "-")


def event_schema(event_type: EventType) -> dict[str, Any]:
    """JSON Schema of one event: the envelope with `type` fixed and its own `data`."""
    model = create_model(
        _message_name(event_type),
        __base__=Envelope,
        type=(Literal[event_type.value], ...),  # type: ignore[arg-type]
        data=(DATA_MODELS[event_type], ...),
    )
    schema = model.model_json_schema(mode="serialization")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = f"{SCHEMA_BASE_URI}{event_type.value}.json"
    schema["title"] = event_type.value
    schema["description"] = (DATA_MODELS[event_type].__doc__ or "").strip() or event_type.value
    return schema


def asyncapi_document() -> dict[str, Any]:
    """AsyncAPI 3.0 description of the topics and the messages each carries."""
    by_topic = {
        EVENTS: sorted(INPUT_TYPES),
        SIGNALS: sorted(SIGNAL_TYPES),
        NOTIFICATIONS: sorted(NOTIFICATION_TYPES),
        ACCESS: sorted(ACCESS_TYPES),
    }
    messages: dict[str, Any] = {}
    for event_type in EventType:
        messages[_message_name(event_type)] = {
            "name": event_type.value,
            "contentType": CONTENT_TYPE,
            "payload": {"$ref": f"./json/{event_type.value}.json"},
        }
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    for spec in TOPICS:
        cid = spec.name.replace(".", "-")
        channel: dict[str, Any] = {
            "address": spec.name,
            "description": spec.carries,
            "bindings": {"kafka": {"topicConfiguration": _topic_binding(spec.configs)}},
        }
        if spec.name == DEADLETTER:
            channel["messages"] = {
                "rejected": {
                    "name": "rejected-record",
                    "summary": "the original bytes, with headers error.reason and error.source",
                    "payload": {"type": "string", "contentEncoding": "binary"},
                }
            }
        else:
            channel["messages"] = {
                _message_name(t): {"$ref": f"#/components/messages/{_message_name(t)}"}
                for t in by_topic[spec.name]
            }
        channels[cid] = channel
        operations[f"consume-{cid}"] = {
            "action": "receive",
            "channel": {"$ref": f"#/channels/{cid}"},
        }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "contactmoment",
            "version": "1.0.0",
            "description": "Contact events, deadline signals and proactive notifications. "
            "Every record is a CloudEvents 1.0 event in structured JSON mode, keyed by the "
            "customer key.",
        },
        "defaultContentType": CONTENT_TYPE,
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages},
    }


def _topic_binding(configs: dict[str, str]) -> dict[str, Any]:
    binding: dict[str, Any] = {"cleanup.policy": configs.get("cleanup.policy", "delete").split(",")}
    if "retention.ms" in configs:
        binding["retention.ms"] = int(configs["retention.ms"])
    return binding


def rendered_files() -> dict[Path, str]:
    """Every generated file and its exact text."""
    files = {SCHEMA_DIR / f"{t.value}.json": _dump(event_schema(t)) for t in EventType}
    files[ASYNCAPI_PATH] = _dump(asyncapi_document())
    return files


def _dump(value: dict[str, Any]) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=False) + "\n"


def drifted() -> list[Path]:
    """Generated files whose committed text differs from the models (or that are extra)."""
    files = rendered_files()
    stale = [p for p, text in files.items() if not p.exists() or p.read_text() != text]
    extra = [p for p in SCHEMA_DIR.glob("*.json") if p not in files]
    return sorted(stale + extra)


def write_all() -> list[Path]:
    SCHEMA_DIR.mkdir(parents=True, exist_ok=True)
    for path in SCHEMA_DIR.glob("*.json"):
        path.unlink()
    files = rendered_files()
    for path, text in files.items():
        path.write_text(text)
    return sorted(files)
