"""Helpers shared by tpch.py and analytics.py: Sightline server, timing, answer comparison,
PostgreSQL loading and the lineitem streaming cases."""

import contextlib
import datetime
import decimal
import math
import os
import pathlib
import re
import shutil
import socket
import statistics
import subprocess
import tempfile
import time

import psycopg

ROOT = pathlib.Path(__file__).resolve().parents[2]
TARGET = pathlib.Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
SIGHTLINE = TARGET / "release" / "sightline"


def sightline_bin(wait_s=600):
    """The release binary; waits (up to wait_s) while it is missing, e.g. during a rebuild."""
    deadline = time.monotonic() + wait_s
    warned = False
    while not SIGHTLINE.exists():
        if time.monotonic() > deadline:
            raise SystemExit(f"{SIGHTLINE} not found: cargo build --release (or set CARGO_TARGET_DIR)")
        if not warned:
            print(f"waiting for {SIGHTLINE} to appear ...", flush=True)
            warned = True
        time.sleep(2)
    return SIGHTLINE


def run_sightline(*args):
    """`sightline ARGS`, retried a few times if the binary is replaced under us."""
    for attempt in range(5):
        try:
            return subprocess.run([sightline_bin(), *map(str, args)], check=True)
        except (FileNotFoundError, PermissionError, OSError):
            if attempt == 4:
                raise
            time.sleep(3)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def sightline_server(data):
    """`sightline serve --data DATA` on a free port; yields the DSN, stops the server on exit."""
    for attempt in range(5):
        port = free_port()
        try:
            server = subprocess.Popen(
                [sightline_bin(), "serve", "--data", str(data), "--listen", f"127.0.0.1:{port}",
                 "--log-level", "warn"],
                stderr=subprocess.DEVNULL,
            )
            break
        except OSError:
            if attempt == 4:
                raise
            time.sleep(3)
    try:
        dsn = f"host=127.0.0.1 port={port} user=bench dbname=sightline"
        for _ in range(300):
            try:
                psycopg.connect(dsn, autocommit=True).close()
                break
            except psycopg.OperationalError:
                if server.poll() is not None:
                    raise RuntimeError(f"sightline serve exited with {server.returncode}")
                time.sleep(0.2)
        else:
            raise RuntimeError("sightline serve did not accept connections within 60 s")
        yield dsn
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def norm(value):
    if isinstance(value, (decimal.Decimal, float)):
        return float(value)
    if isinstance(value, datetime.datetime):
        return value.replace(tzinfo=None)
    return value


def normalise(rows):
    return [tuple(norm(v) for v in r) for r in rows]


def same(a, b):
    """None when the two row lists hold the same rows (any order; numbers to 1e-6 relative),
    else a description of the first difference."""
    if len(a) != len(b):
        return f"{len(a)} rows vs {len(b)}"
    key = lambda r: tuple((0, x) if isinstance(x, (int, float)) else (1, str(x)) for x in r)
    for ra, rb in zip(sorted(a, key=key), sorted(b, key=key)):
        for x, y in zip(ra, rb):
            if isinstance(x, float) or isinstance(y, float):
                if x is None or y is None or not math.isclose(float(x), float(y), rel_tol=1e-6, abs_tol=1e-6):
                    return f"{ra} vs {rb}"
            elif x != y:
                return f"{ra} vs {rb}"
    return None


def timed(fn, runs):
    fn()  # warm-up
    times = []
    result = None
    for _ in range(runs):
        t = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), result


def geo(xs):
    xs = [x for x in xs if x is not None]
    return math.exp(sum(math.log(x) for x in xs) / len(xs)) if xs else None


PG_TIMEOUT_S = 60


def pg_timed(pg, sql, runs=0):
    """On PostgreSQL, capped at PG_TIMEOUT_S per statement. runs=0: one run (its caches are warm
    after the load); else a warm-up and the median of `runs`, as the other engines. Returns
    (seconds, rows or None if timed out); a timed-out query counts at the cap."""
    pg.execute(f"SET statement_timeout = '{PG_TIMEOUT_S}s'")
    try:
        if runs:
            return timed(lambda: pg.execute(sql).fetchall(), runs)
        t = time.perf_counter()
        rows = pg.execute(sql).fetchall()
        return time.perf_counter() - t, rows
    except psycopg.errors.QueryCanceled:
        return float(PG_TIMEOUT_S), None


def pg_type(duck_type):
    t = duck_type.upper()
    if m := re.fullmatch(r"DECIMAL\((\d+),\s*(\d+)\)", t):
        return f"numeric({m[1]},{m[2]})"
    return {"BIGINT": "bigint", "INTEGER": "integer", "SMALLINT": "smallint", "TINYINT": "smallint",
            "VARCHAR": "text", "DATE": "date", "DOUBLE": "double precision", "FLOAT": "real",
            "BOOLEAN": "boolean", "TIMESTAMP": "timestamp", "TIMESTAMP_NS": "timestamp",
            "TIMESTAMP WITH TIME ZONE": "timestamptz", "HUGEINT": "numeric"}.get(t, "text")


def load_postgres(pg, duck, tables, schema="public"):
    """Creates and COPY-loads `tables` ({name: Parquet path or glob}) into PostgreSQL schema
    `schema`, then ANALYZEs them (no indexes). A table already there with the same row count is
    kept; one with another count (other scale) is replaced. DuckDB writes each table to a
    temporary CSV file, streamed to PostgreSQL with COPY FROM STDIN in one transaction."""
    pg.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
    with tempfile.TemporaryDirectory(prefix="sightline-bench-csv-") as tmp:
        for t, path in tables.items():
            source = f"read_parquet('{path}')"
            n = duck.execute(f"SELECT count(*) FROM {source}").fetchone()[0]
            exists = pg.execute("SELECT count(*) FROM pg_tables WHERE schemaname = %s AND tablename = %s",
                                (schema, t)).fetchone()[0]
            if exists:
                if pg.execute(f"SELECT count(*) FROM {schema}.{t}").fetchone()[0] == n:
                    continue
                pg.execute(f"DROP TABLE {schema}.{t}")
            started = time.perf_counter()
            cols = duck.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()
            ddl = ", ".join(f"{c[0]} {pg_type(c[1])}" for c in cols)
            csv = pathlib.Path(tmp) / f"{t}.csv"
            duck.execute(f"COPY (SELECT * FROM {source}) TO '{csv}' (FORMAT csv, HEADER false)")
            with pg.transaction():
                # Created in the same transaction as the COPY: with wal_level minimal no WAL.
                pg.execute(f"CREATE TABLE {schema}.{t} ({ddl})")
                with pg.cursor().copy(f"COPY {schema}.{t} FROM STDIN WITH (FORMAT csv)") as copy:
                    with open(csv, "rb") as f:
                        while chunk := f.read(1 << 20):
                            copy.write(chunk)
            csv.unlink()
            pg.execute(f"ANALYZE {schema}.{t}")
            print(f"loaded {schema}.{t} ({n} rows) into PostgreSQL in {time.perf_counter() - started:.1f} s",
                  flush=True)


# ---------------------------------------------------------------------------------------------
# Streaming all of lineitem

STREAM_CASES = {
    "copy_text": "COPY (SELECT * FROM lineitem) TO STDOUT",
    "copy_binary": "COPY (SELECT * FROM lineitem) TO STDOUT (FORMAT binary)",
    "select_text_psql": "SELECT * FROM lineitem",
}


def _psql_bin(preferred=None):
    for p in ([preferred] if preferred else []) + [shutil.which("psql")]:
        if p and pathlib.Path(p).exists():
            return str(p)
    return None


def stream_one(dsn, case, psql=None):
    """One streaming case on one server; {"bytes"?, "seconds"} or {"error": message}."""
    sql = STREAM_CASES[case]
    try:
        if case == "select_text_psql":
            exe = _psql_bin(psql)
            if exe is None:
                return {"error": "psql not found (apt-get install postgresql-client)"}
            t = time.perf_counter()
            proc = subprocess.run([exe, "-X", "-q", "-At", "-d", dsn, "-c", sql, "-o", "/dev/null"],
                                  capture_output=True, text=True)
            seconds = time.perf_counter() - t
            if proc.returncode != 0:
                return {"error": (proc.stderr.strip() or f"psql exited with {proc.returncode}")[:500]}
            return {"seconds": seconds}
        with psycopg.connect(dsn, autocommit=True) as conn:
            n_bytes = 0
            t = time.perf_counter()
            with conn.cursor().copy(sql) as copy:
                for chunk in copy:
                    n_bytes += len(chunk)
            return {"bytes": n_bytes, "seconds": time.perf_counter() - t}
    except Exception as e:  # noqa: BLE001 — an unsupported case is recorded, not fatal
        return {"error": f"{type(e).__name__}: {str(e).strip()}"[:500]}


def streaming(sl_dsn, pg_dsn, n_rows, psql=None):
    """The three lineitem streaming cases on Sightline and (if pg_dsn) PostgreSQL; rows/s and
    the throughput ratio Sightline / PostgreSQL (above 1 = Sightline streams faster)."""
    out = {}
    for case in STREAM_CASES:
        entry = {}
        for name, dsn in (("sightline", sl_dsn), ("postgres", pg_dsn)):
            if dsn is None:
                continue
            r = stream_one(dsn, case, psql)
            if "seconds" in r:
                r["rows"] = n_rows
                r["rows_per_s"] = n_rows / r["seconds"]
            entry[name] = r
        s, p = entry.get("sightline", {}), entry.get("postgres", {})
        entry["ratio"] = p["seconds"] / s["seconds"] if "seconds" in s and "seconds" in p else None
        out[case] = entry
        parts = []
        for name in ("sightline", "postgres"):
            r = entry.get(name)
            if r is None:
                continue
            if "error" in r:
                parts.append(f"{name} ERROR {r['error'][:100]}")
            else:
                mb = f", {r['bytes'] / 1e6:.0f} MB" if "bytes" in r else ""
                parts.append(f"{name} {r['seconds']:.2f} s{mb} = {r['rows_per_s']:,.0f} rows/s")
        ratio = f"; sightline / postgres throughput {entry['ratio']:.2f}" if entry["ratio"] else ""
        print(f"lineitem {case:<17} {'; '.join(parts)}{ratio}", flush=True)
    return out
