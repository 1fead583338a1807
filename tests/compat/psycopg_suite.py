"""psycopg 3 against a running Sightline: connection, server parameters, parameters, binary
cursors, server-side cursors, COPY TO STDOUT, type adaptation. Usage:

    SIGHTLINE_DSN="host=127.0.0.1 port=5432 user=sightline dbname=sightline" python3 psycopg_suite.py

Prints one PASS/FAIL line per check and exits non-zero if any failed.
"""
import datetime
import decimal
import os

import psycopg

from checks import check, report

DSN = os.environ.get("SIGHTLINE_DSN", "host=127.0.0.1 port=5432 user=sightline dbname=sightline")


conn = psycopg.connect(DSN, autocommit=True)


@check("connect and server parameters")
def _():
    assert conn.info.server_version >= 140000, conn.info.server_version
    for k in ["server_version", "client_encoding", "DateStyle", "TimeZone", "integer_datetimes",
              "standard_conforming_strings"]:
        assert conn.info.parameter_status(k), k
    assert conn.info.encoding in ("utf-8", "UTF8"), conn.info.encoding


@check("execute with parameters (int, float vs numeric column, text, timestamp)")
def _():
    rows = conn.execute(
        "SELECT order_id, total FROM orders WHERE customer_id = %s AND total > %s "
        "AND channel <> %s AND ts < %s ORDER BY order_id LIMIT 3",
        (2, 1.5, "nope", datetime.datetime(2100, 1, 1)),
    ).fetchall()
    assert rows and isinstance(rows[0][1], decimal.Decimal), rows


@check("parameter types: None, bool, Decimal, date, str list")
def _():
    row = conn.execute(
        "SELECT %s::BIGINT IS NULL, %s::BOOLEAN, %s::DECIMAL(10,2) + 1, %s::DATE",
        (None, True, decimal.Decimal("1.25"), datetime.date(2025, 1, 2)),
    ).fetchone()
    assert row == (True, True, decimal.Decimal("2.25"), datetime.date(2025, 1, 2)), row


TYPES_SQL = (
    "SELECT TIMESTAMP '2025-01-02 03:04:05' AS ts, DATE '2025-01-02' AS d, "
    "CAST(1.25 AS DECIMAL(10,2)) AS n, make_array(1, 2, 3) AS l, 'x' AS t, true AS b, "
    "1.5::DOUBLE AS f, 7::BIGINT AS i, TIMESTAMPTZ '2025-01-02 03:04:05+02' AS tz, "
    "arrow_cast('v', 'Utf8View') AS v, arrow_cast('k', 'Dictionary(Int32, Utf8)') AS k"
)
EXPECTED = (
    datetime.datetime(2025, 1, 2, 3, 4, 5),
    datetime.date(2025, 1, 2),
    decimal.Decimal("1.25"),
    [1, 2, 3],
    "x",
    True,
    1.5,
    7,
    datetime.datetime(2025, 1, 2, 1, 4, 5, tzinfo=datetime.timezone.utc),
    "v",
    "k",
)


@check("type adaptation, text results")
def _():
    row = conn.execute(TYPES_SQL).fetchone()
    assert row == EXPECTED, row


@check("type adaptation, binary cursor")
def _():
    row = conn.cursor(binary=True).execute(TYPES_SQL).fetchone()
    assert row == EXPECTED, row


@check("struct results")
def _():
    row = conn.execute("SELECT named_struct('a', 1, 'b', 'x') AS s").fetchone()
    assert row[0] is not None, row


@check("binary parameters")
def _():
    row = conn.cursor(binary=True).execute(
        "SELECT %s::BIGINT + 1, %s::TEXT, %s::TIMESTAMP", (41, "x", datetime.datetime(2025, 1, 2))
    ).fetchone()
    assert row == (42, "x", datetime.datetime(2025, 1, 2)), row


@check("server-side cursor (DECLARE / Describe portal / FETCH)")
def _():
    with conn.transaction():
        with conn.cursor(name="compat_cursor") as cur:
            cur.execute("SELECT order_id, total FROM orders ORDER BY order_id")
            first = cur.fetchmany(5)
            more = cur.fetchmany(5)
    assert len(first) == 5 and len(more) == 5 and first[0][0] < more[0][0], (first, more)


@check("COPY (query) TO STDOUT")
def _():
    cur = conn.cursor()
    data = b""
    with cur.copy("COPY (SELECT order_id, channel FROM orders ORDER BY order_id LIMIT 3) TO STDOUT") as copy:
        for chunk in copy:
            data += bytes(chunk)
    lines = data.decode().splitlines()
    assert len(lines) == 3 and lines[0].startswith("1\t"), lines


@check("COPY TO STDOUT WITH (FORMAT csv, HEADER)")
def _():
    cur = conn.cursor()
    data = b""
    with cur.copy("COPY (SELECT 1 AS a, 'x,y' AS b) TO STDOUT WITH (FORMAT csv, HEADER)") as copy:
        for chunk in copy:
            data += bytes(chunk)
    assert data.decode().splitlines() == ["a,b", '1,"x,y"'], data


@check("COPY TO STDOUT (FORMAT binary), rows typed and counted")
def _():
    query = ("SELECT order_id, customer_id, ts, total, channel, used_coupon, "
             "CAST(ts AS DATE) AS day, CAST(total AS DOUBLE) AS f, CAST(NULL AS TEXT) AS n "
             "FROM orders ORDER BY order_id LIMIT 50")
    expected = conn.execute(query).fetchall()
    cur = conn.cursor()
    with cur.copy(f"COPY ({query}) TO STDOUT (FORMAT binary)") as copy:
        copy.set_types(["int8", "int8", "timestamp", "numeric", "text", "bool", "date", "float8", "text"])
        got = list(copy.rows())
    assert got == expected, (got[:2], expected[:2])
    assert cur.rowcount == 50, cur.rowcount
    with cur.copy("COPY (SELECT 1 AS a WHERE false) TO STDOUT (FORMAT binary)") as copy:
        assert list(copy.rows()) == []
    assert cur.rowcount == 0, cur.rowcount


@check("transactions and errors inside them")
def _():
    with psycopg.connect(DSN) as c:  # not autocommit: psycopg sends BEGIN
        c.execute("SELECT 1")
        try:
            c.execute("SELECT nope FROM orders")
        except psycopg.errors.UndefinedColumn:
            c.rollback()
        assert c.execute("SELECT 2").fetchone() == (2,)


@check("analytic function over the wire")
def _():
    rows = conn.execute(
        "SELECT segment, count(*) FROM (SELECT rfm_segment(5, 5, 5) AS segment) GROUP BY 1"
    ).fetchall()
    assert rows == [("Champions", 1)], rows


@check("errors carry SQLSTATE")
def _():
    try:
        conn.execute("SELECT * FROM no_such_table")
    except psycopg.errors.UndefinedTable:
        return
    raise AssertionError("no UndefinedTable")


report(f"psycopg {psycopg.__version__}")
