//! Arrow record batches to PostgreSQL DataRows, a batch at a time.
//!
//! arrow-pg encodes one value at a time through a generic dispatch (type match, downcast,
//! `chrono` format strings, `rust_decimal` conversion) and allocates per row; streaming a big
//! table spent most of its time there. Here each column is downcast once per batch, the common
//! text encodings (integers, strings, booleans, ISO dates and timestamps, decimals) are written
//! directly into one buffer per batch, the common binary ones through the same `ToSql` impls
//! arrow-pg would reach, and every other value — other types, other DateStyles, out-of-range
//! values — goes through arrow-pg's own `encode_value`, so the output is byte for byte what
//! arrow-pg produces (the tests below compare the two).

use std::sync::Arc;

use bytes::{BufMut, BytesMut};
use chrono::{Datelike, NaiveDate, NaiveDateTime, Timelike};
use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, Date32Array, Decimal128Array, Float32Array,
    Float64Array, LargeStringArray, PrimitiveArray, RecordBatch, StringArray, StringViewArray,
    TimestampMicrosecondArray, TimestampMillisecondArray, TimestampNanosecondArray,
    TimestampSecondArray,
};
use datafusion::arrow::datatypes::{
    ArrowPrimitiveType, DataType, Field, Int16Type, Int32Type, Int64Type, Int8Type, TimeUnit,
    UInt16Type, UInt32Type, UInt64Type, UInt8Type,
};
use datafusion_postgres::arrow_pg::encoder::{encode_value, Encoder};
use datafusion_postgres::pgwire::api::results::{FieldFormat, FieldInfo};
use datafusion_postgres::pgwire::api::Type;
use datafusion_postgres::pgwire::error::PgWireResult;
use datafusion_postgres::pgwire::messages::data::DataRow;
use datafusion_postgres::pgwire::types::format::date_style::DateStyle;
use datafusion_postgres::pgwire::types::ToSqlText;
use tokio_postgres::types::{IsNull, Kind, ToSql};

/// Row bytes being built: fields as (i32 length, bytes), length -1 for NULL.
struct RowBuffer {
    buf: BytesMut,
}

impl RowBuffer {
    /// Writes a non-NULL field whose bytes `write` appends.
    #[inline]
    fn field(&mut self, write: impl FnOnce(&mut BytesMut)) {
        let at = self.buf.len();
        self.buf.put_i32(0);
        write(&mut self.buf);
        let len = (self.buf.len() - at - 4) as i32;
        self.buf[at..at + 4].copy_from_slice(&len.to_be_bytes());
    }

    #[inline]
    fn null(&mut self) {
        self.buf.put_i32(-1);
    }
}

/// arrow-pg writes the values we do not handle through this, into the same buffer.
impl Encoder for RowBuffer {
    type Item = ();

    fn encode_field<T>(&mut self, value: &T, pg_field: &FieldInfo) -> PgWireResult<()>
    where
        T: ToSql + ToSqlText + Sized,
    {
        let at = self.buf.len();
        self.buf.put_i32(-1);
        let is_null = if pg_field.format() == FieldFormat::Text {
            value.to_sql_text(
                pg_field.datatype(),
                &mut self.buf,
                pg_field.format_options(),
            )?
        } else {
            value.to_sql(pg_field.datatype(), &mut self.buf)?
        };
        if let IsNull::No = is_null {
            let len = (self.buf.len() - at - 4) as i32;
            self.buf[at..at + 4].copy_from_slice(&len.to_be_bytes());
        }
        Ok(())
    }

    fn take_row(&mut self) -> Self::Item {}
}

/// How one column's values are written.
enum Column<'a> {
    Int8(&'a PrimitiveArray<Int8Type>),
    Int16(&'a PrimitiveArray<Int16Type>),
    Int32(&'a PrimitiveArray<Int32Type>),
    Int64(&'a PrimitiveArray<Int64Type>),
    UInt8(&'a PrimitiveArray<UInt8Type>),
    UInt16(&'a PrimitiveArray<UInt16Type>),
    UInt32(&'a PrimitiveArray<UInt32Type>),
    UInt64(&'a PrimitiveArray<UInt64Type>),
    Float32(&'a Float32Array),
    Float64(&'a Float64Array),
    Bool(&'a BooleanArray),
    Utf8(&'a StringArray),
    LargeUtf8(&'a LargeStringArray),
    Utf8View(&'a StringViewArray),
    /// ISO DateStyle only.
    Date32(&'a Date32Array),
    /// Naive timestamps in ISO DateStyle only.
    Timestamp(Timestamps<'a>),
    Decimal(&'a Decimal128Array, u32),
    /// Binary format: the same value types arrow-pg would pass to `postgres_types::ToSql`,
    /// minus its per-value dispatch. (Strings are the same bytes in both formats.)
    BinInt16(&'a PrimitiveArray<Int16Type>),
    BinInt32(&'a PrimitiveArray<Int32Type>),
    BinInt64(&'a PrimitiveArray<Int64Type>),
    BinFloat32(&'a Float32Array),
    BinFloat64(&'a Float64Array),
    BinBool(&'a BooleanArray),
    BinDate32(&'a Date32Array),
    BinTimestamp(Timestamps<'a>),
    BinDecimal(&'a Decimal128Array, u32),
    /// arrow-pg's per-value path.
    Other,
}

/// A column of the batch, with what arrow-pg needs for the values it writes.
struct Col<'a> {
    kind: Column<'a>,
    array: &'a ArrayRef,
    field: &'a Field,
    pg: &'a FieldInfo,
}

impl Col<'_> {
    /// arrow-pg's answer (or its error) for this value.
    fn other(&self, row: &mut RowBuffer, i: usize) -> PgWireResult<()> {
        encode_value(row, self.array, i, self.field, self.pg)
    }
}

enum Timestamps<'a> {
    Second(&'a TimestampSecondArray),
    Millisecond(&'a TimestampMillisecondArray),
    Microsecond(&'a TimestampMicrosecondArray),
    Nanosecond(&'a TimestampNanosecondArray),
}

impl Timestamps<'_> {
    fn value(&self, i: usize) -> Option<NaiveDateTime> {
        match self {
            Timestamps::Second(a) => a.value_as_datetime(i),
            Timestamps::Millisecond(a) => a.value_as_datetime(i),
            Timestamps::Microsecond(a) => a.value_as_datetime(i),
            Timestamps::Nanosecond(a) => a.value_as_datetime(i),
        }
    }
}

/// rust_decimal's limits, beyond which arrow-pg reports 22003; those go through arrow-pg.
const DECIMAL_MAX_MANTISSA: u128 = 79_228_162_514_264_337_593_543_950_335;
const DECIMAL_MAX_SCALE: i8 = 28;

fn timestamps<'a>(array: &'a ArrayRef, unit: &TimeUnit) -> Timestamps<'a> {
    match unit {
        TimeUnit::Second => Timestamps::Second(array.as_primitive()),
        TimeUnit::Millisecond => Timestamps::Millisecond(array.as_primitive()),
        TimeUnit::Microsecond => Timestamps::Microsecond(array.as_primitive()),
        TimeUnit::Nanosecond => Timestamps::Nanosecond(array.as_primitive()),
    }
}

fn column<'a>(array: &'a ArrayRef, pg: &'a FieldInfo) -> Column<'a> {
    if matches!(pg.datatype().kind(), Kind::Array(_)) {
        return Column::Other;
    }
    let ty = pg.datatype();
    if pg.format() == FieldFormat::Binary {
        return match array.data_type() {
            DataType::Int16 if *ty == Type::INT2 => Column::BinInt16(array.as_primitive()),
            DataType::Int32 if *ty == Type::INT4 => Column::BinInt32(array.as_primitive()),
            DataType::Int64 if *ty == Type::INT8 => Column::BinInt64(array.as_primitive()),
            DataType::Float32 if *ty == Type::FLOAT4 => Column::BinFloat32(array.as_primitive()),
            DataType::Float64 if *ty == Type::FLOAT8 => Column::BinFloat64(array.as_primitive()),
            DataType::Boolean if *ty == Type::BOOL => Column::BinBool(array.as_boolean()),
            DataType::Utf8 if *ty == Type::TEXT || *ty == Type::VARCHAR => {
                Column::Utf8(array.as_string())
            }
            DataType::LargeUtf8 if *ty == Type::TEXT || *ty == Type::VARCHAR => {
                Column::LargeUtf8(array.as_string())
            }
            DataType::Utf8View if *ty == Type::TEXT || *ty == Type::VARCHAR => {
                Column::Utf8View(array.as_string_view())
            }
            DataType::Date32 if *ty == Type::DATE => Column::BinDate32(array.as_primitive()),
            DataType::Timestamp(unit, None) if *ty == Type::TIMESTAMP => {
                Column::BinTimestamp(timestamps(array, unit))
            }
            DataType::Decimal128(_, scale)
                if (0..=DECIMAL_MAX_SCALE).contains(scale) && *ty == Type::NUMERIC =>
            {
                Column::BinDecimal(array.as_primitive(), *scale as u32)
            }
            _ => Column::Other,
        };
    }
    let iso = || {
        DateStyle::new(&pg.format_options().date_style).date_format_str() == "%Y-%m-%d"
            && DateStyle::new(&pg.format_options().date_style).full_format_str()
                == "%Y-%m-%d %H:%M:%S%.6f"
    };
    match array.data_type() {
        DataType::Int8 => Column::Int8(array.as_primitive()),
        DataType::Int16 => Column::Int16(array.as_primitive()),
        DataType::Int32 => Column::Int32(array.as_primitive()),
        DataType::Int64 => Column::Int64(array.as_primitive()),
        DataType::UInt8 => Column::UInt8(array.as_primitive()),
        DataType::UInt16 => Column::UInt16(array.as_primitive()),
        DataType::UInt32 => Column::UInt32(array.as_primitive()),
        DataType::UInt64 => Column::UInt64(array.as_primitive()),
        DataType::Float32 => Column::Float32(array.as_primitive()),
        DataType::Float64 => Column::Float64(array.as_primitive()),
        DataType::Boolean => Column::Bool(array.as_boolean()),
        DataType::Utf8 => Column::Utf8(array.as_string()),
        DataType::LargeUtf8 => Column::LargeUtf8(array.as_string()),
        DataType::Utf8View => Column::Utf8View(array.as_string_view()),
        DataType::Date32 if *ty == Type::DATE && iso() => Column::Date32(array.as_primitive()),
        DataType::Timestamp(unit, None) if *ty == Type::TIMESTAMP && iso() => {
            Column::Timestamp(timestamps(array, unit))
        }
        DataType::Decimal128(_, scale)
            if (0..=DECIMAL_MAX_SCALE).contains(scale) && *ty == Type::NUMERIC =>
        {
            Column::Decimal(array.as_primitive(), *scale as u32)
        }
        _ => Column::Other,
    }
}

/// A binary value through its `ToSql` (errors, such as a date too far out, go through arrow-pg).
#[inline]
fn binary<T: ToSql>(
    row: &mut RowBuffer,
    col: &Col,
    i: usize,
    value: Option<T>,
) -> PgWireResult<()> {
    let Some(value) = value else {
        return col.other(row, i);
    };
    let at = row.buf.len();
    row.buf.put_i32(0);
    match value.to_sql(col.pg.datatype(), &mut row.buf) {
        Ok(_) => {
            let len = (row.buf.len() - at - 4) as i32;
            row.buf[at..at + 4].copy_from_slice(&len.to_be_bytes());
            Ok(())
        }
        Err(_) => {
            row.buf.truncate(at);
            col.other(row, i)
        }
    }
}

#[inline]
fn int<T: ArrowPrimitiveType>(row: &mut RowBuffer, a: &PrimitiveArray<T>, i: usize)
where
    T::Native: itoa::Integer,
{
    if a.is_null(i) {
        row.null();
    } else {
        let mut digits = itoa::Buffer::new();
        let text = digits.format(a.value(i));
        row.field(|b| b.put_slice(text.as_bytes()));
    }
}

#[inline]
fn text(row: &mut RowBuffer, value: Option<&str>) {
    match value {
        Some(s) => row.field(|b| b.put_slice(s.as_bytes())),
        None => row.null(),
    }
}

fn two(b: &mut BytesMut, v: u32) {
    b.put_slice(&[b'0' + (v / 10) as u8, b'0' + (v % 10) as u8]);
}

fn four(b: &mut BytesMut, v: u32) {
    b.put_slice(&[
        b'0' + (v / 1000) as u8,
        b'0' + (v / 100 % 10) as u8,
        b'0' + (v / 10 % 10) as u8,
        b'0' + (v % 10) as u8,
    ]);
}

/// `YYYY-MM-DD`, as chrono's `%Y-%m-%d` writes years 0..=9999.
fn iso_date(b: &mut BytesMut, d: &NaiveDate) {
    four(b, d.year() as u32);
    b.put_u8(b'-');
    two(b, d.month());
    b.put_u8(b'-');
    two(b, d.day());
}

/// `%Y-%m-%d %H:%M:%S%.6f`.
fn iso_timestamp(b: &mut BytesMut, t: &NaiveDateTime) {
    iso_date(b, &t.date());
    b.put_u8(b' ');
    two(b, t.hour());
    b.put_u8(b':');
    two(b, t.minute());
    b.put_u8(b':');
    two(b, t.second());
    b.put_u8(b'.');
    let micros = t.nanosecond() / 1000;
    two(b, micros / 10_000);
    two(b, micros / 100 % 100);
    two(b, micros % 100);
}

/// rust_decimal's Display: the digits with a point `scale` from the right, at least one
/// digit before it, trailing zeros kept.
fn decimal(b: &mut BytesMut, value: i128, scale: u32) {
    if value < 0 {
        b.put_u8(b'-');
    }
    let mut digits = itoa::Buffer::new();
    let text = digits.format(value.unsigned_abs()).as_bytes();
    let scale = scale as usize;
    if scale == 0 {
        b.put_slice(text);
    } else if text.len() > scale {
        let (int, frac) = text.split_at(text.len() - scale);
        b.put_slice(int);
        b.put_u8(b'.');
        b.put_slice(frac);
    } else {
        b.put_slice(b"0.");
        b.put_bytes(b'0', scale - text.len());
        b.put_slice(text);
    }
}

fn years_0_to_9999(d: &NaiveDate) -> bool {
    (0..=9999).contains(&d.year())
}

/// Encodes every row of `batch` with `fields` (its PostgreSQL field descriptions).
pub fn encode_batch(
    batch: &RecordBatch,
    fields: &Arc<Vec<FieldInfo>>,
) -> PgWireResult<Vec<DataRow>> {
    let schema = batch.schema();
    let columns: Vec<Col> = batch
        .columns()
        .iter()
        .zip(schema.fields().iter())
        .zip(fields.iter())
        .map(|((array, field), pg)| Col {
            kind: column(array, pg),
            array,
            field,
            pg,
        })
        .collect();
    let rows = batch.num_rows();
    let count = columns.len() as i16;
    // A guess that avoids most regrowth; the buffer is split into rows that share it.
    let mut row = RowBuffer {
        buf: BytesMut::with_capacity(rows * (columns.len() * 12 + 8)),
    };
    let mut out = Vec::with_capacity(rows);
    for i in 0..rows {
        for col in &columns {
            match &col.kind {
                Column::Int8(a) => int(&mut row, *a, i),
                Column::Int16(a) => int(&mut row, *a, i),
                Column::Int32(a) => int(&mut row, *a, i),
                Column::Int64(a) => int(&mut row, *a, i),
                Column::UInt8(a) => int(&mut row, *a, i),
                Column::UInt16(a) => int(&mut row, *a, i),
                Column::UInt32(a) => int(&mut row, *a, i),
                Column::UInt64(a) => int(&mut row, *a, i),
                Column::Float32(a) => {
                    let value = (!a.is_null(i)).then(|| a.value(i));
                    row.encode_field(&value, col.pg)?;
                }
                Column::Float64(a) => {
                    let value = (!a.is_null(i)).then(|| a.value(i));
                    row.encode_field(&value, col.pg)?;
                }
                Column::Bool(a) => match a.is_null(i) {
                    true => row.null(),
                    false => row.field(|b| b.put_u8(if a.value(i) { b't' } else { b'f' })),
                },
                Column::Utf8(a) => text(&mut row, (!a.is_null(i)).then(|| a.value(i))),
                Column::LargeUtf8(a) => text(&mut row, (!a.is_null(i)).then(|| a.value(i))),
                Column::Utf8View(a) => text(&mut row, (!a.is_null(i)).then(|| a.value(i))),
                Column::Date32(a) => match a.is_null(i) {
                    true => row.null(),
                    false => match a.value_as_date(i) {
                        Some(d) if years_0_to_9999(&d) => row.field(|b| iso_date(b, &d)),
                        _ => col.other(&mut row, i)?,
                    },
                },
                Column::Timestamp(a) => {
                    if col.array.is_null(i) {
                        row.null();
                    } else {
                        match a.value(i) {
                            Some(t) if years_0_to_9999(&t.date()) => {
                                row.field(|b| iso_timestamp(b, &t))
                            }
                            _ => col.other(&mut row, i)?,
                        }
                    }
                }
                Column::Decimal(a, scale) => match a.is_null(i) {
                    true => row.null(),
                    false => {
                        let v = a.value(i);
                        if v.unsigned_abs() <= DECIMAL_MAX_MANTISSA {
                            row.field(|b| decimal(b, v, *scale));
                        } else {
                            col.other(&mut row, i)?;
                        }
                    }
                },
                Column::BinInt16(a) => match a.is_null(i) {
                    true => row.null(),
                    false => row.field(|b| b.put_i16(a.value(i))),
                },
                Column::BinInt32(a) => match a.is_null(i) {
                    true => row.null(),
                    false => row.field(|b| b.put_i32(a.value(i))),
                },
                Column::BinInt64(a) => match a.is_null(i) {
                    true => row.null(),
                    false => row.field(|b| b.put_i64(a.value(i))),
                },
                Column::BinFloat32(a) => match a.is_null(i) {
                    true => row.null(),
                    false => row.field(|b| b.put_f32(a.value(i))),
                },
                Column::BinFloat64(a) => match a.is_null(i) {
                    true => row.null(),
                    false => row.field(|b| b.put_f64(a.value(i))),
                },
                Column::BinBool(a) => match a.is_null(i) {
                    true => row.null(),
                    false => row.field(|b| b.put_u8(u8::from(a.value(i)))),
                },
                Column::BinDate32(a) => match a.is_null(i) {
                    true => row.null(),
                    false => binary(&mut row, col, i, a.value_as_date(i))?,
                },
                Column::BinTimestamp(a) => match col.array.is_null(i) {
                    true => row.null(),
                    false => binary(&mut row, col, i, a.value(i))?,
                },
                Column::BinDecimal(a, scale) => match a.is_null(i) {
                    true => row.null(),
                    false => {
                        let value =
                            rust_decimal::Decimal::try_from_i128_with_scale(a.value(i), *scale);
                        binary(&mut row, col, i, value.ok())?
                    }
                },
                Column::Other => col.other(&mut row, i)?,
            }
        }
        out.push(DataRow::new(row.buf.split(), count));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{
        Date32Array, Decimal128Array, Float32Array, Float64Array, Int16Array, Int32Array,
        Int64Array, Int8Array, LargeStringArray, ListArray, StringViewArray, UInt16Array,
        UInt32Array, UInt64Array, UInt8Array,
    };
    use datafusion::arrow::datatypes::{Int32Type as I32, Schema};
    use datafusion_postgres::arrow_pg::datatypes::{arrow_schema_to_pg_fields, encode_recordbatch};
    use datafusion_postgres::pgwire::api::portal::Format;
    use datafusion_postgres::pgwire::types::format::FormatOptions;

    fn batch() -> RecordBatch {
        let columns: Vec<(&str, ArrayRef)> = vec![
            (
                "i8",
                Arc::new(Int8Array::from(vec![
                    Some(i8::MIN),
                    None,
                    Some(0),
                    Some(7),
                    Some(i8::MAX),
                    Some(-1),
                ])),
            ),
            (
                "i16",
                Arc::new(Int16Array::from(vec![
                    Some(i16::MIN),
                    Some(-5),
                    None,
                    Some(0),
                    Some(i16::MAX),
                    Some(42),
                ])),
            ),
            (
                "i32",
                Arc::new(Int32Array::from(vec![
                    Some(i32::MIN),
                    Some(-5),
                    Some(1),
                    None,
                    Some(i32::MAX),
                    Some(0),
                ])),
            ),
            (
                "i64",
                Arc::new(Int64Array::from(vec![
                    Some(i64::MIN),
                    Some(-5),
                    Some(1),
                    Some(10),
                    None,
                    Some(i64::MAX),
                ])),
            ),
            (
                "u8",
                Arc::new(UInt8Array::from(vec![
                    Some(0),
                    Some(255),
                    None,
                    Some(1),
                    Some(2),
                    Some(3),
                ])),
            ),
            (
                "u16",
                Arc::new(UInt16Array::from(vec![
                    Some(0),
                    Some(u16::MAX),
                    None,
                    Some(1),
                    Some(2),
                    Some(3),
                ])),
            ),
            (
                "u32",
                Arc::new(UInt32Array::from(vec![
                    Some(0),
                    Some(u32::MAX),
                    None,
                    Some(1),
                    Some(2),
                    Some(3),
                ])),
            ),
            (
                "u64",
                Arc::new(UInt64Array::from(vec![
                    Some(0),
                    Some(u64::MAX),
                    None,
                    Some(1),
                    Some(2),
                    Some(3),
                ])),
            ),
            (
                "f32",
                Arc::new(Float32Array::from(vec![
                    Some(0.1),
                    Some(f32::NAN),
                    Some(f32::INFINITY),
                    None,
                    Some(-0.0),
                    Some(1e-7),
                ])),
            ),
            (
                "f64",
                Arc::new(Float64Array::from(vec![
                    Some(0.1),
                    Some(f64::NEG_INFINITY),
                    Some(f64::NAN),
                    Some(1e300),
                    None,
                    Some(-2.5),
                ])),
            ),
            (
                "b",
                Arc::new(BooleanArray::from(vec![
                    Some(true),
                    Some(false),
                    None,
                    Some(true),
                    Some(false),
                    None,
                ])),
            ),
            (
                "s",
                Arc::new(StringArray::from(vec![
                    Some(""),
                    Some("plain"),
                    None,
                    Some("tab\tand \"quotes\" {x,y}"),
                    Some("ünïcødé ✓"),
                    Some("\\N"),
                ])),
            ),
            (
                "ls",
                Arc::new(LargeStringArray::from(vec![
                    Some("a"),
                    None,
                    Some(""),
                    Some("b"),
                    Some("c"),
                    Some("d"),
                ])),
            ),
            (
                "sv",
                Arc::new(StringViewArray::from(vec![
                    Some("short"),
                    Some("a string longer than twelve bytes"),
                    None,
                    Some(""),
                    Some("x"),
                    Some("y"),
                ])),
            ),
            (
                "d",
                Arc::new(Date32Array::from(vec![
                    Some(0),
                    Some(-1),
                    Some(2_932_896),
                    Some(2_932_897),
                    Some(-719_529),
                    None,
                ])),
            ),
            (
                "ts_s",
                Arc::new(TimestampSecondArray::from(vec![
                    Some(0),
                    Some(-1),
                    Some(253_402_300_799),
                    Some(253_402_300_800),
                    None,
                    Some(1_700_000_000),
                ])),
            ),
            (
                "ts_ms",
                Arc::new(TimestampMillisecondArray::from(vec![
                    Some(1),
                    Some(-1),
                    None,
                    Some(1_700_000_000_123),
                    Some(0),
                    Some(999),
                ])),
            ),
            (
                "ts_us",
                Arc::new(TimestampMicrosecondArray::from(vec![
                    Some(1),
                    Some(-1),
                    Some(1_700_000_000_123_456),
                    None,
                    Some(0),
                    Some(999_999),
                ])),
            ),
            (
                "ts_ns",
                Arc::new(TimestampNanosecondArray::from(vec![
                    Some(1),
                    Some(-1_001),
                    Some(1_700_000_000_123_456_789),
                    Some(i64::MAX),
                    None,
                    Some(999),
                ])),
            ),
            (
                "ts_tz",
                Arc::new(
                    TimestampMicrosecondArray::from(vec![
                        Some(1),
                        Some(-1),
                        Some(1_700_000_000_123_456),
                        None,
                        Some(0),
                        Some(999_999),
                    ])
                    .with_timezone("+02:00"),
                ),
            ),
            (
                "dec2",
                Arc::new(
                    Decimal128Array::from(vec![
                        Some(12345),
                        Some(-5),
                        Some(0),
                        None,
                        Some(-100),
                        Some(79_228_162_514_264_337_593_543_950_335),
                    ])
                    .with_precision_and_scale(38, 2)
                    .unwrap(),
                ),
            ),
            (
                "dec0",
                Arc::new(
                    Decimal128Array::from(vec![
                        Some(1),
                        Some(-1),
                        Some(0),
                        Some(10),
                        None,
                        Some(-79_228_162_514_264_337_593_543_950_335),
                    ])
                    .with_precision_and_scale(38, 0)
                    .unwrap(),
                ),
            ),
            (
                "dec28",
                Arc::new(
                    Decimal128Array::from(vec![
                        Some(1),
                        Some(-1),
                        Some(0),
                        Some(10_i128.pow(28)),
                        None,
                        Some(123),
                    ])
                    .with_precision_and_scale(38, 28)
                    .unwrap(),
                ),
            ),
            (
                "list",
                Arc::new(ListArray::from_iter_primitive::<I32, _, _>(vec![
                    Some(vec![Some(1), None]),
                    None,
                    Some(vec![]),
                    Some(vec![Some(3)]),
                    Some(vec![Some(4)]),
                    Some(vec![Some(5)]),
                ])),
            ),
        ];
        let schema = Schema::new(
            columns
                .iter()
                .map(|(n, a)| Field::new(*n, a.data_type().clone(), true))
                .collect::<Vec<_>>(),
        );
        RecordBatch::try_new(
            Arc::new(schema),
            columns.into_iter().map(|(_, a)| a).collect(),
        )
        .unwrap()
    }

    fn compare(batch: &RecordBatch, format: &Format, options: FormatOptions) {
        let fields = Arc::new(
            arrow_schema_to_pg_fields(batch.schema().as_ref(), format, Some(Arc::new(options)))
                .unwrap(),
        );
        let ours = encode_batch(batch, &fields).unwrap();
        let theirs: Vec<DataRow> = encode_recordbatch(Arc::clone(&fields), batch.clone())
            .map(|r| r.unwrap())
            .collect();
        assert_eq!(ours.len(), theirs.len());
        for (row, (a, b)) in ours.iter().zip(&theirs).enumerate() {
            assert_eq!(a.field_count, b.field_count);
            assert_eq!(
                a.data,
                b.data,
                "row {row} differs:\n ours   {:?}\n arrow-pg {:?}",
                String::from_utf8_lossy(&a.data),
                String::from_utf8_lossy(&b.data)
            );
        }
    }

    #[test]
    fn text_rows_are_arrow_pgs_byte_for_byte() {
        compare(&batch(), &Format::UnifiedText, FormatOptions::default());
    }

    #[test]
    fn other_settings_and_binary_match_arrow_pg() {
        let mut options = FormatOptions::default();
        options.date_style = "SQL, DMY".into();
        options.extra_float_digits = 0;
        compare(&batch(), &Format::UnifiedText, options);
        compare(&batch(), &Format::UnifiedBinary, FormatOptions::default());
    }

    #[test]
    fn sliced_batches_and_out_of_range_decimals() {
        let b = batch();
        compare(
            &b.slice(2, 3),
            &Format::UnifiedText,
            FormatOptions::default(),
        );
        let too_big = Decimal128Array::from(vec![Some(i128::MAX / 10)])
            .with_precision_and_scale(38, 2)
            .unwrap();
        let b = RecordBatch::try_new(
            Arc::new(Schema::new(vec![Field::new(
                "d",
                too_big.data_type().clone(),
                true,
            )])),
            vec![Arc::new(too_big)],
        )
        .unwrap();
        for format in [Format::UnifiedText, Format::UnifiedBinary] {
            let fields =
                Arc::new(arrow_schema_to_pg_fields(b.schema().as_ref(), &format, None).unwrap());
            let ours = encode_batch(&b, &fields).map(|_| ()).unwrap_err();
            assert!(format!("{ours:?}").contains("22003"), "{ours:?}");
        }
    }
}
