-- Provenance of a link: did the channel verify that this identifier belongs to the person
-- of this key (a DigiD/eHerkenning login, a checked ID, a call whose caller the agent
-- verified), or was it typed in (a contact address on a web form, a number given on the
-- phone)? Residents see a weak key's history only over a verified link (docs/privacy.md).
-- Rows from before: a BSN or KvK came from an authenticated channel, an e-mail address or
-- phone number counts as typed (as events without the field decode).
-- depends: 0003_privacy

ALTER TABLE customer_identifiers ADD COLUMN verified boolean NOT NULL DEFAULT false;
UPDATE customer_identifiers SET verified = true WHERE kind IN ('bsn', 'kvk');
