//! The largest root modulus of a real polynomial (Durand-Kerner iteration), for the ETS
//! admissibility test.

#[derive(Clone, Copy, Debug)]
struct C(f64, f64);

impl C {
    fn add(self, o: C) -> C {
        C(self.0 + o.0, self.1 + o.1)
    }
    fn sub(self, o: C) -> C {
        C(self.0 - o.0, self.1 - o.1)
    }
    fn mul(self, o: C) -> C {
        C(self.0 * o.0 - self.1 * o.1, self.0 * o.1 + self.1 * o.0)
    }
    fn div(self, o: C) -> C {
        let d = o.0 * o.0 + o.1 * o.1;
        C(
            (self.0 * o.0 + self.1 * o.1) / d,
            (self.1 * o.0 - self.0 * o.1) / d,
        )
    }
    fn abs(self) -> f64 {
        self.0.hypot(self.1)
    }
}

/// `coef` in increasing powers (`coef[0] + coef[1]·x + …`); the leading coefficient must be
/// non-zero.
pub(crate) fn max_root_modulus(coef: &[f64]) -> f64 {
    let mut coef = coef.to_vec();
    while coef.len() > 1 && coef[coef.len() - 1] == 0.0 {
        coef.pop();
    }
    let n = coef.len() - 1;
    if n == 0 {
        return 0.0;
    }
    let lead = coef[n];
    let monic: Vec<f64> = coef.iter().map(|c| c / lead).collect();
    let eval = |z: C| -> C {
        let mut acc = C(1.0, 0.0);
        for k in (0..n).rev() {
            acc = acc.mul(z).add(C(monic[k], 0.0));
        }
        acc
    };
    // Starting points on a circle bounding every root (Cauchy's bound).
    let radius = 1.0 + monic[..n].iter().fold(0.0f64, |m, c| m.max(c.abs()));
    let mut roots: Vec<C> = (0..n)
        .map(|k| {
            let angle = 2.0 * std::f64::consts::PI * k as f64 / n as f64 + 0.4;
            C(radius * angle.cos(), radius * angle.sin())
        })
        .collect();
    for _ in 0..1000 {
        let mut moved = 0.0f64;
        for i in 0..n {
            let mut denom = C(1.0, 0.0);
            for j in 0..n {
                if i != j {
                    denom = denom.mul(roots[i].sub(roots[j]));
                }
            }
            if denom.abs() == 0.0 {
                denom = C(1e-12, 1e-12);
            }
            let step = eval(roots[i]).div(denom);
            roots[i] = roots[i].sub(step);
            moved = moved.max(step.abs());
        }
        if moved < 1e-14 {
            break;
        }
    }
    roots.iter().map(|r| r.abs()).fold(0.0, f64::max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_roots() {
        // (x − 2)(x + 0.5) = x² − 1.5x − 1
        assert!((max_root_modulus(&[-1.0, -1.5, 1.0]) - 2.0).abs() < 1e-10);
        // x² + 1: roots ±i
        assert!((max_root_modulus(&[1.0, 0.0, 1.0]) - 1.0).abs() < 1e-10);
        // (x − 0.9)^3
        let c = [-0.729, 2.43, -2.7, 1.0];
        assert!((max_root_modulus(&c) - 0.9).abs() < 1e-4);
    }
}
