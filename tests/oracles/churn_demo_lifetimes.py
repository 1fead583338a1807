"""lifetimes on the demo shop (data the churn functions were not developed on), for the wire
test `tests/it/churn.rs`.

    # a server on the test suite's demo data (3000 customers, seed 42), e.g.
    #   sightline demo --customers 3000 --seed 42 --out /tmp/demo && sightline serve --data /tmp/demo --listen 127.0.0.1:55444
    psql -h 127.0.0.1 -p 55444 -U sightline -d sightline -A -F, -P footer=off -c "
      SELECT o.customer_id, s['frequency'] AS frequency, s['recency'] AS recency, s['t'] AS t,
             s['monetary'] AS monetary
      FROM (SELECT o.customer_id, btyd_summary(o.ts, o.total, e.end_ts) AS s
            FROM orders o CROSS JOIN (SELECT max(ts) AS end_ts FROM orders) e
            GROUP BY o.customer_id) o ORDER BY customer_id" > /tmp/demo_summary.csv
    /work/venv-lifetimes/bin/python tests/oracles/churn_demo_lifetimes.py /tmp/demo_summary.csv \
        > tests/fixtures/churn_demo_lifetimes.json

(venv: see tests/oracles/btyd_lifetimes.py.) The summary itself is Sightline's btyd_summary,
which udfs/tests/fixtures/btyd_lifetimes.json checks against lifetimes' own summary; here
lifetimes fits BetaGeoFitter and GammaGammaFitter (no penalty) on it and scores every customer
(p_alive, expected purchases in 90 days, 12-month CLV at 1% a month with freq='D').
"""

import json
import sys

import lifetimes
import pandas as pd
from lifetimes import BetaGeoFitter, GammaGammaFitter

d = pd.read_csv(sys.argv[1])
bg = BetaGeoFitter().fit(d["frequency"], d["recency"], d["t"])
rep = d[d["frequency"] > 0]
gg = GammaGammaFitter().fit(rep["frequency"], rep["monetary"])
p_alive = bg.conditional_probability_alive(d["frequency"], d["recency"], d["t"])
expected = bg.conditional_expected_number_of_purchases_up_to_time(90, d["frequency"], d["recency"], d["t"])
clv = gg.customer_lifetime_value(bg, d["frequency"], d["recency"], d["t"], d["monetary"],
                                 time=12, discount_rate=0.01, freq="D")
json.dump({
    "reference": f"lifetimes {lifetimes.__version__}, pandas {pd.__version__}",
    "customers": int(len(d)),
    "repeat_customers": int(len(rep)),
    "bgnbd": {k: float(v) for k, v in bg.params_.items()},
    "gamma_gamma": {k: float(v) for k, v in gg.params_.items()},
    "customer_id": [int(c) for c in d["customer_id"]],
    "p_alive": [float(v) for v in p_alive],
    "expected_90": [float(v) for v in expected],
    "clv_12": [float(v) for v in clv],
}, sys.stdout)
print()
