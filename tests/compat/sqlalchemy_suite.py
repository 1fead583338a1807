"""SQLAlchemy 2 (PostgreSQL dialect over psycopg 3) against a running Sightline: what Superset
and notebooks do on connect and on schema sync. Usage:

    SIGHTLINE_URL="postgresql+psycopg://sightline@127.0.0.1:5432/sightline" python3 sqlalchemy_suite.py
"""
import os

import sqlalchemy as sa

from checks import check, report

URL = os.environ.get("SIGHTLINE_URL", "postgresql+psycopg://sightline@127.0.0.1:5432/sightline")
engine = sa.create_engine(URL)


insp = None


@check("connect (dialect initialisation: version, isolation, standard_conforming_strings)")
def _():
    global insp
    with engine.connect() as c:
        assert c.dialect.server_version_info >= (14,), c.dialect.server_version_info
    insp = sa.inspect(engine)


@check("get_schema_names")
def _():
    names = insp.get_schema_names()
    assert "public" in names, names


@check("get_table_names")
def _():
    names = insp.get_table_names()
    assert {"orders", "customers", "events"} <= set(names), names


@check("get_view_names")
def _():
    insp.get_view_names()


@check("get_columns(orders) with PostgreSQL types")
def _():
    cols = {c["name"]: c for c in insp.get_columns("orders")}
    assert isinstance(cols["order_id"]["type"], sa.BigInteger), cols["order_id"]
    assert isinstance(cols["ts"]["type"], sa.TIMESTAMP), cols["ts"]
    assert isinstance(cols["total"]["type"], sa.Numeric), cols["total"]
    assert isinstance(cols["channel"]["type"], (sa.Text, sa.String)), cols["channel"]


@check("get_pk_constraint")
def _():
    insp.get_pk_constraint("orders")


@check("get_foreign_keys")
def _():
    insp.get_foreign_keys("orders")


@check("get_indexes")
def _():
    insp.get_indexes("orders")


@check("get_unique_constraints / get_check_constraints / get_table_comment")
def _():
    insp.get_unique_constraints("orders")
    insp.get_check_constraints("orders")
    insp.get_table_comment("orders")


@check("has_table")
def _():
    assert insp.has_table("orders") and not insp.has_table("no_such_table")


@check("select() through SQLAlchemy Core with bound parameters")
def _():
    orders = sa.Table("orders", sa.MetaData(), autoload_with=engine)
    q = (
        sa.select(orders.c.channel, sa.func.count().label("n"), sa.func.sum(orders.c.total).label("revenue"))
        .where(orders.c.customer_id < 100)
        .group_by(orders.c.channel)
        .order_by(sa.desc("revenue"))
        .limit(3)
    )
    with engine.connect() as c:
        rows = c.execute(q).all()
    assert 0 < len(rows) <= 3, rows


@check("text() query with a float parameter against a numeric column")
def _():
    with engine.connect() as c:
        n = c.execute(sa.text("SELECT count(*) FROM orders WHERE total > :t"), {"t": 100.5}).scalar()
    assert n > 0, n


@check("analytic function via text()")
def _():
    with engine.connect() as c:
        rows = c.execute(
            sa.text("SELECT level, count(*) FROM (SELECT customer_id, window_funnel(INTERVAL '7 days', ts, "
                    "event_type = 'view', event_type = 'purchase') AS level FROM events GROUP BY customer_id) "
                    "GROUP BY level ORDER BY level")
        ).all()
    assert rows, rows


report(f"SQLAlchemy {sa.__version__}")
