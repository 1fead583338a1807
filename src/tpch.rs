//! `sightline tpch`: TPC-H data as Parquet, generated in-process with the `tpchgen` crates (a
//! port of the official dbgen), one directory per table so the catalog serves each as a table.
//! The 22 queries are in `sql-examples/tpch/`.

use std::path::Path;
use std::sync::Arc;

use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::parquet::basic::{Compression, ZstdLevel};
use datafusion::parquet::file::metadata::SortingColumn;
use datafusion::parquet::file::properties::WriterProperties;
use tpchgen::generators::{
    CustomerGenerator, LineItemGenerator, NationGenerator, OrderGenerator, PartGenerator,
    PartSuppGenerator, RegionGenerator, SupplierGenerator,
};
use tpchgen_arrow::{
    CustomerArrow, LineItemArrow, NationArrow, OrderArrow, PartArrow, PartSuppArrow,
    RecordBatchIterator, RegionArrow, SupplierArrow,
};

#[derive(Debug, thiserror::Error)]
pub enum TpchError {
    #[error("scale factor must be positive and at most 1000, got {0}")]
    ScaleFactor(f64),
    #[error("cannot write {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot write Parquet {path}: {source}")]
    Parquet {
        path: String,
        source: datafusion::parquet::errors::ParquetError,
    },
}

/// The Parquet compression codec of the generated files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Codec {
    /// Zstandard (level 1): the benchmarks' files; 25% smaller than Snappy's.
    #[default]
    Zstd,
    /// Snappy: what Spark, pyarrow, pandas and DuckDB write by default; faster to read.
    Snappy,
    /// LZ4 (the raw variant of the Parquet spec).
    Lz4,
    /// No compression.
    None,
}

impl Codec {
    fn parquet(self) -> Compression {
        match self {
            Codec::Snappy => Compression::SNAPPY,
            Codec::Zstd => Compression::ZSTD(ZstdLevel::default()),
            Codec::Lz4 => Compression::LZ4_RAW,
            Codec::None => Compression::UNCOMPRESSED,
        }
    }
}

const TABLES: [&str; 8] = [
    "region", "nation", "supplier", "customer", "part", "partsupp", "orders", "lineitem",
];

/// One part of one table as Arrow batches.
fn batches(table: &str, sf: f64, part: i32, parts: i32) -> Box<dyn RecordBatchIterator> {
    match table {
        "region" => Box::new(RegionArrow::new(RegionGenerator::new(sf, part, parts))),
        "nation" => Box::new(NationArrow::new(NationGenerator::new(sf, part, parts))),
        "supplier" => Box::new(SupplierArrow::new(SupplierGenerator::new(sf, part, parts))),
        "customer" => Box::new(CustomerArrow::new(CustomerGenerator::new(sf, part, parts))),
        "part" => Box::new(PartArrow::new(PartGenerator::new(sf, part, parts))),
        "partsupp" => Box::new(PartSuppArrow::new(PartSuppGenerator::new(sf, part, parts))),
        "orders" => Box::new(OrderArrow::new(OrderGenerator::new(sf, part, parts))),
        _ => Box::new(LineItemArrow::new(LineItemGenerator::new(sf, part, parts))),
    }
}

fn write_part(
    path: &Path,
    codec: Codec,
    schema: SchemaRef,
    rows: impl Iterator<Item = RecordBatch>,
) -> Result<u64, TpchError> {
    let shown = path.display().to_string();
    let file = std::fs::File::create(path).map_err(|source| TpchError::Io {
        path: shown.clone(),
        source,
    })?;
    let props = WriterProperties::builder()
        .set_compression(codec.parquet())
        .set_max_row_group_row_count(Some(1 << 20))
        // Every table is generated in the order of its first column (its key, or the order
        // key for `lineitem`); declaring it lets readers aggregate or merge by it as it comes.
        .set_sorting_columns(Some(vec![SortingColumn {
            column_idx: 0,
            descending: false,
            nulls_first: false,
        }]))
        .build();
    let parquet = |source| TpchError::Parquet {
        path: shown.clone(),
        source,
    };
    let mut writer = ArrowWriter::try_new(file, schema, Some(props)).map_err(parquet)?;
    let mut n = 0;
    for batch in rows {
        n += batch.num_rows() as u64;
        writer.write(&batch).map_err(parquet)?;
    }
    writer.close().map_err(parquet)?;
    Ok(n)
}

/// Writes every table of scale factor `sf` under `out/<table>/part-N.parquet`, the large ones
/// in `parts` files generated in parallel. Returns the row count of each table.
pub fn generate(
    out: &Path,
    sf: f64,
    parts: usize,
    codec: Codec,
) -> Result<Vec<(&'static str, u64)>, TpchError> {
    if !(sf > 0.0 && sf <= 1000.0) {
        return Err(TpchError::ScaleFactor(sf));
    }
    let parts = parts.max(1);
    let mut jobs = Vec::new();
    for table in TABLES {
        let dir = out.join(table);
        std::fs::create_dir_all(&dir).map_err(|source| TpchError::Io {
            path: dir.display().to_string(),
            source,
        })?;
        let n = if matches!(
            table,
            "lineitem" | "orders" | "partsupp" | "part" | "customer"
        ) {
            parts
        } else {
            1
        };
        for p in 1..=n {
            jobs.push((
                table,
                dir.join(format!("part-{p}.parquet")),
                p as i32,
                n as i32,
            ));
        }
    }
    let jobs = Arc::new(std::sync::Mutex::new(jobs));
    let counts = Arc::new(std::sync::Mutex::new(
        std::collections::HashMap::<&str, u64>::new(),
    ));
    std::thread::scope(|scope| -> Result<(), TpchError> {
        let workers: Vec<_> = (0..parts)
            .map(|_| {
                let jobs = Arc::clone(&jobs);
                let counts = Arc::clone(&counts);
                scope.spawn(move || -> Result<(), TpchError> {
                    loop {
                        let job = jobs.lock().ok().and_then(|mut j| j.pop());
                        let Some((table, path, part, n)) = job else {
                            return Ok(());
                        };
                        let rows = batches(table, sf, part, n);
                        let schema = Arc::clone(rows.schema());
                        let written = write_part(&path, codec, schema, rows)?;
                        if let Ok(mut c) = counts.lock() {
                            *c.entry(table).or_default() += written;
                        }
                    }
                })
            })
            .collect();
        for worker in workers {
            match worker.join() {
                Ok(result) => result?,
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        Ok(())
    })?;
    let counts = counts.lock().map(|c| c.clone()).unwrap_or_default();
    Ok(TABLES
        .iter()
        .map(|t| (*t, counts.get(t).copied().unwrap_or(0)))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_scale_has_the_specified_cardinalities() {
        let dir = tempfile::tempdir().unwrap();
        let counts: std::collections::HashMap<_, _> =
            generate(dir.path(), 0.01, 2, Codec::default())
                .unwrap()
                .into_iter()
                .collect();
        // TPC-H: region 5, nation 25, supplier 10k·SF, customer 150k·SF, part 200k·SF,
        // partsupp 800k·SF, orders 1.5M·SF; lineitem about 6M·SF.
        assert_eq!(counts["region"], 5);
        assert_eq!(counts["nation"], 25);
        assert_eq!(counts["supplier"], 100);
        assert_eq!(counts["customer"], 1_500);
        assert_eq!(counts["part"], 2_000);
        assert_eq!(counts["partsupp"], 8_000);
        assert_eq!(counts["orders"], 15_000);
        assert!(
            (55_000..65_000).contains(&counts["lineitem"]),
            "{}",
            counts["lineitem"]
        );
        assert!(dir.path().join("lineitem/part-2.parquet").exists());
        assert!(generate(dir.path(), 0.0, 1, Codec::Zstd).is_err());
    }

    #[test]
    fn files_use_the_chosen_codec() {
        use datafusion::parquet::file::reader::{FileReader, SerializedFileReader};
        for (codec, expected) in [
            (Codec::Zstd, Compression::ZSTD(ZstdLevel::default())),
            (Codec::Snappy, Compression::SNAPPY),
            (Codec::Lz4, Compression::LZ4_RAW),
            (Codec::None, Compression::UNCOMPRESSED),
        ] {
            let dir = tempfile::tempdir().unwrap();
            generate(dir.path(), 0.001, 1, codec).unwrap();
            let file = std::fs::File::open(dir.path().join("orders/part-1.parquet")).unwrap();
            let meta = SerializedFileReader::new(file).unwrap().metadata().clone();
            let used = meta.row_group(0).column(0).compression();
            assert_eq!(used, expected, "{codec:?}");
        }
    }

    #[test]
    fn files_declare_the_order_they_are_in() {
        use datafusion::arrow::array::{Array, Int64Array};
        use datafusion::arrow::compute::cast;
        use datafusion::arrow::datatypes::DataType;
        use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
        let dir = tempfile::tempdir().unwrap();
        generate(dir.path(), 0.01, 2, Codec::default()).unwrap();
        for table in TABLES {
            for entry in std::fs::read_dir(dir.path().join(table)).unwrap() {
                let path = entry.unwrap().path();
                let builder =
                    ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(&path).unwrap())
                        .unwrap();
                for group in builder.metadata().row_groups() {
                    let declared = group.sorting_columns().unwrap();
                    assert_eq!(declared.len(), 1, "{}", path.display());
                    assert_eq!(declared[0].column_idx, 0);
                    assert!(!declared[0].descending);
                }
                let mut last = i64::MIN;
                for batch in builder.build().unwrap() {
                    let keys = cast(batch.unwrap().column(0), &DataType::Int64).unwrap();
                    let keys = keys.as_any().downcast_ref::<Int64Array>().unwrap();
                    assert_eq!(keys.null_count(), 0);
                    for key in keys.values().iter() {
                        assert!(*key >= last, "{} not in key order", path.display());
                        last = *key;
                    }
                }
            }
        }
    }
}
