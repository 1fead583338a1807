"""pgcli against a running Sightline, through pgcli's own code: the completion refresh it runs on
connect (schemas, tables, views, columns, functions, types, foreign keys, databases, search
path) and meta-commands through pgspecial. pgcli is interactive, so the suite drives its
`PGExecute` class, which is what the interactive shell calls. Usage:

    SIGHTLINE_DSN="host=127.0.0.1 port=5432 user=sightline dbname=sightline" python3 pgcli_suite.py
"""
import os

import pgcli
from pgcli.pgexecute import PGExecute
from pgspecial.main import PGSpecial

from checks import check, report

DSN = os.environ.get("SIGHTLINE_DSN", "host=127.0.0.1 port=5432 user=sightline dbname=sightline")


pg = None
special = PGSpecial()


def run(statement):
    """Every result of `statement` as pgcli's shell gets it; raises on a server error."""
    out = []
    for title, rows, headers, status, sql, success, is_special in pg.run(statement, pgspecial=special):
        assert success, f"{statement}: {status}"
        out.append((headers, list(rows) if rows is not None else [], status))
    return out


@check("connect")
def _():
    global pg
    pg = PGExecute(dsn=DSN)
    assert pg.conn.info.server_version >= 110000, pg.conn.info.server_version


@check("search_path")
def _():
    path = pg.search_path()
    assert "public" in path, path


@check("schemata")
def _():
    schemas = list(pg.schemata())
    assert "public" in schemas, schemas


@check("tables")
def _():
    tables = {t for _, t in pg.tables()}
    assert {"orders", "customers", "events"} <= tables, tables


@check("views")
def _():
    list(pg.views())


@check("table_columns")
def _():
    columns = {(t, c): ty for _, t, c, ty, *_ in pg.table_columns()}
    assert ("orders", "order_id") in columns, list(columns)[:10]
    assert columns[("orders", "order_id")] == "bigint", columns[("orders", "order_id")]


@check("functions (Sightline's analytic functions for completion)")
def _():
    names = {f.func_name for f in pg.functions()}
    assert {"rfm_segment", "bgnbd_fit", "abs"} <= names, sorted(names)[:20]
    abs_types = [f.arg_types for f in pg.functions() if f.func_name == "abs"]
    assert ["integer"] in [list(t) for t in abs_types], abs_types


@check("datatypes")
def _():
    list(pg.datatypes())


@check("foreignkeys (none: Parquet tables have no constraints)")
def _():
    assert list(pg.foreignkeys()) == []


@check("databases")
def _():
    assert "sightline" in pg.databases(), pg.databases()


@check("casing")
def _():
    list(pg.casing())


@check("completion refresh (pgcli's background job on connect, every step)")
def _():
    from pgcli.completion_refresher import CompletionRefresher

    done = []
    CompletionRefresher()._bg_refresh(pg, special, [done.append], settings={})
    [completer] = done
    meta = completer.dbmetadata
    assert "orders" in meta["tables"]["public"], list(meta["tables"].get("public", {}))
    assert "order_id" in meta["tables"]["public"]["orders"], meta["tables"]["public"]["orders"]
    assert "rfm_segment" in meta["functions"]["public"], list(meta["functions"].get("public", {}))[:20]


@check("\\dt")
def _():
    [(headers, rows, _)] = run("\\dt")
    assert any("orders" in r for r in rows), rows


@check("\\d orders")
def _():
    results_ = run("\\d orders")
    rows = results_[0][1]
    assert any(r[0] == "order_id" for r in rows), rows


@check("\\df rfm_segment")
def _():
    [(headers, rows, _)] = run("\\df rfm_segment")
    assert any("rfm_segment" in r for r in rows), rows


@check("\\l")
def _():
    [(headers, rows, _)] = run("\\l")
    assert any("sightline" in r for r in rows), rows


@check("query with a parameterised-free SELECT")
def _():
    [(headers, rows, _)] = run("SELECT channel, count(*) AS n FROM orders GROUP BY channel ORDER BY channel")
    assert headers == ["channel", "n"] and rows, (headers, rows)


report(f"pgcli {pgcli.__version__}")
