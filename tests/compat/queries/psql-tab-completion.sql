-- Catalog queries psql 15's tab completion sends.
-- Source: PostgreSQL's src/bin/psql/tab-complete.c (REL_15_STABLE, PostgreSQL License), the
-- Query_for_list_of_* / SchemaQuery definitions as psql assembles them with the typed prefix; captured
-- byte for byte on the wire from psql 15.18 (Debian 15.18-0+deb12u1) (readline <TAB> against the demo data; the
-- enum-GUC query against a stub server answering vartype 'enum', since the demo has no enum GUC);
-- replayed by tests/it/compat.rs. One query per block, blocks separated by `-- next`.
-- The `-- psql:` line of each block names the input that was completed.

-- psql: SELECT * FROM or<TAB>  (Query_for_list_of_selectables + schema names)
-- expect rows: 2+
SELECT c.relname, NULL::pg_catalog.text FROM pg_catalog.pg_class c WHERE c.relkind IN ('r', 'S', 'v', 'm', 'f', 'p') AND (c.relname) LIKE 'or%' AND pg_catalog.pg_table_is_visible(c.oid) AND c.relnamespace <> (SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = 'pg_catalog')
UNION ALL
SELECT NULL::pg_catalog.text, n.nspname FROM pg_catalog.pg_namespace n WHERE n.nspname LIKE 'or%' AND n.nspname NOT LIKE E'pg\\_%'
LIMIT 1000
-- next
-- psql: SELECT * FROM public.or<TAB>  (Query_for_list_of_selectables, schema-qualified)
-- expect rows: 2+
SELECT c.relname, n.nspname FROM pg_catalog.pg_class c, pg_catalog.pg_namespace n WHERE c.relnamespace = n.oid AND c.relkind IN ('r', 'S', 'v', 'm', 'f', 'p') AND (c.relname) LIKE 'or%' AND n.nspname = 'public'
LIMIT 1000
-- next
-- psql: SELECT * FROM pg_catalog.pg_cl<TAB>  (schema-qualified; psql escapes `_` in the prefix)
-- expect rows: 1+
SELECT c.relname, n.nspname FROM pg_catalog.pg_class c, pg_catalog.pg_namespace n WHERE c.relnamespace = n.oid AND c.relkind IN ('r', 'S', 'v', 'm', 'f', 'p') AND (c.relname) LIKE 'pg\_cl%' AND n.nspname = 'pg_catalog'
LIMIT 1000
-- next
-- psql: \d pu<TAB>  (Query_for_list_of_relations + schema names)
-- expect rows: 1+
SELECT c.relname, NULL::pg_catalog.text FROM pg_catalog.pg_class c WHERE (c.relname) LIKE 'pu%' AND pg_catalog.pg_table_is_visible(c.oid) AND c.relnamespace <> (SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = 'pg_catalog')
UNION ALL
SELECT NULL::pg_catalog.text, n.nspname FROM pg_catalog.pg_namespace n WHERE n.nspname LIKE 'pu%' AND n.nspname NOT LIKE E'pg\\_%'
LIMIT 1000
-- next
-- psql: \dt or<TAB>  (Query_for_list_of_tables)
-- expect rows: 2+
SELECT c.relname, NULL::pg_catalog.text FROM pg_catalog.pg_class c WHERE c.relkind IN ('r', 'p') AND (c.relname) LIKE 'or%' AND pg_catalog.pg_table_is_visible(c.oid) AND c.relnamespace <> (SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = 'pg_catalog')
UNION ALL
SELECT NULL::pg_catalog.text, n.nspname FROM pg_catalog.pg_namespace n WHERE n.nspname LIKE 'or%' AND n.nspname NOT LIKE E'pg\\_%'
LIMIT 1000
-- next
-- psql: \dv <TAB>  (Query_for_list_of_views; the demo has no views, the schema half lists public, information_schema)
-- expect rows: 2+
SELECT c.relname, NULL::pg_catalog.text FROM pg_catalog.pg_class c WHERE c.relkind IN ('v') AND (c.relname) LIKE '%' AND pg_catalog.pg_table_is_visible(c.oid) AND c.relnamespace <> (SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = 'pg_catalog')
UNION ALL
SELECT NULL::pg_catalog.text, n.nspname FROM pg_catalog.pg_namespace n WHERE n.nspname LIKE '%' AND n.nspname NOT LIKE E'pg\\_%'
LIMIT 1000
-- next
-- psql: ANALYZE or<TAB>  (Query_for_list_of_analyzables)
-- expect rows: 2+
SELECT c.relname, NULL::pg_catalog.text FROM pg_catalog.pg_class c WHERE c.relkind IN ('r', 'p', 'm', 'f') AND (c.relname) LIKE 'or%' AND pg_catalog.pg_table_is_visible(c.oid) AND c.relnamespace <> (SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = 'pg_catalog')
UNION ALL
SELECT NULL::pg_catalog.text, n.nspname FROM pg_catalog.pg_namespace n WHERE n.nspname LIKE 'or%' AND n.nspname NOT LIKE E'pg\\_%'
LIMIT 1000
-- next
-- psql: \dn pu<TAB>  (Query_for_list_of_schemas)
-- expect rows: 1+
SELECT nspname FROM pg_catalog.pg_namespace  WHERE nspname LIKE 'pu%'
LIMIT 1000
-- next
-- psql: SET search_path TO <TAB>  (Query_for_list_of_schemas plus the pg_toast/pg_temp filter, + DEFAULT)
-- expect rows: 3+
SELECT nspname FROM pg_catalog.pg_namespace  WHERE nspname LIKE '%' AND nspname NOT LIKE E'pg\\_toast%' AND nspname NOT LIKE E'pg\\_temp%'
LIMIT 1000
-- next
-- psql: \df up<TAB>  (Query_for_list_of_functions)
-- expect rows: 1+
SELECT p.proname, NULL::pg_catalog.text FROM pg_catalog.pg_proc p WHERE p.prokind != 'p' AND (p.proname) LIKE 'up%' AND pg_catalog.pg_function_is_visible(p.oid)
UNION ALL
SELECT NULL::pg_catalog.text, n.nspname FROM pg_catalog.pg_namespace n WHERE n.nspname LIKE 'up%' AND n.nspname NOT LIKE E'pg\\_%'
LIMIT 1000
-- next
-- psql: SELECT * FROM orders WHERE cu<TAB>, UPDATE orders SET cu<TAB>  (Query_for_list_of_attributes)
-- expect rows: 1+
SELECT a.attname, NULL::pg_catalog.text FROM pg_catalog.pg_attribute a, pg_catalog.pg_class c WHERE c.oid = a.attrelid and a.attnum > 0 and not a.attisdropped AND (a.attname) LIKE 'cu%' AND c.relname = 'orders' AND pg_catalog.pg_table_is_visible(c.oid)
LIMIT 1000
-- next
-- psql: UPDATE public.orders SET cu<TAB>  (Query_for_list_of_attributes_with_schema)
-- expect rows: 1+
SELECT a.attname, NULL::pg_catalog.text FROM pg_catalog.pg_attribute a, pg_catalog.pg_class c, pg_catalog.pg_namespace nr WHERE c.oid = a.attrelid and a.attnum > 0 and not a.attisdropped AND (a.attname) LIKE 'cu%' AND c.relname = 'orders' AND c.relnamespace = nr.oid AND nr.nspname = 'public'
LIMIT 1000
-- next
-- psql: ALTER TABLE orders ALTER COLUMN <TAB>  (Query_for_list_of_attributes, empty prefix)
-- expect rows: 12+
SELECT a.attname, NULL::pg_catalog.text FROM pg_catalog.pg_attribute a, pg_catalog.pg_class c WHERE c.oid = a.attrelid and a.attnum > 0 and not a.attisdropped AND (a.attname) LIKE '%' AND c.relname = 'orders' AND pg_catalog.pg_table_is_visible(c.oid)
LIMIT 1000
-- next
-- psql: \c po<TAB>  (Query_for_list_of_databases)
-- expect rows: 1+
SELECT datname FROM pg_catalog.pg_database  WHERE datname LIKE 'po%'
LIMIT 1000
-- next
-- psql: \du <TAB>, ALTER ROLE <TAB>, SET SESSION AUTHORIZATION <TAB>  (Query_for_list_of_roles; at least the connected role)
-- expect rows: 1+
 SELECT rolname    FROM pg_catalog.pg_roles   WHERE rolname LIKE '%'
LIMIT 1000
-- next
-- psql: SET sea<TAB>  (Query_for_list_of_set_vars)
-- expect rows: 1+
SELECT pg_catalog.lower(name) FROM pg_catalog.pg_settings  WHERE context IN ('user', 'superuser')    AND pg_catalog.lower(name) LIKE pg_catalog.lower('sea%')
LIMIT 1000
-- next
-- psql: SHOW sea<TAB>  (Query_for_list_of_show_vars)
-- expect rows: 1+
SELECT pg_catalog.lower(name) FROM pg_catalog.pg_settings  WHERE pg_catalog.lower(name) LIKE pg_catalog.lower('sea%')
LIMIT 1000
-- next
-- psql: SET bytea_output TO <TAB>  (get_guctype: the GUC's type picks the completion)
-- expect rows: 1+
SELECT vartype FROM pg_catalog.pg_settings WHERE pg_catalog.lower(name) = pg_catalog.lower('bytea_output')
-- next
-- psql: SET bytea_output TO <TAB>  (Query_for_values_of_enum_GUC, sent when vartype is 'enum'; values escape, hex)
-- expect rows: 2+
 SELECT val FROM (    SELECT name, pg_catalog.unnest(enumvals) AS val      FROM pg_catalog.pg_settings     ) ss   WHERE val LIKE '%'        and pg_catalog.lower(name)=pg_catalog.lower('bytea_output')
LIMIT 1000
-- next
-- psql: \encoding U<TAB>  (Query_for_list_of_encodings)
-- expect rows: 1+
 SELECT DISTINCT pg_catalog.pg_encoding_to_char(conforencoding)    FROM pg_catalog.pg_conversion   WHERE pg_catalog.pg_encoding_to_char(conforencoding) LIKE pg_catalog.upper('U%')
LIMIT 1000
-- next
-- psql: \dT in<TAB>, ALTER TABLE orders ALTER COLUMN total TYPE in<TAB>  (Query_for_list_of_datatypes)
-- expect rows: 5+
SELECT t.typname, NULL::pg_catalog.text FROM pg_catalog.pg_type t WHERE (t.typrelid = 0  OR (SELECT c.relkind = 'c'     FROM pg_catalog.pg_class c WHERE c.oid = t.typrelid)) AND t.typname !~ '^_' AND (t.typname) LIKE 'in%' AND pg_catalog.pg_type_is_visible(t.oid)
UNION ALL
SELECT NULL::pg_catalog.text, n.nspname FROM pg_catalog.pg_namespace n WHERE n.nspname LIKE 'in%' AND n.nspname NOT LIKE E'pg\\_%'
LIMIT 1000
-- next
-- psql: \dx pl<TAB>  (Query_for_list_of_extensions)
-- expect rows: 1+
 SELECT extname    FROM pg_catalog.pg_extension   WHERE extname LIKE 'pl%'
LIMIT 1000
-- next
-- psql: SET timezone TO 'Eu<TAB>  (Query_for_list_of_timezone_names_unquoted, the opening quote already typed)
-- expect rows: 10+
 SELECT name    FROM pg_catalog.pg_timezone_names()   WHERE pg_catalog.lower(name) LIKE pg_catalog.lower('Eu%')
LIMIT 1000