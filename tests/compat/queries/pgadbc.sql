-- Catalog queries ADBC PostgreSQL driver sends on connect and schema sync.
-- Collected by the datafusion-postgres project (tests/pgadbc.rs, Apache-2.0) from the tool;
-- replayed by tests/it/compat.rs. One query per block, blocks separated by `-- next`.

SELECT attname, atttypid FROM pg_catalog.pg_class AS cls INNER JOIN pg_catalog.pg_attribute AS attr ON cls.oid = attr.attrelid INNER JOIN pg_catalog.pg_type AS typ ON attr.atttypid = typ.oid WHERE attr.attnum >= 0 AND cls.oid = 'clubs'::regclass::oid ORDER BY attr.attnum
