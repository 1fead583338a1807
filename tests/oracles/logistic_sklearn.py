"""Reference L2 logistic regressions and ROC AUCs from scikit-learn, for the churn-scoring functions.

    pip install scikit-learn==1.9.1 numpy==2.4.6 scipy==1.17.1
    OMP_NUM_THREADS=1 python3 tests/oracles/logistic_sklearn.py > udfs/tests/fixtures/logistic_sklearn.json

Semantics mirrored from the Rust side:

  * Training rows are the rows whose label is not NULL; rows with a NULL label are SCORED but not
    trained on (and do not enter the standardisation statistics).
  * Every feature is z-score standardised with the training rows' mean and POPULATION standard
    deviation (ddof=0; sklearn `StandardScaler`). A constant feature (std 0) becomes all 0
    (StandardScaler then uses scale 1, so z = x - mean = 0 exactly; its weight stays 0).
  * The model minimises  sum_i logloss_i + (l2/2) * ||w||^2  over the standardised features, the
    intercept unpenalised: sklearn `LogisticRegression(C=1/l2, l1_ratio=0.0, solver="lbfgs",
    tol=1e-10, max_iter=10000)` (l1_ratio=0 is the L2 penalty: sklearn 1.8+ deprecates
    `penalty="l2"` for it; C * sum(logloss) + ||w||^2/2 has the same minimiser). Default l2 = 1.0.
  * Output coefficients in standardised units (`coef_std`, `intercept_std`) and in original units:
    coef_orig_j = w_j / sigma_j, intercept_orig = b - sum_j w_j * mu_j / sigma_j (a constant
    feature's original coefficient is 0 and it adds nothing to the intercept);
    `proba` = predict_proba[:, 1] for EVERY row, in row order, NULL-label rows included.
  * `objective` = sum_i logloss_i + (l2/2)||w||^2 at sklearn's solution (natural log).

Inputs are rounded to 6 decimals BEFORE anything is fitted, so `rows` ([label or null, x1..xk])
hold exactly the data sklearn saw. Outputs are full precision. As a cross-check each fit is compared
with the optimum of the same objective polished by plain Newton iterations (exact gradient and
Hessian, numpy): `max_abs_diff_vs_newton` (coefficients and intercept, standardised units) shows how
converged sklearn's lbfgs is (its gradient of the summed objective is ~3e-6 at exit, the
coefficients within ~5e-8 of the exact optimum); `coef_std_newton`/`intercept_std_newton` hold the
polished values. Rust tests can use 1e-6 on coefficients and probabilities against sklearn's
values (tighter against the Newton ones), and compare `objective` to ~1e-9 relative.

Cases: `churn_l2_1` (n=2000; days since last order 0..400, money 0..5000, a 0/1 flag, an order
count; ~10% NULL labels), `churn_l2_0.01` and `churn_l2_10` (same rows), `separable` (a perfectly
separable 40-row set: finite only thanks to the penalty), `unseen_6` (n=1500, 6 correlated
features on mixed scales, ~15% NULL labels), `constant_feature` (a feature that is 7.25 on every
row), and in `errors` what sklearn does with a single training class (it raises ValueError; the
Rust side returns NULL).

`roc_auc`: sklearn.metrics.roc_auc_score(labels, scores) (ties get half credit: the AUC equals
the Mann-Whitney U / (n_pos * n_neg) with mid-ranks). Cases carry `labels` and `scores` (either may
hold null); the Rust side drops every pair where either is NULL before computing, so the reference
is computed on the non-null pairs (`n_used`). With one class only, sklearn (1.9.1) does not raise:
it warns UndefinedMetricWarning ("Only one class is present in y_true. ROC AUC score is not
defined in that case.") and returns nan; recorded as `auc: null` with `sklearn_outcome`; Sightline
returns NULL there (also when no pair is left).
"""

import json
import math
import sys
import warnings

import numpy as np
import scipy
import sklearn
from scipy.special import expit, log_expit
from sklearn.exceptions import UndefinedMetricWarning
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.preprocessing import StandardScaler


def log(msg):
    sys.stderr.write(msg + "\n")


def objective(w, b, z, y, l2):
    m = z @ w + b
    # logloss = -[y log sigma(m) + (1-y) log(1 - sigma(m))]
    return float(-(y * log_expit(m) + (1 - y) * log_expit(-m)).sum() + 0.5 * l2 * (w @ w))


def newton_polish(w0, b0, z, y, l2):
    """Plain Newton iterations on the exact objective from sklearn's solution (quadratic convergence)."""
    za = np.column_stack([z, np.ones(len(z))])
    pen = np.full(za.shape[1], l2)
    pen[-1] = 0.0  # intercept unpenalised
    theta = np.concatenate([w0, [b0]])
    for _ in range(50):
        p = expit(za @ theta)
        g = za.T @ (p - y) + pen * theta
        h = za.T @ (za * (p * (1 - p))[:, None]) + np.diag(pen)
        step = np.linalg.solve(h, g)
        theta = theta - step
        if np.max(np.abs(step)) < 1e-15:
            break
    return theta[:-1], theta[-1]


def logistic_case(name, labels, x, l2, feature_names, note=""):
    x = np.round(np.asarray(x, dtype=np.float64), 6)
    labels = [None if v is None else int(v) for v in labels]
    train = np.array([v is not None for v in labels])
    y = np.array([v for v in labels if v is not None], dtype=np.float64)
    scaler = StandardScaler().fit(x[train])
    z_train = scaler.transform(x[train])
    z_all = scaler.transform(x)
    model = LogisticRegression(C=1.0 / l2, l1_ratio=0.0, solver="lbfgs", tol=1e-10, max_iter=10000)
    model.fit(z_train, y)
    w = model.coef_[0].astype(float)
    b = float(model.intercept_[0])
    mu = scaler.mean_
    sigma = np.sqrt(scaler.var_)  # population std; 0 for a constant feature
    constant = sigma == 0
    coef_orig = np.where(constant, 0.0, w / np.where(constant, 1.0, sigma))
    intercept_orig = b - float(np.sum(np.where(constant, 0.0, w * mu / np.where(constant, 1.0, sigma))))
    proba = model.predict_proba(z_all)[:, 1]
    # original-units parameters must give the same probabilities
    proba_orig = expit(x @ coef_orig + intercept_orig)
    assert np.max(np.abs(proba_orig - proba)) < 1e-9
    wn, bn = newton_polish(w, b, z_train, y, l2)
    diff = float(max(np.max(np.abs(wn - w)), abs(bn - b)))
    obj = objective(w, b, z_train, y, l2)
    case = {
        "name": name,
        "note": note,
        "l2": l2,
        "C": 1.0 / l2,
        "n": int(len(x)),
        "n_train": int(train.sum()),
        "n_positive": int(y.sum()),
        "feature_names": feature_names,
        "rows": [[lab] + [float(v) for v in row] for lab, row in zip(labels, x)],
        "mean": [float(v) for v in mu],
        "std": [float(v) for v in sigma],
        "coef_std": [float(v) for v in w],
        "intercept_std": b,
        "coef_orig": [float(v) for v in coef_orig],
        "intercept_orig": intercept_orig,
        "proba": [float(v) for v in proba],
        "objective": obj,
        "objective_at_newton": objective(wn, bn, z_train, y, l2),
        "coef_std_newton": [float(v) for v in wn],
        "intercept_std_newton": float(bn),
        "n_iter": int(model.n_iter_[0]),
        "max_abs_diff_vs_newton": diff,
    }
    log(f"logistic {name:<18} n={case['n']} train={case['n_train']} l2={l2}: coef_std="
        f"{np.round(w, 6).tolist()} b={b:.6f} objective={obj:.9f} n_iter={case['n_iter']} "
        f"diff_vs_newton={diff:.1e}")
    return case


def churn_rows(rng, n):
    days = rng.uniform(0, 400, n)
    money = np.minimum(rng.lognormal(5.5, 1.0, n), 5000.0)
    flag = (rng.random(n) < 0.3).astype(float)
    count = rng.poisson(3.0, n).astype(float)
    logit = -0.5 + 0.008 * (days - 200) - 0.0006 * (money - 300) - 0.9 * flag - 0.25 * (count - 3)
    label = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    x = np.column_stack([days, money, flag, count])
    labels = [None if rng.random() < 0.10 else int(v) for v in label]
    return labels, x


def auc_case(name, labels, scores, note=""):
    pairs = [(l, s) for l, s in zip(labels, scores) if l is not None and s is not None]
    yl = np.array([p[0] for p in pairs], dtype=float)
    sc = np.array([p[1] for p in pairs], dtype=float)
    outcome = "ok"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            auc = float(roc_auc_score(yl, sc))
        except ValueError as e:
            auc, outcome = float("nan"), f"ValueError: {e}"
    msgs = [f"{w.category.__name__}: {w.message}" for w in caught if issubclass(w.category, UndefinedMetricWarning)]
    if msgs:
        outcome = "returned nan with " + msgs[0]
    case = {
        "name": name,
        "note": note,
        "labels": labels,
        "scores": scores,
        "n_used": len(pairs),
        "auc": None if math.isnan(auc) else auc,
        "sklearn_outcome": outcome,
    }
    log(f"roc_auc {name:<16} n_used={len(pairs)} auc={case['auc']} ({outcome})")
    return case


def main():
    cases = []
    rng = np.random.default_rng(20240612)
    labels, x = churn_rows(rng, 2000)
    names = ["days_since_last", "money", "flag", "orders"]
    note = "days 0..400, money lognormal capped at 5000, flag 0/1, orders Poisson(3); ~10% NULL labels"
    cases.append(logistic_case("churn_l2_1", labels, x, 1.0, names, note))
    cases.append(logistic_case("churn_l2_0.01", labels, x, 0.01, names, "same rows as churn_l2_1"))
    cases.append(logistic_case("churn_l2_10", labels, x, 10.0, names, "same rows as churn_l2_1"))

    # perfectly separable: label = 1 iff x1 + 0.5*x2 > 10 with a margin; plus two NULL-label rows
    rng = np.random.default_rng(7)
    xs = []
    ys = []
    while len(xs) < 40:
        p = rng.uniform([0, 0], [15, 10])
        s = p[0] + 0.5 * p[1] - 10
        if abs(s) < 1.0:
            continue
        xs.append(p)
        ys.append(int(s > 0))
    ys[5] = None
    ys[17] = None
    cases.append(logistic_case("separable", ys, np.array(xs), 1.0, ["x1", "x2"],
                               "label = 1 iff x1 + 0.5*x2 > 10 (margin 1); rows 5 and 17 have NULL labels"))

    # unseen: 6 correlated features on mixed scales
    rng = np.random.default_rng(99)
    n = 1500
    base = rng.normal(size=(n, 3))
    f1 = 50 + 20 * base[:, 0]
    f2 = 1000 * np.exp(0.5 * base[:, 1])
    f3 = 0.3 * base[:, 0] + 0.7 * rng.normal(size=n)
    f4 = (base[:, 2] > 0.5).astype(float)
    f5 = rng.integers(0, 30, n).astype(float)
    f6 = 1e-3 * (f2 + 200 * rng.normal(size=n))
    logit = 0.03 * (f1 - 50) - 0.0004 * (f2 - 1100) + 0.8 * f3 + 0.6 * f4 - 0.05 * (f5 - 15) + 0.2 * f6
    lab = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    labels6 = [None if rng.random() < 0.15 else int(v) for v in lab]
    x6 = np.column_stack([f1, f2, f3, f4, f5, f6])
    cases.append(logistic_case("unseen_6", labels6, x6, 1.0, ["f1", "f2", "f3", "f4", "f5", "f6"],
                               "f6 ~ f2/1000 + noise (collinear pair); ~15% NULL labels"))

    rng = np.random.default_rng(3)
    n = 300
    xc = np.column_stack([rng.normal(10, 3, n), np.full(n, 7.25), rng.uniform(0, 1, n)])
    lc = (rng.random(n) < 1 / (1 + np.exp(-(0.4 * (xc[:, 0] - 10) + 2 * (xc[:, 2] - 0.5))))).astype(int)
    labels_c = [None if i % 25 == 0 else int(v) for i, v in enumerate(lc)]
    cases.append(logistic_case("constant_feature", labels_c, xc, 1.0, ["a", "constant", "c"],
                               "feature 'constant' is 7.25 on every row: std 0, z = 0, weight 0"))

    # errors: a single training class
    errors = []
    xe = np.round(np.column_stack([np.arange(10.0), np.arange(10.0) ** 2 / 7]), 6)
    ye = [1] * 8 + [None, None]
    try:
        z = StandardScaler().fit_transform(xe[:8])
        LogisticRegression(C=1.0, l1_ratio=0.0, solver="lbfgs", tol=1e-10, max_iter=10000).fit(z, ye[:8])
        outcome = "fitted"
    except ValueError as e:
        outcome = f"ValueError: {' '.join(str(e).split())}"
    errors.append({"name": "single_class", "rows": [[l] + r for l, r in zip(ye, xe.tolist())], "l2": 1.0,
                   "sklearn_outcome": outcome, "sightline": "NULL for every row"})
    log(f"logistic single_class: {outcome}")

    # ---- roc_auc ----
    aucs = []
    rng = np.random.default_rng(11)
    n = 500
    lab = (rng.random(n) < 0.35).astype(int)
    sc = np.round(rng.normal(0, 1, n) + 0.8 * lab, 6)
    aucs.append(auc_case("random", [int(v) for v in lab], [float(v) for v in sc], "continuous scores, no ties"))
    sc_t = np.round(rng.uniform(0, 1, n) * 0.6 + 0.4 * lab * rng.uniform(0, 1, n), 1)
    aucs.append(auc_case("many_ties", [int(v) for v in lab], [float(v) for v in sc_t],
                         "scores rounded to 1 decimal: 10 distinct values, ties across classes"))
    aucs.append(auc_case("sklearn_doc_example", [0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8], "0.75"))
    aucs.append(auc_case("all_scores_equal", [0, 1, 0, 1, 1], [0.5] * 5, "every pair tied: 0.5"))
    aucs.append(auc_case("perfect_inverse", [1, 1, 0, 0], [0.1, 0.2, 0.8, 0.9], "0.0"))
    aucs.append(auc_case("all_same_label", [1] * 6, [0.1, 0.3, 0.2, 0.9, 0.5, 0.5], "one class"))
    ln = [int(v) for v in lab[:200]]
    sn = [float(v) for v in sc[:200]]
    for i in range(0, 200, 13):
        ln[i] = None
    for i in range(5, 200, 17):
        sn[i] = None
    aucs.append(auc_case("with_nulls", ln, sn,
                         "labels NULL at rows 0,13,26,..; scores NULL at rows 5,22,39,..: such pairs dropped"))
    aucs.append(auc_case("nulls_leave_one_class", [1, None, 0, 1, 0], [0.2, 0.9, None, 0.4, None],
                         "after dropping NULL pairs only label 1 is left"))

    reference_text = f"scikit-learn {sklearn.__version__}, numpy {np.__version__}, scipy {scipy.__version__}"
    json.dump({"reference": reference_text, "cases": cases, "errors": errors, "roc_auc": aucs},
              sys.stdout, separators=(",", ":"), allow_nan=False)


if __name__ == "__main__":
    main()
