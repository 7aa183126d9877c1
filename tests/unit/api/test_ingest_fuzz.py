"""Arbitrary input to every ingest endpoint gets a 4xx (or 202), never a 5xx."""

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.unit.api.conftest import AUTH

EXAMPLES = Path(__file__).parents[3] / "docs" / "examples"
EXAMPLE_FILES = {
    "phone": "phone-answered.json",
    "counter": "counter-served.json",
    "web": "web-digid.json",
}
FUZZ = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)


def mutate(example: dict[str, Any], data: st.DataObject) -> dict[str, Any]:
    """An example payload with some fields replaced, removed or added at random."""
    body = dict(example)
    for key in data.draw(st.lists(st.sampled_from(sorted(body)), max_size=3, unique=True)):
        if data.draw(st.booleans()):
            body[key] = data.draw(json_values)
        else:
            del body[key]
    extra = data.draw(st.dictionaries(st.text(max_size=8), json_values, max_size=2))
    return {**body, **extra}


@pytest.mark.parametrize("channel", ["phone", "counter", "web"])
@FUZZ
@given(data=st.data())
async def test_mutated_json_is_never_a_server_error(
    client: httpx.AsyncClient, channel: str, data: st.DataObject
) -> None:
    example = json.loads((EXAMPLES / EXAMPLE_FILES[channel]).read_text())
    body = mutate(example, data)
    response = await client.post(f"/v1/ingest/{channel}", json=body, headers=AUTH)
    assert response.status_code in (202, 400, 413, 422), response.text
    if response.status_code != 202:
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["detail"]


@pytest.mark.parametrize("channel", ["phone", "counter", "web"])
@FUZZ
@given(body=json_values)
async def test_arbitrary_json_is_never_a_server_error(
    client: httpx.AsyncClient, channel: str, body: Any
) -> None:
    response = await client.post(f"/v1/ingest/{channel}", json=body, headers=AUTH)
    assert 400 <= response.status_code < 500, response.text


header_lines = st.lists(
    st.tuples(
        st.sampled_from(
            [
                "From",
                "To",
                "Cc",
                "Subject",
                "Message-ID",
                "In-Reply-To",
                "References",
                "Date",
                "Content-Type",
                "Content-Transfer-Encoding",
                "MIME-Version",
                "X-Other",
            ]
        ),
        st.text(
            st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n"), max_size=40
        ),
    ),
    max_size=8,
)


@FUZZ
@given(headers=header_lines, body=st.binary(max_size=500))
async def test_arbitrary_mail_is_never_a_server_error(
    client: httpx.AsyncClient, headers: list[tuple[str, str]], body: bytes
) -> None:
    raw = b"".join(f"{k}: {v}\r\n".encode("utf-8", "replace") for k, v in headers)
    raw += b"\r\n" + body
    response = await client.post(
        "/v1/ingest/email", content=raw, headers={**AUTH, "Content-Type": "message/rfc822"}
    )
    assert response.status_code in (202, 422), response.text


@FUZZ
@given(raw=st.binary(max_size=2000))
async def test_arbitrary_bytes_as_mail_are_never_a_server_error(
    client: httpx.AsyncClient, raw: bytes
) -> None:
    response = await client.post(
        "/v1/ingest/email", content=raw, headers={**AUTH, "Content-Type": "message/rfc822"}
    )
    assert response.status_code in (202, 422), response.text
