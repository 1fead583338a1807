//! `kmeans_cluster(k, [options,] f1, …, fn) OVER (PARTITION BY …)` → INT: each row's k-means
//! cluster, one model fitted per window partition.

use std::sync::{Arc, LazyLock};

use datafusion::arrow::array::{ArrayRef, Int32Array};
use datafusion::arrow::datatypes::{DataType, Field, FieldRef};
use datafusion::error::Result;
use datafusion::logical_expr::function::{PartitionEvaluatorArgs, WindowUDFFieldArgs};
use datafusion::logical_expr::{
    Documentation, PartitionEvaluator, Signature, Volatility, WindowUDF, WindowUDFImpl,
};

use super::kmeans::{fit, fit_auto, Options};
use super::{coerce_kmeans_args, feature_rows, kmeans_call};

pub(crate) const USAGE: &str = "kmeans_cluster(k, ['options',] f1, …, fn) OVER (PARTITION BY …) — \
    e.g. kmeans_cluster(4, orders, revenue, days_since_last) OVER (); k = 0 chooses k (2 to 8) by \
    silhouette; options such as 'standardize=false, n_init=10, seed=7'";

pub(crate) const ALGORITHM_DOC: &str = "Features are z-score standardised per partition (population \
    standard deviation; a constant feature contributes nothing) unless 'standardize=false'. \
    Seeding is greedy k-means++ (scikit-learn's), then Lloyd iterations to convergence (at most \
    max_iter=300), best of n_init=4 restarts by inertia; seed=0. Rows are put in a canonical order \
    first, so the result does not depend on row order or thread count. Clusters are numbered 0..k-1 \
    by size, largest first (ties by centroid). k is capped at the number of distinct points. \
    k = 0 picks k in 2..8 with the highest mean silhouette (over an evenly spaced sample of at most \
    2000 points). Rows with a NULL feature are skipped (NULL cluster); NaN/infinite features are an \
    error (22000).";

static DOC: LazyLock<Documentation> = LazyLock::new(|| {
    Documentation::builder(
        super::DOC_SECTION_SEGMENT,
        format!("Window function: the k-means cluster (0..k-1) of each row, one model per window partition. {ALGORITHM_DOC} Checked against scikit-learn KMeans."),
        USAGE,
    )
    .with_sql_example(
        "SELECT customer_id, kmeans_cluster(4, orders, revenue, days_since_last) OVER () AS cluster\nFROM customer_features",
    )
    .with_argument("k", "Constant integer: number of clusters (1 to 1000), or 0 to choose.")
    .with_argument("options", "Optional constant text: standardize=true|false, n_init=N, max_iter=N, seed=N.")
    .with_argument("f1, …, fn", "Numeric features.")
    .build()
});

#[derive(Debug, PartialEq, Eq, Hash)]
pub struct KmeansCluster {
    signature: Signature,
}

pub fn kmeans_cluster_udwf() -> Arc<WindowUDF> {
    static UDWF: LazyLock<Arc<WindowUDF>> = LazyLock::new(|| {
        Arc::new(WindowUDF::from(KmeansCluster {
            signature: Signature::user_defined(Volatility::Immutable),
        }))
    });
    Arc::clone(&UDWF)
}

impl WindowUDFImpl for KmeansCluster {
    fn name(&self) -> &str {
        "kmeans_cluster"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        coerce_kmeans_args("kmeans_cluster", arg_types, USAGE)
    }

    fn partition_evaluator(
        &self,
        args: PartitionEvaluatorArgs,
    ) -> Result<Box<dyn PartitionEvaluator>> {
        let types: Vec<DataType> = args
            .input_fields()
            .iter()
            .map(|f| f.data_type().clone())
            .collect();
        let (k, options, start) = kmeans_call("kmeans_cluster", args.input_exprs(), &types, USAGE)?;
        Ok(Box::new(ClusterEvaluator { k, options, start }))
    }

    fn field(&self, field_args: WindowUDFFieldArgs) -> Result<FieldRef> {
        Ok(Arc::new(Field::new(
            field_args.name(),
            DataType::Int32,
            true,
        )))
    }

    fn documentation(&self) -> Option<&Documentation> {
        Some(&DOC)
    }
}

#[derive(Debug)]
struct ClusterEvaluator {
    k: usize,
    options: Options,
    start: usize,
}

impl PartitionEvaluator for ClusterEvaluator {
    fn evaluate_all(&mut self, values: &[ArrayRef], num_rows: usize) -> Result<ArrayRef> {
        let features = &values[self.start..];
        let (points, rows) = feature_rows("kmeans_cluster", features)?;
        let dim = features.len();
        let fitted = if self.k == 0 {
            fit_auto(&points, dim, &self.options).0
        } else {
            fit(&points, dim, self.k, &self.options)
        };
        let mut out: Vec<Option<i32>> = vec![None; num_rows];
        for (row, label) in rows.into_iter().zip(fitted.labels) {
            out[row] = Some(label as i32);
        }
        Ok(Arc::new(Int32Array::from(out)))
    }
}
