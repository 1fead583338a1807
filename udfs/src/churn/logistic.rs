//! L2-penalised logistic regression on standardised features, solved by Newton's method:
//! the kernel behind `logistic_score` and `logistic_fit`.

use datafusion::arrow::array::{Array, ArrayRef};
use datafusion::error::Result;

use super::doubles;
use crate::SqlError;

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Options {
    /// Penalty λ in Σ log-loss + λ/2·‖w‖² (scikit-learn's 1/C); the intercept is not penalised.
    pub l2: f64,
    pub standardize: bool,
    pub max_iter: usize,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            l2: 1.0,
            standardize: true,
            max_iter: 100,
        }
    }
}

pub(crate) const OPTIONS_DOC: &str = "Features are z-score standardised over the training rows \
    (population standard deviation, like scikit-learn's StandardScaler; a constant feature \
    contributes nothing) unless 'standardize=false'; the model minimises Σ log-loss + l2/2·‖w‖² \
    over the standardised coefficients, intercept unpenalised (scikit-learn's \
    LogisticRegression with C = 1/l2; default l2=1), by Newton's method to machine precision \
    (max_iter=100). Options text: 'l2=0.5, standardize=false, max_iter=50'. Labels are 0/1 or \
    boolean; rows with a NULL label are not trained on, rows with a NULL feature are skipped \
    (NULL score). When the training rows hold only one class, or the fit does not converge \
    (l2=0 on separable data), the result is NULL.";

impl Options {
    pub(crate) fn parse(text: &str, name: &str, usage: &str) -> Result<Self> {
        let mut options = Options::default();
        for (part, key, value) in crate::args::option_pairs(text) {
            let bad = || {
                SqlError::invalid_parameter(format!(
                    "{name}: bad option '{part}'; options are l2=number >= 0, standardize=true|false, max_iter=1..10000. Usage: {usage}"
                ))
            };
            match key.as_str() {
                "l2" => {
                    options.l2 = value
                        .parse()
                        .ok()
                        .filter(|v: &f64| *v >= 0.0 && v.is_finite())
                        .ok_or_else(bad)?
                }
                "standardize" => {
                    options.standardize = crate::args::option_bool(value).ok_or_else(bad)?
                }
                "max_iter" => {
                    options.max_iter = value
                        .parse()
                        .ok()
                        .filter(|n| (1..=10_000).contains(n))
                        .ok_or_else(bad)?
                }
                _ => return Err(bad()),
            }
        }
        Ok(options)
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Model {
    pub mean: Vec<f64>,
    pub scale: Vec<f64>,
    /// Intercept and coefficients on the standardised features.
    pub intercept_std: f64,
    pub coef_std: Vec<f64>,
    /// Mean log-loss on the training rows.
    pub log_loss: f64,
}

impl Model {
    /// Intercept and coefficients in the features' own units.
    pub(crate) fn original(&self) -> (f64, Vec<f64>) {
        let coef: Vec<f64> = self
            .coef_std
            .iter()
            .zip(&self.scale)
            .map(|(w, s)| w / s)
            .collect();
        let intercept =
            self.intercept_std - coef.iter().zip(&self.mean).map(|(c, m)| c * m).sum::<f64>();
        (intercept, coef)
    }

    pub(crate) fn probability(&self, features: &[f64]) -> f64 {
        let eta = self.intercept_std
            + features
                .iter()
                .zip(&self.mean)
                .zip(&self.scale)
                .zip(&self.coef_std)
                .map(|(((x, m), s), w)| (x - m) / s * w)
                .sum::<f64>();
        sigmoid(eta)
    }
}

fn sigmoid(eta: f64) -> f64 {
    if eta >= 0.0 {
        1.0 / (1.0 + (-eta).exp())
    } else {
        let e = eta.exp();
        e / (1.0 + e)
    }
}

/// ln(1 + e^η) without overflow.
fn softplus(eta: f64) -> f64 {
    if eta > 0.0 {
        eta + (-eta).exp().ln_1p()
    } else {
        eta.exp().ln_1p()
    }
}

/// Solves the symmetric positive-definite system `a x = b` (n × n, row-major) by Cholesky.
fn cholesky_solve(a: &[f64], b: &[f64], n: usize) -> Option<Vec<f64>> {
    let mut l = vec![0.0; n * n];
    for i in 0..n {
        for j in 0..=i {
            let mut sum = a[i * n + j];
            for k in 0..j {
                sum -= l[i * n + k] * l[j * n + k];
            }
            if i == j {
                if sum <= 0.0 {
                    return None;
                }
                l[i * n + i] = sum.sqrt();
            } else {
                l[i * n + j] = sum / l[j * n + j];
            }
        }
    }
    let mut y = vec![0.0; n];
    for i in 0..n {
        let s: f64 = (0..i).map(|k| l[i * n + k] * y[k]).sum();
        y[i] = (b[i] - s) / l[i * n + i];
    }
    let mut x = vec![0.0; n];
    for i in (0..n).rev() {
        let s: f64 = (i + 1..n).map(|k| l[k * n + i] * x[k]).sum();
        x[i] = (y[i] - s) / l[i * n + i];
    }
    Some(x)
}

/// Fits the model on `rows` (row-major, `dim` features each) with 0/1 `labels`.
pub(crate) fn fit(rows: &[f64], labels: &[f64], dim: usize, options: &Options) -> Option<Model> {
    let n = labels.len();
    if n == 0 || labels.iter().all(|&y| y == labels[0]) {
        return None;
    }
    let (mut mean, mut scale) = (vec![0.0; dim], vec![1.0; dim]);
    if options.standardize {
        for row in rows.chunks_exact(dim) {
            for (m, x) in mean.iter_mut().zip(row) {
                *m += x;
            }
        }
        mean.iter_mut().for_each(|m| *m /= n as f64);
        let mut var = vec![0.0; dim];
        for row in rows.chunks_exact(dim) {
            for j in 0..dim {
                var[j] += (row[j] - mean[j]).powi(2);
            }
        }
        for j in 0..dim {
            let sd = (var[j] / n as f64).sqrt();
            scale[j] = if sd > 0.0 { sd } else { 1.0 };
        }
    }
    let z: Vec<f64> = rows
        .chunks_exact(dim)
        .flat_map(|row| {
            let (mean, scale) = (&mean, &scale);
            (0..dim).map(move |j| (row[j] - mean[j]) / scale[j])
        })
        .collect();
    let p = dim + 1;
    let objective = |beta: &[f64]| -> f64 {
        let mut loss = 0.0;
        for (row, &y) in z.chunks_exact(dim).zip(labels) {
            let eta = beta[0] + row.iter().zip(&beta[1..]).map(|(x, w)| x * w).sum::<f64>();
            loss += softplus(eta) - y * eta;
        }
        loss + 0.5 * options.l2 * beta[1..].iter().map(|w| w * w).sum::<f64>()
    };
    let mut beta = vec![0.0; p];
    let mut value = objective(&beta);
    let mut converged = false;
    for _ in 0..options.max_iter {
        let mut grad = vec![0.0; p];
        let mut hess = vec![0.0; p * p];
        let mut x = vec![0.0; p];
        x[0] = 1.0;
        for (row, &y) in z.chunks_exact(dim).zip(labels) {
            x[1..].copy_from_slice(row);
            let eta: f64 = x.iter().zip(&beta).map(|(a, b)| a * b).sum();
            let mu = sigmoid(eta);
            let w = mu * (1.0 - mu);
            for i in 0..p {
                grad[i] += (mu - y) * x[i];
                let wx = w * x[i];
                for j in 0..=i {
                    hess[i * p + j] += wx * x[j];
                }
            }
        }
        for i in 0..p {
            for j in 0..i {
                hess[j * p + i] = hess[i * p + j];
            }
        }
        for i in 1..p {
            grad[i] += options.l2 * beta[i];
            hess[i * p + i] += options.l2;
        }
        // A whisker of ridge keeps the solve defined when probabilities saturate.
        for i in 0..p {
            hess[i * p + i] += 1e-12 * (1.0 + hess[i * p + i]);
        }
        let step = cholesky_solve(&hess, &grad, p)?;
        let mut t = 1.0;
        let mut accepted = false;
        for _ in 0..50 {
            let trial: Vec<f64> = beta.iter().zip(&step).map(|(b, s)| b - t * s).collect();
            let v = objective(&trial);
            if v.is_finite() && v <= value + 1e-12 * value.abs().max(1.0) {
                beta = trial;
                value = v;
                accepted = true;
                break;
            }
            t *= 0.5;
        }
        let largest = step.iter().fold(0.0f64, |m, s| m.max(s.abs())) * t;
        if !accepted || largest < 1e-10 * (1.0 + beta.iter().fold(0.0f64, |m, b| m.max(b.abs()))) {
            converged = grad.iter().all(|g| g.abs() < 1e-6 * (n as f64).max(1.0));
            break;
        }
    }
    if !converged || beta.iter().any(|b| !b.is_finite()) {
        return None;
    }
    let penalty = 0.5 * options.l2 * beta[1..].iter().map(|w| w * w).sum::<f64>();
    Some(Model {
        mean,
        scale,
        intercept_std: beta[0],
        coef_std: beta[1..].to_vec(),
        log_loss: (value - penalty) / n as f64,
    })
}

/// Training and scoring rows from (label, f1, …, fn) columns: every row whose features are all
/// present (row number, features row-major, label or None).
pub(crate) struct LabelledRows {
    pub rows: Vec<usize>,
    pub features: Vec<f64>,
    pub labels: Vec<Option<f64>>,
}

pub(crate) fn labelled_rows(name: &str, columns: &[ArrayRef], usage: &str) -> Result<LabelledRows> {
    let label = doubles(&columns[0])?;
    let features = columns[1..]
        .iter()
        .map(doubles)
        .collect::<Result<Vec<_>>>()?;
    let mut out = LabelledRows {
        rows: vec![],
        features: vec![],
        labels: vec![],
    };
    for row in 0..label.len() {
        if features.iter().any(|f| f.is_null(row)) {
            continue;
        }
        for (j, f) in features.iter().enumerate() {
            let v = f.value(row);
            if !v.is_finite() {
                return Err(SqlError::data_exception(format!(
                    "{name}: feature {} is {v} on some row; features must be finite numbers (NULL rows are skipped). Usage: {usage}",
                    j + 1
                )));
            }
            out.features.push(v);
        }
        let y = if label.is_valid(row) {
            let y = label.value(row);
            if y != 0.0 && y != 1.0 {
                return Err(SqlError::data_exception(format!(
                    "{name}: the label must be 0, 1, true, false or NULL (NULL = score only), got {y}. Usage: {usage}"
                )));
            }
            Some(y)
        } else {
            None
        };
        out.labels.push(y);
        out.rows.push(row);
    }
    Ok(out)
}

impl LabelledRows {
    /// The rows with a label, as (features row-major, labels).
    pub(crate) fn training(&self, dim: usize) -> (Vec<f64>, Vec<f64>) {
        let mut x = vec![];
        let mut y = vec![];
        for (i, label) in self.labels.iter().enumerate() {
            if let Some(l) = label {
                x.extend_from_slice(&self.features[i * dim..(i + 1) * dim]);
                y.push(*l);
            }
        }
        (x, y)
    }
}

/// Checks `(label, f1, …, fn [, 'options'])`: the label is boolean or numeric, the features
/// numeric; everything numeric is coerced to DOUBLE.
pub(crate) fn coerce_labelled(
    name: &str,
    args: &[datafusion::arrow::datatypes::DataType],
    usage: &str,
) -> Result<Vec<datafusion::arrow::datatypes::DataType>> {
    use datafusion::arrow::datatypes::DataType;
    let bad = |why: String| SqlError::wrong_arguments(format!("{name}: {why}. Usage: {usage}"));
    let mut out = vec![];
    let Some(label) = args.first() else {
        return Err(bad("missing the label and the features".into()));
    };
    if !(label.is_numeric() || label == &DataType::Boolean || label == &DataType::Null) {
        return Err(bad(format!(
            "the label must be boolean or 0/1, got {label}"
        )));
    }
    out.push(DataType::Float64);
    let mut rest = &args[1..];
    let options = rest.last().is_some_and(crate::funnel::is_text);
    if options {
        rest = &rest[..rest.len() - 1];
    }
    if rest.is_empty() {
        return Err(bad("give at least one numeric feature".into()));
    }
    for (i, t) in rest.iter().enumerate() {
        if !(t.is_numeric() || t == &DataType::Boolean || t == &DataType::Null) {
            return Err(bad(format!("feature {} must be numeric, got {t}", i + 1)));
        }
        out.push(DataType::Float64);
    }
    if options {
        out.push(DataType::Utf8);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cholesky_solves() {
        let a = [4.0, 2.0, 2.0, 3.0];
        let x = cholesky_solve(&a, &[2.0, 1.0], 2).unwrap();
        assert!((4.0 * x[0] + 2.0 * x[1] - 2.0).abs() < 1e-12);
        assert!((2.0 * x[0] + 3.0 * x[1] - 1.0).abs() < 1e-12);
    }

    #[test]
    fn one_class_has_no_model() {
        assert!(fit(&[1.0, 2.0, 3.0], &[1.0, 1.0, 1.0], 1, &Options::default()).is_none());
    }

    #[test]
    fn options_parse() {
        let o = Options::parse("l2=0.5, standardize=false", "f", "u").unwrap();
        assert_eq!(o.l2, 0.5);
        assert!(!o.standardize);
        assert!(Options::parse("l2=-1", "f", "u").is_err());
        assert!(Options::parse("c=1", "f", "u").is_err());
    }
}
