DROP INDEX IF EXISTS customers_last_inbound;
ALTER TABLE customers DROP COLUMN IF EXISTS last_inbound_at;
