//! `segment_label(cluster_id, f1, …, fn) OVER (PARTITION BY …)` → TEXT: names each row's cluster
//! by the features where the cluster's mean stands furthest from the partition's mean.

use std::sync::{Arc, LazyLock};

use datafusion::arrow::array::{Array, ArrayRef, AsArray, StringArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field, FieldRef, Int64Type};
use datafusion::common::HashMap;
use datafusion::error::Result;
use datafusion::logical_expr::function::{PartitionEvaluatorArgs, WindowUDFFieldArgs};
use datafusion::logical_expr::{
    Documentation, PartitionEvaluator, Signature, Volatility, WindowUDF, WindowUDFImpl,
};

use super::feature_rows;
use super::kmeans::column_stats;
use crate::SqlError;

const USAGE: &str = "segment_label(cluster_id, f1, …, fn) OVER (PARTITION BY …) — e.g. \
    segment_label(cluster, orders_90d, discount_share, days_since_last) OVER () with the cluster \
    from kmeans_cluster in a subquery";

/// A feature is named when the cluster mean is at least this many standard deviations away.
const MIN_Z: f64 = 0.5;
const MAX_TERMS: usize = 3;

static DOC: LazyLock<Documentation> = LazyLock::new(|| {
    Documentation::builder(
        super::DOC_SECTION_SEGMENT,
        "Window function: a short label for each row's cluster, built from the feature column \
         names: for every feature, z = (cluster mean − partition mean) / partition standard \
         deviation; the (up to) 3 features with the largest |z| ≥ 0.5 are named \"high name\" or \
         \"low name\", strongest first, joined by \" · \" — e.g. \"high orders_90d · low \
         days_since_last\". A cluster that deviates nowhere is \"typical\". Names come from the \
         argument columns (alias them in a subquery); rows with a NULL cluster or feature get \
         NULL.",
        USAGE,
    )
    .with_sql_example(
        "SELECT cluster, segment_label(cluster, orders, revenue, days_since_last) OVER () AS label, count(*) OVER (PARTITION BY cluster) AS size\nFROM (SELECT *, kmeans_cluster(4, orders, revenue, days_since_last) OVER () AS cluster FROM customer_features)",
    )
    .build()
});

#[derive(Debug, PartialEq, Eq, Hash)]
pub struct SegmentLabel {
    signature: Signature,
}

pub fn segment_label_udwf() -> Arc<WindowUDF> {
    static UDWF: LazyLock<Arc<WindowUDF>> = LazyLock::new(|| {
        Arc::new(WindowUDF::from(SegmentLabel {
            signature: Signature::user_defined(Volatility::Immutable),
        }))
    });
    Arc::clone(&UDWF)
}

impl WindowUDFImpl for SegmentLabel {
    fn name(&self) -> &str {
        "segment_label"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        let bad = |why: String| {
            SqlError::wrong_arguments(format!("segment_label: {why}. Usage: {USAGE}"))
        };
        match arg_types.split_first() {
            Some((c, features)) if !features.is_empty() => {
                if !(c.is_integer() || c == &DataType::Null) {
                    return Err(bad(format!("the cluster id must be an integer, got {c}")));
                }
                let mut out = vec![DataType::Int64];
                for (i, t) in features.iter().enumerate() {
                    if !(t.is_numeric() || t == &DataType::Null) {
                        return Err(bad(format!("feature {} must be numeric, got {t}", i + 1)));
                    }
                    out.push(DataType::Float64);
                }
                Ok(out)
            }
            _ => Err(bad("give the cluster id and at least one feature".into())),
        }
    }

    fn partition_evaluator(
        &self,
        args: PartitionEvaluatorArgs,
    ) -> Result<Box<dyn PartitionEvaluator>> {
        let names = args.input_fields()[1..]
            .iter()
            .map(|f| {
                let name = f.name();
                // "t.orders" or "orders@3" → "orders"
                let name = name.rsplit('.').next().unwrap_or(name);
                name.split('@').next().unwrap_or(name).to_string()
            })
            .collect();
        Ok(Box::new(LabelEvaluator { names }))
    }

    fn field(&self, field_args: WindowUDFFieldArgs) -> Result<FieldRef> {
        Ok(Arc::new(Field::new(
            field_args.name(),
            DataType::Utf8,
            true,
        )))
    }

    fn documentation(&self) -> Option<&Documentation> {
        Some(&DOC)
    }
}

#[derive(Debug)]
struct LabelEvaluator {
    names: Vec<String>,
}

/// Labels per cluster from the cluster means (in z units).
pub(crate) fn describe(names: &[String], z: &[f64]) -> String {
    let mut order: Vec<usize> = (0..z.len()).filter(|&i| z[i].abs() >= MIN_Z).collect();
    order.sort_by(|&a, &b| z[b].abs().total_cmp(&z[a].abs()).then(a.cmp(&b)));
    if order.is_empty() {
        return "typical".to_string();
    }
    order
        .iter()
        .take(MAX_TERMS)
        .map(|&i| format!("{} {}", if z[i] > 0.0 { "high" } else { "low" }, names[i]))
        .collect::<Vec<_>>()
        .join(" · ")
}

impl PartitionEvaluator for LabelEvaluator {
    fn evaluate_all(&mut self, values: &[ArrayRef], num_rows: usize) -> Result<ArrayRef> {
        let clusters = cast(&values[0], &DataType::Int64)?;
        let clusters = clusters.as_primitive::<Int64Type>();
        let (points, rows) = feature_rows("segment_label", &values[1..])?;
        let dim = values.len() - 1;
        let (mean, scale) = column_stats(&points, dim);
        let mut sums: HashMap<i64, (Vec<f64>, usize)> = HashMap::new();
        for (p, &row) in points.chunks_exact(dim).zip(&rows) {
            if clusters.is_null(row) {
                continue;
            }
            let e = sums
                .entry(clusters.value(row))
                .or_insert_with(|| (vec![0.0; dim], 0));
            for (s, v) in e.0.iter_mut().zip(p) {
                *s += v;
            }
            e.1 += 1;
        }
        let labels: HashMap<i64, String> = sums
            .into_iter()
            .map(|(c, (s, n))| {
                let z: Vec<f64> = s
                    .iter()
                    .zip(&mean)
                    .zip(&scale)
                    .map(|((s, m), sd)| (s / n as f64 - m) / sd)
                    .collect();
                (c, describe(&self.names, &z))
            })
            .collect();
        let mut out: Vec<Option<&str>> = vec![None; num_rows];
        for &row in &rows {
            if clusters.is_valid(row) {
                out[row] = labels.get(&clusters.value(row)).map(String::as_str);
            }
        }
        Ok(Arc::new(StringArray::from(out)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_name_the_strongest_deviations() {
        let names: Vec<String> = ["orders", "discount_share", "days_since_last", "age"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(
            describe(&names, &[1.2, 0.1, -2.0, 0.6]),
            "low days_since_last · high orders · high age"
        );
        assert_eq!(describe(&names, &[0.1, -0.2, 0.3, 0.0]), "typical");
    }
}
