"""The analytic-query part of tpch.py: benches/compare/analytics/*.sql over the demo e-commerce
data (`sightline demo`), on Sightline (over the wire), DuckDB (in-process) and optionally
PostgreSQL (schema `sightline_demo`). The queries are portable SQL run unchanged on all three.
"""

import os
import pathlib

import duckdb
import psycopg

from benchlib import (PG_TIMEOUT_S, geo, load_postgres, normalise, pg_timed, run_sightline, same,
                      sightline_server, timed)

QUERIES = sorted((pathlib.Path(__file__).resolve().parent / "analytics").glob("*.sql"))
DEMO_TABLES = ["customers", "products", "orders", "order_items", "touchpoints", "ad_spend", "events"]
PG_SCHEMA = "sightline_demo"


def demo_paths(data):
    """{table: Parquet path or glob}: a `name.parquet` file or a `name/` directory of files."""
    paths = {}
    for t in DEMO_TABLES:
        f = data / f"{t}.parquet"
        paths[t] = str(f) if f.exists() else f"{data}/{t}/*.parquet"
    return paths


def ensure_demo(data, customers):
    if not (data / "orders.parquet").exists() and not (data / "orders").exists():
        run_sightline("demo", "--out", data, "--customers", customers)


def run(data, customers, runs, pg_dsn=None):
    """Times every query on each engine (warm-up + median of `runs`), compares the answers with
    Sightline's, returns the result dict (also printed)."""
    ensure_demo(data, customers)
    paths = demo_paths(data)
    duck = duckdb.connect()
    duck.execute(f"SET threads = {os.cpu_count()}")
    for t, p in paths.items():
        duck.execute(f"CREATE VIEW {t} AS SELECT * FROM read_parquet('{p}')")
    pg = None
    if pg_dsn:
        pg = psycopg.connect(pg_dsn, autocommit=True)
        load_postgres(pg, duck, paths, schema=PG_SCHEMA)
        pg.execute(f"SET search_path TO {PG_SCHEMA}")
    rows = []
    try:
        with sightline_server(data) as dsn, psycopg.connect(dsn, autocommit=True) as conn:
            for q in QUERIES:
                sql = q.read_text()
                s_time, s_rows = timed(lambda: conn.execute(sql).fetchall(), runs)
                d_time, d_rows = timed(lambda: duck.execute(sql).fetchall(), runs)
                s_norm = normalise(s_rows)
                diff = same(s_norm, normalise(d_rows))
                row = {"query": q.stem, "sightline_s": s_time, "duckdb_s": d_time, "ratio": s_time / d_time,
                       "rows": len(s_rows), "same_answer": diff is None, "difference": diff}
                pg_text = ""
                if pg is not None:
                    p_time, p_rows = pg_timed(pg, sql, runs)
                    p_diff = f"timed out after {PG_TIMEOUT_S} s" if p_rows is None else same(s_norm, normalise(p_rows))
                    row.update({"postgres_s": p_time, "ratio_postgres": s_time / p_time,
                                "postgres_same_answer": p_diff is None, "postgres_difference": p_diff})
                    pg_text = f"  postgres {p_time*1000:8.1f} ms"
                rows.append(row)
                verdict = "same answer" if diff is None else "DIFFERENT from duckdb: " + diff[:120]
                if pg is not None and row["postgres_difference"]:
                    verdict += "; DIFFERENT from postgres: " + row["postgres_difference"][:120]
                elif pg is not None:
                    verdict += " (postgres too)"
                print(f"{q.stem:<22} sightline {s_time*1000:8.1f} ms  duckdb {d_time*1000:8.1f} ms{pg_text}  "
                      f"ratio {s_time/d_time:5.2f}  {verdict}", flush=True)
    finally:
        if pg is not None:
            pg.close()
        duck.close()
    g_s = geo([r["sightline_s"] for r in rows])
    g_d = geo([r["duckdb_s"] for r in rows])
    g_p = geo([r["postgres_s"] for r in rows]) if pg_dsn else None
    print(f"analytics geometric mean  sightline {g_s*1000:.1f} ms  duckdb {g_d*1000:.1f} ms  ratio {g_s/g_d:.2f}")
    if g_p is not None:
        print(f"analytics geometric mean  postgres {g_p*1000:.1f} ms  sightline / postgres {g_s/g_p:.2f}")
    return {
        "data": str(data), "customers": customers, "runs": runs, "queries": rows,
        "geomean_sightline_s": g_s, "geomean_duckdb_s": g_d, "geomean_ratio": g_s / g_d,
        "geomean_postgres_s": g_p, "geomean_ratio_postgres": g_s / g_p if g_p else None,
        "all_answers_same": all(r["same_answer"] for r in rows),
        "all_postgres_answers_same": all(r["postgres_same_answer"] for r in rows) if pg_dsn else None,
    }
