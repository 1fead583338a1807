//! k-means: Sightline's kernel (through `kmeans_centroids`, as SQL runs it) against
//! linfa-clustering's `KMeans` on the same standardised data, same k, same number of restarts
//! and tolerance. Reports wall time (best of 3) and inertia for both.
//!
//!     CARGO_TARGET_DIR=… cargo bench -p sightline-udfs --bench kmeans_vs_linfa [-- ROWS]

use std::sync::Arc;
use std::time::Instant;

use datafusion::arrow::array::{ArrayRef, AsArray, Float64Array, RecordBatch};
use datafusion::arrow::datatypes::{DataType, Field, Float64Type, Schema};
use datafusion::datasource::MemTable;
use datafusion::prelude::SessionContext;
use linfa::traits::Fit;
use linfa::DatasetBase;
use linfa_clustering::KMeans;
use ndarray::Array2;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const DIM: usize = 8;
const K: usize = 8;
const RESTARTS: usize = 4;

/// Eight Gaussian clusters of different sizes and spreads.
fn data(rows: usize) -> Vec<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let centres: Vec<[f64; DIM]> = (0..K)
        .map(|_| std::array::from_fn(|_| rng.random_range(-6.0..6.0)))
        .collect();
    let mut out = Vec::with_capacity(rows * DIM);
    for _ in 0..rows {
        let c = (rng.random::<f64>().powi(2) * K as f64) as usize;
        let spread = 0.8 + c as f64 * 0.3;
        for centre in centres[c] {
            // Sum of uniforms: close enough to Gaussian for a benchmark.
            let noise: f64 = (0..4).map(|_| rng.random::<f64>() - 0.5).sum::<f64>();
            out.push(centre + spread * noise);
        }
    }
    out
}

fn standardised(points: &[f64]) -> Array2<f64> {
    let rows = points.len() / DIM;
    let mut a = Array2::from_shape_vec((rows, DIM), points.to_vec()).expect("shape");
    for mut col in a.columns_mut() {
        let mean = col.mean().unwrap_or(0.0);
        let sd = col
            .mapv(|v| (v - mean) * (v - mean))
            .mean()
            .unwrap_or(1.0)
            .sqrt();
        col.mapv_inplace(|v| (v - mean) / if sd > 0.0 { sd } else { 1.0 });
    }
    a
}

async fn ours(points: &[f64]) -> (f64, f64) {
    let rows = points.len() / DIM;
    let schema = Arc::new(Schema::new(
        (0..DIM)
            .map(|d| Field::new(format!("f{d}"), DataType::Float64, false))
            .collect::<Vec<_>>(),
    ));
    let columns: Vec<ArrayRef> = (0..DIM)
        .map(|d| {
            Arc::new(Float64Array::from_iter_values(
                (0..rows).map(|r| points[r * DIM + d]),
            )) as ArrayRef
        })
        .collect();
    let batch = RecordBatch::try_new(schema.clone(), columns).expect("batch");
    let ctx = SessionContext::new();
    sightline_udfs::register_all(&ctx).expect("register");
    ctx.register_table(
        "t",
        Arc::new(MemTable::try_new(schema, vec![vec![batch]]).expect("table")),
    )
    .expect("register table");
    let cols: Vec<String> = (0..DIM).map(|d| format!("f{d}")).collect();
    let sql = format!(
        "SELECT sum(c['inertia']) FROM (SELECT unnest(kmeans_centroids({K}, 'n_init={RESTARTS}', {})) AS c FROM t)",
        cols.join(", ")
    );
    let start = Instant::now();
    let batches = ctx
        .sql(&sql)
        .await
        .expect("sql")
        .collect()
        .await
        .expect("run");
    let seconds = start.elapsed().as_secs_f64();
    (
        seconds,
        batches[0].column(0).as_primitive::<Float64Type>().value(0),
    )
}

fn linfa(x: &Array2<f64>) -> (f64, f64) {
    let dataset = DatasetBase::from(x.clone());
    let start = Instant::now();
    let model = KMeans::params(K)
        .n_runs(RESTARTS)
        .tolerance(1e-4)
        .max_n_iterations(300)
        .fit(&dataset)
        .expect("linfa fit");
    let seconds = start.elapsed().as_secs_f64();
    // linfa reports the mean squared distance per point; scale to the sum.
    (seconds, model.inertia() * x.nrows() as f64)
}

#[tokio::main]
async fn main() {
    let rows: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let points = data(rows);
    let x = standardised(&points);
    let (mut best_ours, mut best_linfa) = ((f64::INFINITY, 0.0), (f64::INFINITY, 0.0));
    for _ in 0..3 {
        let o = ours(&points).await;
        if o.0 < best_ours.0 {
            best_ours = o;
        }
        let l = linfa(&x);
        if l.0 < best_linfa.0 {
            best_linfa = l;
        }
    }
    println!("k-means, {rows} rows x {DIM} features, k = {K}, {RESTARTS} restarts, best of 3");
    println!(
        "sightline kmeans_centroids: {:.3} s, inertia {:.1}",
        best_ours.0, best_ours.1
    );
    println!(
        "linfa-clustering KMeans:    {:.3} s, inertia {:.1}",
        best_linfa.0, best_linfa.1
    );
    println!(
        "time ratio sightline/linfa x{:.2}, inertia ratio x{:.4}",
        best_ours.0 / best_linfa.0,
        best_ours.1 / best_linfa.1
    );
}
