"""Plain-Python mirror of statsforecast 2.1.1's compiled ETS and Theta cores: an executable version
of tests/oracles/statsforecast_ets_notes.md, for porting step by step (the compiled core ships
without its C++ source).

    /work/venv-statsforecast/bin/python tests/oracles/statsforecast_ets_mirror.py

It mirrors `_lib.ets.{update,forecast,calc,optimize}` (the Nelder-Mead included) and
`_lib.theta.{init_state,update,forecast,calc,optimize}`. Run as a script, it re-runs every
optimisation statsforecast does while fitting AirPassengers, its log and a random walk (AutoETS),
and AirPassengers (the four Theta models), and checks that the mirror gets the same iteration
count, objective and optimum. Seen on this machine: the same `nit` everywhere, objective and
parameters within 1e-10 relative (the C++ sums with Eigen's vectorised reductions, so the last
bits differ); the Theta fits agree exactly.
"""

import math

import numpy as np

N, A, M = 0, 1, 2  # component codes (statsforecast: Nothing, Additive, Multiplicative)
TOL = 1e-10
HUGE_N = 1e10
NA = -99999.0


# ----------------------------------------------------------------------------- ETS core

def ets_update(s, old_l, old_b, old_s, m, trend, season, alpha, beta, gamma, phi, y):
    """One state transition; writes the new seasonal vector into s, returns (l, b)."""
    b = 0.0
    if trend == N:
        q, phi_b = old_l, 0.0
    elif trend == A:
        phi_b = phi * old_b
        q = old_l + phi_b
    elif abs(phi - 1.0) < TOL:
        phi_b = old_b
        q = old_l * old_b
    else:
        phi_b = old_b ** phi
        q = old_l * phi_b
    if season == N:
        p = y
    elif season == A:
        p = y - old_s[m - 1]
    else:
        p = HUGE_N if abs(old_s[m - 1]) < TOL else y / old_s[m - 1]
    l = q + alpha * (p - q)
    if trend != N:
        if trend == A:
            r = l - old_l
        else:
            r = HUGE_N if abs(old_l) < TOL else l / old_l
        b = phi_b + (beta / alpha) * (r - phi_b)
    if season != N:
        if season == A:
            t = y - q
        else:
            t = HUGE_N if abs(q) < TOL else y / q
        s[0] = old_s[m - 1] + gamma * (t - old_s[m - 1])
        s[1:m] = old_s[0:m - 1]
    return l, b


def ets_forecast(l, b, s, m, trend, season, phi, h):
    f = np.zeros(h)
    phistar = phi
    for i in range(h):
        if trend == N:
            f[i] = l
        elif trend == A:
            f[i] = l + phistar * b
        elif b < 0:
            f[i] = math.nan
        else:
            f[i] = l * b ** phistar
        j = m - 1 - i
        while j < 0:
            j += m
        if season == A:
            f[i] += s[j]
        elif season == M:
            f[i] *= s[j]
        if i < h - 1:
            phistar += 1.0 if abs(phi - 1.0) < TOL else phi ** (i + 1)
    return f


def ets_calc(x0, y, error, trend, season, alpha, beta, gamma, phi, m, nmse=3):
    """Returns (lik, e, amse): lik = n log(sum e^2) [+ 2 sum log|yhat| for M errors]."""
    n = len(y)
    m = max(m, 1)
    l = x0[0]
    b = x0[1] if trend != N else 0.0
    s = np.zeros(max(m, 24))
    if season != N:
        k = 1 + (trend != N)
        s[:m] = x0[k:k + m]
    amse, denom, e = np.zeros(nmse), np.zeros(nmse), np.zeros(n)
    lik = lik2 = old_b = 0.0
    for i in range(n):
        old_l = l
        if trend != N:
            old_b = b
        old_s = s.copy()
        f = ets_forecast(old_l, old_b, old_s, m, trend, season, phi, nmse)
        if abs(f[0] - NA) < TOL:
            return NA, e, amse
        if error == A:
            e[i] = y[i] - f[0]
        else:
            f0 = f[0] + TOL if abs(f[0]) < TOL else f[0]
            e[i] = (y[i] - f[0]) / f0
        for j in range(nmse):
            if i + j < n:
                denom[j] += 1.0
                tmp = y[i + j] - f[j]
                amse[j] = (amse[j] * (denom[j] - 1.0) + tmp * tmp) / denom[j]
        l, b_new = ets_update(s, old_l, old_b, old_s, m, trend, season, alpha, beta, gamma, phi, y[i])
        if trend != N:
            b = b_new
        lik += e[i] * e[i]
        val = abs(f[0])
        lik2 += math.log(val) if val > 0.0 else math.log(val + 1e-8)
    lik = n * math.log(lik) if lik > 0.0 else n * math.log(lik + 1e-8)
    if error == M:
        lik += 2 * lik2
    return lik, e, amse


def ets_objective(params, y, n_state, error, trend, season, m, opt, fixed):
    """opt = (opt_alpha, opt_beta, opt_gamma, opt_phi); fixed = (alpha, beta, gamma, phi)."""
    alpha, beta, gamma, phi = fixed
    j = 0
    if opt[0]:
        alpha = params[j]; j += 1
    if opt[1]:
        beta = params[j]; j += 1
    if opt[2]:
        gamma = params[j]; j += 1
    if opt[3]:
        phi = params[j]; j += 1
    state = list(params[len(params) - n_state:])
    if season != N:
        start = 1 + (trend != N)
        state.append(float(m * (season == M)) - sum(state[start:n_state]))
        if season == M and min(state[start:]) < 0.0:
            return math.inf
    lik, _, _ = ets_calc(np.array(state), y, error, trend, season, alpha, beta, gamma, phi, m)
    lik = max(lik, -1e10)
    if math.isnan(lik) or abs(lik + 99999.0) < 1e-7:
        lik = -math.inf  # sic: a failed evaluation looks like the best point
    return lik


# ----------------------------------------------------------------------------- Nelder-Mead

def nelder_mead(F, x, lower, upper, init_step=0.05, zero_pert=1e-4, alpha=1.0, gamma=2.0,
                rho=0.5, sigma=0.5, max_iter=1000, tol_std=1e-4, adaptive=True):
    """statsforecast's bounded (clamping) Nelder-Mead, as compiled into 2.1.1."""
    clamp = lambda v: np.minimum(np.maximum(v, lower), upper)  # noqa: E731
    x0 = clamp(np.asarray(x, dtype=float))
    n = len(x0)
    if adaptive:
        gamma = 1.0 + 2.0 / n
        rho = 0.75 - 1.0 / (2 * n)
        sigma = 1.0 - 1.0 / n
    simplex = np.tile(x0, (n + 1, 1))
    for i in range(n):  # row i perturbs coordinate i; row n stays x0
        v = simplex[i, i]
        v = zero_pert if v == 0 else v * (1.0 + init_step)
        simplex[i, i] = min(max(v, lower[i]), upper[i])
    fs = np.array([F(simplex[i]) for i in range(n + 1)])
    best = 0
    it = max_iter
    for k in range(max_iter):
        order = sorted(range(n + 1), key=lambda r: fs[r])  # stable, like insertion sort
        best, worst, second = order[0], order[n], order[n - 1]
        if np.sqrt(np.mean((fs - fs.mean()) ** 2)) < tol_std:  # population std of f
            it = k
            break
        xo = (simplex.sum(axis=0) - simplex[worst]) / n
        xr = clamp(xo + alpha * (xo - simplex[worst]))
        fr = F(xr)
        if fs[best] <= fr < fs[second]:
            simplex[worst], fs[worst] = xr, fr
            continue
        if fr < fs[best]:
            xe = clamp(xo + gamma * (xr - xo))
            fe = F(xe)
            if fe < fr:
                simplex[worst], fs[worst] = xe, fe
            else:
                simplex[worst], fs[worst] = xr, fr
            continue
        if fs[second] <= fr < fs[worst]:
            xoc = clamp(xo + rho * (xr - xo))
            foc = F(xoc)
            if foc <= fr:
                simplex[worst], fs[worst] = xoc, foc
                continue
        else:
            xic = clamp(xo - rho * (xr - xo))
            fic = F(xic)
            if fic < fs[worst]:
                simplex[worst], fs[worst] = xic, fic
                continue
        for j in range(1, n + 1):  # shrink every row but row 0 towards the best
            simplex[j] = clamp(simplex[best] + sigma * (simplex[j] - simplex[best]))
            fs[j] = F(simplex[j])
    # `best` comes from the sort at the top of the last iteration: after 1000 iterations it can
    # miss a better point that iteration added.
    return simplex[best].copy(), fs[best], it + 1


# ----------------------------------------------------------------------------- Theta core

STM, OTM, DSTM, DOTM = range(4)


def theta_init_state(y, mt, l0, alpha, theta):
    n = len(y)
    if mt in (DSTM, DOTM):
        an, bn, mu = y[0], 0.0, y[0]
    else:
        ym = y.mean()
        wa = y.dot(np.arange(1, n + 1, dtype=float)) / n
        bn = (6 * (2 * wa - (n + 1) * ym)) / (n * n - 1)
        an = ym - (n + 1) * bn / 2
        mu = l0 + (1 - 1 / theta) * (an + bn)
    return [alpha * y[0] + (1 - alpha) * l0, y[0], an, bn, mu]


def theta_step(prev, i, mt, alpha, theta, y, usemu):
    """State row = [level, mean_y, A_n, B_n, mu]; i is the 0-based time index of the new row."""
    level, meany, an, bn = prev[:4]
    cur = [0.0] * 5
    cur[4] = level + (1 - 1 / theta) * (an * (1 - alpha) ** i + bn * (1 - (1 - alpha) ** (i + 1)) / alpha)
    if usemu:
        y = cur[4]
    cur[0] = alpha * y + (1 - alpha) * level
    cur[1] = (i * meany + y) / (i + 1)
    if mt in (DSTM, DOTM):
        cur[3] = ((i - 1) * bn + 6 * (y - meany) / (i + 1)) / (i + 2)
        cur[2] = cur[1] - cur[3] * (i + 2) / 2
    else:
        cur[2], cur[3] = an, bn
    return cur


def theta_forecast(last_row, n, mt, alpha, theta, h):
    f, row = [], last_row
    for j in range(h):
        row = theta_step(row, n + j, mt, alpha, theta, 0.0, True)
        f.append(row[4])
    return np.array(f)


def theta_calc(y, mt, l0, alpha, theta):
    """Returns (objective, e, states); objective = sum_{t>=3} e_t^2 / mean|y|."""
    n = len(y)
    states = [theta_init_state(y, mt, l0, alpha, theta)]
    e = np.zeros(n)
    e[0] = y[0] - states[0][4]
    for i in range(1, n):
        e[i] = y[i] - theta_step(states[i - 1], i, mt, alpha, theta, 0.0, True)[4]
        states.append(theta_step(states[i - 1], i, mt, alpha, theta, y[i], False))
    return (e[3:] ** 2).sum() / max(np.abs(y).mean(), TOL), e, states


def theta_fit(y, mt):
    opt_theta = mt in (OTM, DOTM)
    x0 = np.array([y[0] / 2, 0.5] + ([2.0] if opt_theta else []))
    lo = np.array([-1e10, 0.1] + ([1.0] if opt_theta else []))
    hi = np.array([1e10, 0.99] + ([1e10] if opt_theta else []))

    def F(p):
        v = theta_calc(y, mt, p[0], p[1], p[2] if opt_theta else 2.0)[0]
        v = max(v, -1e10)
        return -math.inf if math.isnan(v) else v

    return nelder_mead(F, x0, lo, hi)


# ----------------------------------------------------------------------------- self-check

def _check():
    import statsforecast.ets as sfe
    import statsforecast.theta as sft
    from statsforecast.utils import AirPassengers

    code = {"N": N, "A": A, "M": M}
    seen = []
    orig = sfe.optimize_ets_target_fn

    def spy(**kw):
        res = orig(**kw)
        seen.append((kw, res))
        return res

    sfe.optimize_ets_target_fn = spy
    worst = 0.0
    rng = np.random.default_rng(0)
    ap = np.asarray(AirPassengers, dtype=float)
    for name, y, m in [("air", ap, 12), ("log_air", np.log(ap), 12),
                       ("walk", 50 + np.cumsum(rng.normal(0, 1, 200)), 1)]:
        seen.clear()
        sfe.ets_f(y, m)
        for kw, res in seen:
            e, t, s = code[kw["errortype"]], code[kw["trendtype"]], code[kw["seasontype"]]
            par = kw["par"]
            opt = ("alpha" in par, "beta" in par, "gamma" in par, "phi" in par)
            fixed = (par.get("alpha"), par.get("beta", 0.0), par.get("gamma", 0.0),
                     par.get("phi", 1.0) if kw["damped"] else 1.0)
            x, fn, nit = nelder_mead(
                lambda p: ets_objective(p, y, kw["nstate"], e, t, s, kw["m"], opt, fixed),
                kw["x0"].copy(), kw["lowerb"], kw["upperb"])
            dx = float(np.max(np.abs(x - res.x) / np.maximum(1.0, np.abs(res.x))))
            worst = max(worst, dx, abs(fn - res.fn) / max(1.0, abs(res.fn)))
            model = kw["errortype"] + kw["trendtype"] + ("d" if kw["damped"] else "") + kw["seasontype"]
            assert nit == res.nit, (name, model, nit, res.nit)
            print(f"{name:<8} {model:<5} nit={nit:<5} fn={fn:.10f} statsforecast={res.fn:.10f} max rel dx={dx:.2e}")
    for name, mt in [("STM", STM), ("OTM", OTM), ("DSTM", DSTM), ("DOTM", DOTM)]:
        ref = sft.thetamodel(ap, 12, name, np.nan, np.nan, np.nan, 3)
        x, fn, nit = theta_fit(ap, mt)
        th = x[2] if mt in (OTM, DOTM) else 2.0
        _, _, states = theta_calc(ap, mt, x[0], x[1], th)
        f = theta_forecast(states[-1], len(ap), mt, x[1], th, 12)
        df = float(np.max(np.abs(f - sft.forecast_theta(ref, 12)["mean"])))
        assert nit == ref["fit"].nit
        worst = max(worst, df)
        print(f"theta    {name:<5} nit={nit:<5} fn={fn:.10f} statsforecast={ref['fit'].fn:.10f} max |dforecast|={df:.2e}")
    print(f"worst relative difference: {worst:.2e}")
    assert worst < 1e-8


if __name__ == "__main__":
    _check()
