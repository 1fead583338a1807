-- Catalog queries pgAdmin sends on connect and schema sync.
-- Collected by the datafusion-postgres project (tests/pgadmin.rs, Apache-2.0) from the tool;
-- replayed by tests/it/compat.rs. One query per block, blocks separated by `-- next`.

SELECT version()
-- next
SELECT CASE
        WHEN (SELECT count(extname) FROM pg_catalog.pg_extension WHERE extname='bdr') > 0
        THEN 'pgd'
        WHEN (SELECT COUNT(*) FROM pg_replication_slots) > 0
        THEN 'log'
        ELSE NULL
    END as type
