"""No BSN in plain text in any table or on the access-log topic, after ingest, a staff
search by BSN, the staff page and the resident's own view (which signs in with the BSN)."""

from __future__ import annotations

import asyncpg
import httpx

from harness.kafka import read_all
from harness.processes import RunningApi
from schemas.topics import ACCESS
from services.dev.tokens import resident_token
from services.settings import Settings
from tests.e2e.people import new_resident
from tests.e2e.staff_ui import csrf_of
from tests.e2e.test_unified_view import eventually, ingest_four_contacts
from tests.integration.test_bsn_never_in_plain_text import plain_forms


async def test_no_bsn_in_any_table_or_the_access_log(
    client: httpx.AsyncClient, api: RunningApi, settings: Settings
) -> None:
    r = new_resident()
    key = (await ingest_four_contacts(client, r))[0]["customer_key"]
    found = await eventually(
        lambda: client.post("/v1/customers/search", json={"bsn": r.bsn}),
        lambda resp: [i["customer_key"] for i in resp.json()["items"]] == [key],
    )
    assert r.bsn not in found.text
    signed_in = {"Cookie": f"contactmoment_token={api.token}", "Origin": api.base_url}
    form = await client.get(f"/ui/customers/{key}", headers=signed_in)  # the purpose form
    page = await client.post(
        f"/ui/customers/{key}",
        data={"purpose": "klantcontact", "csrf": csrf_of(form.text)},
        headers=signed_in,
    )
    assert page.status_code == 200 and r.bsn not in page.text
    me = await client.get(
        "/v1/me",
        headers={"Authorization": f"Bearer {resident_token(settings.local_dir, r.bsn)}"},
    )
    assert me.status_code == 200 and me.json()["customer_key"] == key
    await eventually(  # the search is in the access log (so its table and topic are scanned)
        lambda: client.get("/v1/access-log", params={"customer_key": key}),
        lambda resp: "klant zoeken" in {i["name"] for i in resp.json()["items"]},
    )

    conn = await asyncpg.connect(settings.database_url)
    try:
        tables = await conn.fetch(
            "SELECT table_schema, table_name FROM information_schema.tables"
            " WHERE table_schema IN ('public', 'privacy') AND table_type = 'BASE TABLE'"
        )
        dump = []
        for t in tables:
            rows = await conn.fetch(
                f'SELECT t::text AS row FROM "{t["table_schema"]}"."{t["table_name"]}" t'
            )
            dump += [row["row"] for row in rows]
    finally:
        await conn.close()
    text = "\n".join(dump)
    assert key in text  # the scan covers the customer's rows: not vacuous
    access = b"\n".join(rec.value for rec in await read_all(settings.kafka_bootstrap, ACCESS))
    assert key.encode() in access
    for form in plain_forms(r.bsn):
        assert form not in text, f"BSN {form} in a table"
        assert form.encode() not in access, f"BSN {form} on {ACCESS}"
    assert r.bsn not in api.log()
