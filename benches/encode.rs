//! Result-row encoding, rows/s: Sightline's batch encoder (`server::encode`) against arrow-pg's
//! per-value one (what datafusion-postgres sends rows with), on TPC-H `lineitem` rows (SF 0.01,
//! 60,175 rows in 8,192-row batches, generated once outside the timed loop), in text and in
//! binary format.
//!
//!     cargo bench --bench encode
//!
//! Criterion reports both as throughput (rows/s); the ratio of the two is the figure to quote.

use std::hint::black_box;
use std::sync::Arc;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use datafusion::arrow::array::RecordBatch;
use datafusion_postgres::arrow_pg::datatypes::{arrow_schema_to_pg_fields, encode_recordbatch};
use datafusion_postgres::pgwire::api::portal::Format;
use datafusion_postgres::pgwire::types::format::FormatOptions;
use sightline::server::encode::encode_batch;
use tpchgen::generators::LineItemGenerator;
use tpchgen_arrow::LineItemArrow;

fn lineitem() -> Vec<RecordBatch> {
    LineItemArrow::new(LineItemGenerator::new(0.01, 1, 1))
        .with_batch_size(8192)
        .collect()
}

fn encode(c: &mut Criterion) {
    let batches = lineitem();
    let rows: usize = batches.iter().map(RecordBatch::num_rows).sum();
    let schema = batches[0].schema();
    for (label, format) in [
        ("text", Format::UnifiedText),
        ("binary", Format::UnifiedBinary),
    ] {
        let fields = Arc::new(
            arrow_schema_to_pg_fields(&schema, &format, Some(Arc::new(FormatOptions::default())))
                .expect("lineitem's types map to PostgreSQL types"),
        );
        let mut group = c.benchmark_group(format!("encode_lineitem_{label}"));
        group.throughput(Throughput::Elements(rows as u64));
        group.bench_function("sightline", |b| {
            b.iter(|| {
                for batch in &batches {
                    black_box(encode_batch(batch, &fields).expect("encodes"));
                }
            })
        });
        group.bench_function("arrow-pg", |b| {
            b.iter(|| {
                for batch in &batches {
                    for row in encode_recordbatch(Arc::clone(&fields), batch.clone()) {
                        black_box(row.expect("encodes"));
                    }
                }
            })
        });
        group.finish();
    }
}

criterion_group!(benches, encode);
criterion_main!(benches);
