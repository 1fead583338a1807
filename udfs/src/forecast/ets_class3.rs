//! Forecast variances of the ETS models with multiplicative error and multiplicative season
//! ("class 3" of Hyndman et al. 2008, ch. 6), as statsforecast's `_class3models` computes them.

use super::ets::{Component, Fit};

type Matrix = Vec<Vec<f64>>;

fn zeros(r: usize, c: usize) -> Matrix {
    vec![vec![0.0; c]; r]
}

fn matmul(a: &Matrix, b: &Matrix) -> Matrix {
    let (n, k, m) = (a.len(), b.len(), b[0].len());
    let mut out = zeros(n, m);
    for i in 0..n {
        for p in 0..k {
            let v = a[i][p];
            if v == 0.0 {
                continue;
            }
            for j in 0..m {
                out[i][j] += v * b[p][j];
            }
        }
    }
    out
}

fn transpose(a: &Matrix) -> Matrix {
    let mut out = zeros(a[0].len(), a.len());
    for (i, row) in a.iter().enumerate() {
        for (j, v) in row.iter().enumerate() {
            out[j][i] = *v;
        }
    }
    out
}

/// numpy's `kron`.
fn kron(a: &Matrix, b: &Matrix) -> Matrix {
    let (ra, ca, rb, cb) = (a.len(), a[0].len(), b.len(), b[0].len());
    let mut out = zeros(ra * rb, ca * cb);
    for i in 0..ra {
        for j in 0..ca {
            for k in 0..rb {
                for l in 0..cb {
                    out[i * rb + k][j * cb + l] = a[i][j] * b[k][l];
                }
            }
        }
    }
    out
}

fn add(a: &Matrix, b: &Matrix) -> Matrix {
    a.iter()
        .zip(b)
        .map(|(x, y)| x.iter().zip(y).map(|(p, q)| p + q).collect())
        .collect()
}

fn scale(a: &Matrix, s: f64) -> Matrix {
    a.iter()
        .map(|r| r.iter().map(|v| v * s).collect())
        .collect()
}

pub(crate) fn variance(fit: &Fit, h: usize) -> Vec<f64> {
    let m = fit.m;
    let sigma = fit.sigma2;
    let trend = fit.spec.trend != Component::None;
    let state = &fit.last_state;
    let p = state.len();
    let (h1, f1, g1): (Matrix, Matrix, Matrix) = if trend {
        let f = if fit.spec.damped { fit.phi } else { 1.0 };
        (
            vec![vec![1.0, 1.0]],
            vec![vec![1.0, 1.0], vec![0.0, f]],
            vec![vec![fit.alpha, fit.alpha], vec![fit.beta, fit.beta]],
        )
    } else {
        (vec![vec![1.0]], vec![vec![1.0]], vec![vec![fit.alpha]])
    };
    let mut h2 = zeros(1, m);
    h2[0][m - 1] = 1.0;
    let mut f2 = zeros(m, m);
    f2[0][m - 1] = 1.0;
    for i in 1..m {
        f2[i][i - 1] = 1.0;
    }
    let mut g2 = zeros(m, m);
    g2[0][m - 1] = fit.gamma;
    let k = p - m;
    let mh: Matrix = (0..k)
        .map(|i| (0..m).map(|j| state[i] * state[k + j]).collect())
        .collect();
    let d = k * m;
    let mut vh = zeros(d, d);
    let h21 = kron(&h2, &h1);
    let f21 = kron(&f2, &f1);
    let g21 = kron(&g2, &g1);
    let kk = add(&kron(&g2, &f1), &kron(&f2, &g1));
    // statsforecast flattens Mh row by row and never advances it inside the loop.
    let vec_mh: Vec<f64> = mh.iter().flatten().copied().collect();
    let outer: Matrix = vec_mh
        .iter()
        .map(|a| vec_mh.iter().map(|b| a * b).collect())
        .collect();
    let mu = matmul(&matmul(&h1, &mh), &transpose(&h2))[0][0];
    let (f21t, g21t, kkt, h21t) = (
        transpose(&f21),
        transpose(&g21),
        transpose(&kk),
        transpose(&h21),
    );
    let mut var = Vec::with_capacity(h);
    for _ in 0..h {
        let q = matmul(&matmul(&h21, &vh), &h21t)[0][0];
        var.push((1.0 + sigma) * q + sigma * mu * mu);
        let exp1 = matmul(&f21, &matmul(&vh, &f21t));
        let exp2 = matmul(&f21, &matmul(&vh, &g21t));
        let exp3 = matmul(&g21, &matmul(&vh, &f21t));
        let exp4 = matmul(&kk, &matmul(&add(&vh, &outer), &kkt));
        let exp5 = matmul(
            &scale(&g21, sigma),
            &matmul(&add(&scale(&vh, 3.0), &scale(&outer, 2.0)), &g21t),
        );
        vh = add(
            &exp1,
            &scale(&add(&add(&add(&exp2, &exp3), &exp4), &exp5), sigma),
        );
    }
    var
}
