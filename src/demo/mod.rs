//! `sightline demo`: a deterministic synthetic e-commerce shop written as Parquet.
//!
//! Tables: `customers`, `products`, `events/` (a directory of parts), `touchpoints`, `orders`,
//! `order_items`, `ad_spend`. Planted signals: weekly and yearly seasonality, channels with
//! different conversion and repeat rates, customers who stop buying, product pairs bought
//! together, and a conversion dip in the South region from 2025-11-17 to 2025-12-14.

mod model;
mod sim;

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use datafusion::arrow::array::{
    ArrayRef, BooleanArray, Date32Array, Decimal128Array, Float64Array, Int32Array, Int64Array,
    RecordBatch, StringArray, TimestampMicrosecondArray,
};
use datafusion::arrow::error::ArrowError;
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::parquet::basic::{Compression, ZstdLevel};
use datafusion::parquet::errors::ParquetError;
use datafusion::parquet::file::properties::WriterProperties;
use tracing::info;

pub use model::{DIP_END, DIP_FACTOR, DIP_START, END, START};

/// Bump when the generated data changes, so cached demo directories are regenerated.
pub const DATASET_VERSION: u32 = 1;
const EVENTS_PER_FILE: usize = 1 << 20;
const ROW_GROUP_ROWS: usize = 128 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error("cannot write demo data to {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot encode demo data: {0}")]
    Arrow(#[from] ArrowError),
    #[error("cannot write Parquet: {0}")]
    Parquet(#[from] ParquetError),
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> DemoError + '_ {
    move |source| DemoError::Io {
        path: path.to_owned(),
        source,
    }
}

/// Row counts of what was written, by table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoSummary {
    pub tables: Vec<(&'static str, usize)>,
}

/// Writes the demo dataset for `customers` customers and `seed` into `out` (created if needed).
pub fn write_demo(out: &Path, customers: usize, seed: u64) -> Result<DemoSummary, DemoError> {
    fs::create_dir_all(out).map_err(io_err(out))?;
    let data = sim::generate(customers, seed);
    let mut tables = Vec::new();

    tables.push((
        "customers",
        write_table(&out.join("customers.parquet"), customers_batch(&data)?)?,
    ));
    tables.push((
        "products",
        write_table(&out.join("products.parquet"), products_batch(&data)?)?,
    ));
    let events = events_batch(&data)?;
    let events_dir = out.join("events");
    if events_dir.exists() {
        fs::remove_dir_all(&events_dir).map_err(io_err(&events_dir))?;
    }
    fs::create_dir_all(&events_dir).map_err(io_err(&events_dir))?;
    let mut offset = 0;
    let mut part = 0;
    while offset < events.num_rows() || part == 0 {
        let len = EVENTS_PER_FILE.min(events.num_rows() - offset);
        let path = events_dir.join(format!("part-{part:05}.parquet"));
        write_table(&path, events.slice(offset, len))?;
        offset += len;
        part += 1;
    }
    tables.push(("events", events.num_rows()));
    tables.push((
        "touchpoints",
        write_table(&out.join("touchpoints.parquet"), touchpoints_batch(&data)?)?,
    ));
    tables.push((
        "orders",
        write_table(&out.join("orders.parquet"), orders_batch(&data)?)?,
    ));
    tables.push((
        "order_items",
        write_table(&out.join("order_items.parquet"), order_items_batch(&data)?)?,
    ));
    tables.push((
        "ad_spend",
        write_table(&out.join("ad_spend.parquet"), ad_spend_batch(&data)?)?,
    ));
    Ok(DemoSummary { tables })
}

/// The cached demo directory for these settings, generating it on first use.
pub fn ensure_demo(cache_dir: &Path, customers: usize, seed: u64) -> Result<PathBuf, DemoError> {
    let dir = cache_dir.join(format!("demo-v{DATASET_VERSION}-c{customers}-s{seed}"));
    let marker = dir.join(".complete");
    if marker.exists() {
        return Ok(dir);
    }
    fs::create_dir_all(cache_dir).map_err(io_err(cache_dir))?;
    // Generate beside the target and rename, so a crash never leaves a half-written cache.
    let tmp = cache_dir.join(format!(".tmp-demo-{}-{}", std::process::id(), customers));
    if tmp.exists() {
        fs::remove_dir_all(&tmp).map_err(io_err(&tmp))?;
    }
    info!(customers, seed, dir = %dir.display(), "generating the demo dataset (first use)");
    let started = std::time::Instant::now();
    let summary = write_demo(&tmp, customers, seed)?;
    fs::write(tmp.join(".complete"), format!("{summary:?}\n")).map_err(io_err(&tmp))?;
    if dir.exists() {
        // An older incomplete attempt: replace it.
        fs::remove_dir_all(&dir).map_err(io_err(&dir))?;
    }
    if let Err(e) = fs::rename(&tmp, &dir) {
        // Another process may have won the race; use its copy if it is complete.
        let _ = fs::remove_dir_all(&tmp);
        if !marker.exists() {
            return Err(io_err(&dir)(e));
        }
    }
    info!(
        elapsed_ms = started.elapsed().as_millis() as u64,
        "demo dataset ready"
    );
    Ok(dir)
}

fn write_table(path: &Path, batch: RecordBatch) -> Result<usize, DemoError> {
    let file = fs::File::create(path).map_err(io_err(path))?;
    let props = WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::default()))
        .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
        .set_created_by(format!("sightline demo v{DATASET_VERSION}"))
        .build();
    let mut writer = ArrowWriter::try_new(file, batch.schema(), Some(props))?;
    let mut offset = 0;
    while offset < batch.num_rows() {
        let len = 65_536.min(batch.num_rows() - offset);
        writer.write(&batch.slice(offset, len))?;
        offset += len;
    }
    writer.close()?;
    Ok(batch.num_rows())
}

fn batch(columns: Vec<(&str, ArrayRef)>) -> Result<RecordBatch, ArrowError> {
    RecordBatch::try_from_iter(columns)
}

fn strings<'a>(values: impl IntoIterator<Item = &'a str>) -> ArrayRef {
    Arc::new(StringArray::from_iter_values(values))
}

fn ts(values: &[i64]) -> ArrayRef {
    Arc::new(TimestampMicrosecondArray::from(values.to_vec()))
}

fn money(cents: impl IntoIterator<Item = i64>, precision: u8) -> Result<ArrayRef, ArrowError> {
    let array = Decimal128Array::from_iter_values(cents.into_iter().map(i128::from))
        .with_precision_and_scale(precision, 2)?;
    Ok(Arc::new(array))
}

fn customers_batch(d: &sim::Dataset) -> Result<RecordBatch, ArrowError> {
    let c = &d.customers;
    batch(vec![
        ("customer_id", Arc::new(Int64Array::from(c.id.clone()))),
        (
            "signup_date",
            Arc::new(Date32Array::from_iter_values(
                c.signup_day.iter().map(|&x| model::epoch_day(x)),
            )),
        ),
        (
            "region",
            strings(c.region.iter().map(|&i| model::REGIONS[i].0)),
        ),
        ("city_tier", Arc::new(Int32Array::from(c.city_tier.clone()))),
        (
            "age_band",
            strings(c.age_band.iter().map(|&i| model::AGE_BANDS[i].0)),
        ),
        (
            "acquisition_channel",
            strings(
                c.acquisition_channel
                    .iter()
                    .map(|&i| model::CHANNELS[i].name),
            ),
        ),
        (
            "primary_device",
            strings(c.device.iter().map(|&i| model::DEVICES[i].0)),
        ),
    ])
}

fn products_batch(d: &sim::Dataset) -> Result<RecordBatch, ArrowError> {
    let p = &d.products;
    batch(vec![
        ("product_id", Arc::new(Int64Array::from(p.id.clone()))),
        ("name", strings(p.name.iter().map(String::as_str))),
        (
            "category",
            strings(p.category.iter().map(|&i| model::CATEGORIES[i].name)),
        ),
        ("brand", strings(p.brand.iter().copied())),
        ("price", money(p.price_cents.iter().copied(), 10)?),
    ])
}

fn campaign_names() -> Vec<String> {
    model::CHANNELS
        .iter()
        .flat_map(|c| {
            model::THEMES
                .iter()
                .map(move |t| format!("{}_{t}", c.short))
        })
        .collect()
}

fn campaign(names: &[String], channel: usize, theme: usize) -> &str {
    &names[channel * model::THEMES.len() + theme]
}

fn events_batch(d: &sim::Dataset) -> Result<RecordBatch, ArrowError> {
    let e = &d.events;
    let names = campaign_names();
    batch(vec![
        (
            "event_id",
            Arc::new(Int64Array::from_iter_values(1..=e.ts.len() as i64)),
        ),
        (
            "customer_id",
            Arc::new(Int64Array::from(e.customer_id.clone())),
        ),
        ("ts", ts(&sim::to_epoch_micros(&e.ts))),
        (
            "session_id",
            Arc::new(Int64Array::from(e.session_id.clone())),
        ),
        (
            "event_type",
            strings(e.event_type.iter().map(|&i| model::EVENT_TYPES[i])),
        ),
        (
            "product_id",
            Arc::new(Int64Array::from(e.product_id.clone())),
        ),
        (
            "channel",
            strings(e.channel.iter().map(|&i| model::CHANNELS[i].name)),
        ),
        (
            "campaign",
            strings(
                e.channel
                    .iter()
                    .zip(&e.campaign)
                    .map(|(&c, &t)| campaign(&names, c, t)),
            ),
        ),
        (
            "device",
            strings(e.device.iter().map(|&i| model::DEVICES[i].0)),
        ),
    ])
}

fn touchpoints_batch(d: &sim::Dataset) -> Result<RecordBatch, ArrowError> {
    let t = &d.touchpoints;
    let names = campaign_names();
    batch(vec![
        (
            "customer_id",
            Arc::new(Int64Array::from(t.customer_id.clone())),
        ),
        ("ts", ts(&sim::to_epoch_micros(&t.ts))),
        (
            "channel",
            strings(t.channel.iter().map(|&i| model::CHANNELS[i].name)),
        ),
        (
            "campaign",
            strings(
                t.channel
                    .iter()
                    .zip(&t.campaign)
                    .map(|(&c, &th)| campaign(&names, c, th)),
            ),
        ),
        (
            "touch_type",
            strings(
                t.is_click
                    .iter()
                    .map(|&c| if c { "click" } else { "impression" }),
            ),
        ),
        ("cost", Arc::new(Float64Array::from(t.cost.clone()))),
    ])
}

fn orders_batch(d: &sim::Dataset) -> Result<RecordBatch, ArrowError> {
    let o = &d.orders;
    let totals = o
        .subtotal_cents
        .iter()
        .zip(&o.discount_cents)
        .map(|(s, d)| s - d);
    batch(vec![
        ("order_id", Arc::new(Int64Array::from(o.order_id.clone()))),
        (
            "customer_id",
            Arc::new(Int64Array::from(o.customer_id.clone())),
        ),
        ("ts", ts(&sim::to_epoch_micros(&o.ts))),
        (
            "session_id",
            Arc::new(Int64Array::from(o.session_id.clone())),
        ),
        (
            "channel",
            strings(o.channel.iter().map(|&i| model::CHANNELS[i].name)),
        ),
        (
            "device",
            strings(o.device.iter().map(|&i| model::DEVICES[i].0)),
        ),
        ("items", Arc::new(Int32Array::from(o.items.clone()))),
        ("subtotal", money(o.subtotal_cents.iter().copied(), 12)?),
        ("discount", money(o.discount_cents.iter().copied(), 12)?),
        ("total", money(totals, 12)?),
        ("coupon_code", Arc::new(StringArray::from(o.coupon.clone()))),
        (
            "used_coupon",
            Arc::new(BooleanArray::from_iter(
                o.coupon.iter().map(|c| Some(c.is_some())),
            )),
        ),
    ])
}

fn order_items_batch(d: &sim::Dataset) -> Result<RecordBatch, ArrowError> {
    let i = &d.order_items;
    batch(vec![
        ("order_id", Arc::new(Int64Array::from(i.order_id.clone()))),
        ("line", Arc::new(Int32Array::from(i.line.clone()))),
        (
            "product_id",
            Arc::new(Int64Array::from(i.product_id.clone())),
        ),
        ("quantity", Arc::new(Int32Array::from(i.quantity.clone()))),
        ("unit_price", money(i.unit_price_cents.iter().copied(), 10)?),
        ("discount", money(i.discount_cents.iter().copied(), 10)?),
    ])
}

fn ad_spend_batch(d: &sim::Dataset) -> Result<RecordBatch, ArrowError> {
    let names = campaign_names();
    let rows: Vec<_> = d.ad_spend.iter().collect();
    batch(vec![
        (
            "day",
            Arc::new(Date32Array::from_iter_values(
                rows.iter().map(|((day, _, _), _)| model::epoch_day(*day)),
            )),
        ),
        (
            "channel",
            strings(rows.iter().map(|((_, c, _), _)| model::CHANNELS[*c].name)),
        ),
        (
            "campaign",
            strings(rows.iter().map(|((_, c, t), _)| campaign(&names, *c, *t))),
        ),
        (
            "impressions",
            Arc::new(Int64Array::from_iter_values(rows.iter().map(|(_, v)| v.0))),
        ),
        (
            "clicks",
            Arc::new(Int64Array::from_iter_values(rows.iter().map(|(_, v)| v.1))),
        ),
        (
            "spend",
            Arc::new(Float64Array::from_iter_values(
                rows.iter().map(|(_, v)| (v.2 * 100.0).round() / 100.0),
            )),
        ),
    ])
}
