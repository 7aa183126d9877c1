"""The committed JSON Schemas and AsyncAPI document are what the models generate."""

import json

from schemas.events import EventType
from schemas.export import ASYNCAPI_PATH, SCHEMA_DIR, drifted
from schemas.topics import TOPICS


def test_committed_schema_files_match_the_models() -> None:
    stale = drifted()
    assert stale == [], f"run `make schemas` and commit: {[str(p) for p in stale]}"


def test_every_event_type_has_a_schema_and_an_asyncapi_message() -> None:
    doc = json.loads(ASYNCAPI_PATH.read_text())
    assert doc["asyncapi"].startswith("3.")
    names = {m["name"] for m in doc["components"]["messages"].values()}
    assert names == {t.value for t in EventType}
    for event_type in EventType:
        schema = json.loads((SCHEMA_DIR / f"{event_type.value}.json").read_text())
        assert schema["properties"]["type"]["const"] == event_type.value


def test_asyncapi_describes_every_topic() -> None:
    doc = json.loads(ASYNCAPI_PATH.read_text())
    addresses = {c["address"] for c in doc["channels"].values()}
    assert addresses == {t.name for t in TOPICS}
