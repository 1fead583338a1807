//! Nelder-Mead exactly as statsforecast 2.1.1 runs it for ETS and Theta (its C++ `nm::NelderMead`):
//! adaptive coefficients, a 5% initial simplex, box bounds by clamping every trial point, stop
//! when the population standard deviation of the simplex values is below `tol_std`. Mirroring
//! it step for step matters: most seasonal fits stop at the iteration cap, so the answer
//! depends on the path.

fn clip(x: &mut [f64], lower: &[f64], upper: &[f64]) {
    for i in 0..x.len() {
        x[i] = x[i].max(lower[i]).min(upper[i]);
    }
}

/// The best point found.
pub(crate) fn nelder_mead(
    f: &mut impl FnMut(&[f64]) -> f64,
    x0: &[f64],
    lower: &[f64],
    upper: &[f64],
    tol_std: f64,
    max_iter: usize,
) -> Vec<f64> {
    let n = x0.len();
    let nf = n as f64;
    let (alpha, gamma, rho, sigma) = (1.0, 1.0 + 2.0 / nf, 0.75 - 1.0 / (2.0 * nf), 1.0 - 1.0 / nf);
    let mut start = x0.to_vec();
    clip(&mut start, lower, upper);
    // Rows 0..n-1 step 5% along one coordinate each (1e-4 from zero); row n is the start.
    let mut simplex: Vec<Vec<f64>> = vec![start.clone(); n + 1];
    for i in 0..n {
        simplex[i][i] = if start[i] == 0.0 {
            1e-4
        } else {
            start[i] * 1.05
        };
        clip(&mut simplex[i], lower, upper);
    }
    let mut values: Vec<f64> = simplex.iter().map(|x| f(x)).collect();
    let mut order: Vec<usize> = (0..=n).collect();
    let mut best = 0;
    for _ in 0..max_iter {
        order.sort_by(|&a, &b| values[a].total_cmp(&values[b]));
        let (worst, second) = (order[n], order[n - 1]);
        best = order[0];
        let mean = values.iter().sum::<f64>() / (nf + 1.0);
        let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (nf + 1.0);
        // An infinite value makes the spread NaN: keep going, as numpy's std would.
        if var.sqrt() < tol_std {
            break;
        }
        let mut centroid = vec![0.0; n];
        for &i in &order[..n] {
            for (c, x) in centroid.iter_mut().zip(&simplex[i]) {
                *c += x / nf;
            }
        }
        let toward = |t: f64, from: &[f64]| -> Vec<f64> {
            let mut p: Vec<f64> = centroid
                .iter()
                .zip(from)
                .map(|(c, x)| c + t * (x - c))
                .collect();
            clip(&mut p, lower, upper);
            p
        };
        let reflected = toward(-alpha, &simplex[worst]);
        let fr = f(&reflected);
        if values[best] <= fr && fr < values[second] {
            simplex[worst] = reflected;
            values[worst] = fr;
            continue;
        }
        if fr < values[best] {
            let mut expanded: Vec<f64> = centroid
                .iter()
                .zip(&reflected)
                .map(|(c, r)| c + gamma * (r - c))
                .collect();
            clip(&mut expanded, lower, upper);
            let fe = f(&expanded);
            if fe < fr {
                simplex[worst] = expanded;
                values[worst] = fe;
            } else {
                simplex[worst] = reflected;
                values[worst] = fr;
            }
            continue;
        }
        if values[second] <= fr && fr < values[worst] {
            let mut outside: Vec<f64> = centroid
                .iter()
                .zip(&reflected)
                .map(|(c, r)| c + rho * (r - c))
                .collect();
            clip(&mut outside, lower, upper);
            let fo = f(&outside);
            if fo <= fr {
                simplex[worst] = outside;
                values[worst] = fo;
                continue;
            }
        } else {
            let mut inside: Vec<f64> = centroid
                .iter()
                .zip(&reflected)
                .map(|(c, r)| c - rho * (r - c))
                .collect();
            clip(&mut inside, lower, upper);
            let fi = f(&inside);
            if fi < values[worst] {
                simplex[worst] = inside;
                values[worst] = fi;
                continue;
            }
        }
        // Shrink every row but row 0 towards the best point (statsforecast's loop).
        let anchor = simplex[best].clone();
        for i in 1..=n {
            let mut p: Vec<f64> = anchor
                .iter()
                .zip(&simplex[i])
                .map(|(b, x)| b + sigma * (x - b))
                .collect();
            clip(&mut p, lower, upper);
            values[i] = f(&p);
            simplex[i] = p;
        }
    }
    // On hitting the cap the best of the last ordering is returned, as statsforecast does.
    simplex[best].clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minimises_a_bowl_within_bounds() {
        let mut f = |x: &[f64]| (x[0] - 1.0).powi(2) + (x[1] + 2.0).powi(2);
        let x = nelder_mead(
            &mut f,
            &[0.5, 0.5],
            &[-10.0, -1.0],
            &[10.0, 10.0],
            1e-12,
            5000,
        );
        assert!((x[0] - 1.0).abs() < 1e-4, "{x:?}");
        assert!((x[1] + 1.0).abs() < 1e-9, "bound respected: {x:?}");
    }
}
