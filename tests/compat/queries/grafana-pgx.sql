-- Queries Grafana's PostgreSQL data source (grafana-postgresql-datasource; Go backend on pgx v5, lib/pq
-- before) sends for the health check, the config page and the query editor's schema/table/column pickers.
-- Collected from grafana/grafana (AGPL-3.0):
-- public/app/plugins/datasource/grafana-postgresql-datasource/postgresMetaQuery.ts (+ datasource.ts,
-- configuration/useAutoDetectFeatures.ts), pkg/tsdb/grafana-postgresql-datasource/schema.go,
-- pkg/tsdb/grafana-postgresql-datasource/pgx/handler_checkhealth.go and sqleng/handler_checkhealth.go;
-- the ping texts from jackc/pgx pgconn/pgconn.go (MIT) and lib/pq conn_go18.go (MIT).
-- The frontend meta queries reach the server as simple queries (PgConn.Exec); schema.go's use
-- pgx's extended protocol with $1/$2, filled here with literals (schema 'public', table 'orders').
-- Does not repeat grafana.sql (showTables() without a schema, getSchema('public.games')).
-- Replayed by tests/it/compat.rs. One query per block, blocks separated by `-- next`.

-- Health check ("Save & test"), pgx backend: pgxpool.Pool.Ping -> pgconn.PgConn.Ping, which sends the
-- simple query "-- ping" (a comment only; the server answers EmptyQueryResponse). The line below is
-- indented by one space so the replay harness does not drop it as a comment line; it is sent trimmed.
 -- ping
-- next
-- Health check, lib/pq backend (older Grafana releases, sqleng handler): database/sql Ping -> (*pq.conn).Ping,
-- which sends the simple query ";"
;
-- next
-- postgresMetaQuery.getVersion (config page auto-detects the PostgreSQL version)
-- expect rows: 1+
SELECT current_setting('server_version_num')::int/100 as version
-- next
-- postgresMetaQuery.getTimescaleDBVersion (config page, server >= 9.6); no timescaledb, so 0 rows is correct
SELECT extversion FROM pg_extension WHERE extname = 'timescaledb'
-- next
-- postgresMetaQuery.showSchemas
-- expect rows: 1+
SELECT schema_name AS "name"
    FROM information_schema.schemata
    WHERE schema_name NOT IN ('information_schema',
                              'pg_catalog',
                              'pg_toast',
                              '_timescaledb_cache',
                              '_timescaledb_catalog',
                              '_timescaledb_internal',
                              '_timescaledb_config',
                              'timescaledb_information',
                              'timescaledb_experimental')
    ORDER BY schema_name
-- next
-- postgresMetaQuery.showTables('public') (query builder table list for a chosen schema)
-- expect rows: 7+
SELECT quote_ident(table_name) AS "table"
      FROM information_schema.tables
      WHERE quote_ident(table_schema) = 'public'
      ORDER BY 1
-- next
-- postgresMetaQuery.getSchema('orders') (query builder column list for an unqualified table, which takes the
-- search_path branch; grafana.sql has the schema-qualified form).
-- expect rows: 12+
SELECT quote_ident(column_name) AS "column", data_type AS "type"
    FROM information_schema.columns
    WHERE
      CASE WHEN array_length(parse_ident('orders'),1) = 2
        THEN quote_ident(table_schema) = (parse_ident('orders'))[1]
          AND quote_ident(table_name) = (parse_ident('orders'))[2]
        ELSE quote_ident(table_name) = 'orders'
          AND 
          quote_ident(table_schema) IN (
          SELECT
            CASE WHEN trim(s[i]) = '"$user"' THEN user ELSE trim(s[i]) END
          FROM
            generate_series(
              array_lower(string_to_array(current_setting('search_path'),','),1),
              array_upper(string_to_array(current_setting('search_path'),','),1)
            ) as i,
            string_to_array(current_setting('search_path'),',') s
          )
      END
-- next
-- pkg/tsdb/grafana-postgresql-datasource/schema.go querySchemas (schema API, pgx extended protocol)
-- expect rows: 1+
SELECT schema_name FROM information_schema.schemata
		 WHERE schema_name NOT LIKE 'pg_%' AND schema_name != 'information_schema'
		 ORDER BY schema_name
-- next
-- schema.go queryTables, $1 = 'public'
-- expect rows: 7+
SELECT table_name FROM information_schema.tables
		 WHERE table_schema = 'public' AND table_type IN ('BASE TABLE', 'VIEW')
		 ORDER BY table_name
-- next
-- schema.go queryColumns, $1 = 'public', $2 = 'orders'
-- expect rows: 12+
SELECT column_name, data_type, udt_name, numeric_precision, numeric_scale
		 FROM information_schema.columns
		 WHERE table_schema = 'public' AND table_name = 'orders'
		 ORDER BY ordinal_position
-- next
-- schema.go ColumnValues for table orders (schema public), columns channel and device
-- expect rows: 2+
SELECT 'channel' AS col_name, "channel"::text AS val FROM (SELECT DISTINCT "channel" FROM "public"."orders" WHERE "channel" IS NOT NULL ORDER BY "channel" LIMIT 100) sub_0 UNION ALL SELECT 'device' AS col_name, "device"::text AS val FROM (SELECT DISTINCT "device" FROM "public"."orders" WHERE "device" IS NOT NULL ORDER BY "device" LIMIT 100) sub_1
