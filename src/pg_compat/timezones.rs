//! `pg_timezone_names()`: the IANA time zones with their current abbreviation, UTC offset and
//! whether daylight saving time is in effect, as PostgreSQL's view of the same name (psql
//! completes `SET timezone TO '…` from it; GUI clients fill time-zone pickers with it).

use std::sync::Arc;

use chrono::{Offset, Utc};
use chrono_tz::{OffsetComponents, OffsetName, Tz, TZ_VARIANTS};
use datafusion::arrow::array::{
    ArrayRef, BooleanArray, IntervalMonthDayNanoArray, RecordBatch, StringArray,
};
use datafusion::arrow::datatypes::{DataType, Field, IntervalMonthDayNano, IntervalUnit, Schema};
use datafusion::catalog::{TableFunctionArgs, TableFunctionImpl, TableProvider};
use datafusion::datasource::MemTable;
use datafusion::error::Result;
use sightline_udfs::SqlError;

#[derive(Debug, Default)]
pub struct PgTimezoneNames;

impl TableFunctionImpl for PgTimezoneNames {
    fn call_with_args(&self, args: TableFunctionArgs) -> Result<Arc<dyn TableProvider>> {
        if !args.exprs().is_empty() {
            return Err(SqlError::wrong_arguments(
                "pg_timezone_names() takes no arguments: SELECT name FROM pg_timezone_names()",
            ));
        }
        Ok(Arc::new(table(Utc::now())?))
    }
}

fn table(at: chrono::DateTime<Utc>) -> Result<MemTable> {
    let schema = Arc::new(Schema::new(vec![
        Field::new("name", DataType::Utf8, false),
        Field::new("abbrev", DataType::Utf8, false),
        Field::new(
            "utc_offset",
            DataType::Interval(IntervalUnit::MonthDayNano),
            false,
        ),
        Field::new("is_dst", DataType::Boolean, false),
    ]));
    let zones: Vec<(&str, String, i64, bool)> = TZ_VARIANTS
        .iter()
        .map(|tz: &Tz| {
            let offset = *at.with_timezone(tz).offset();
            let seconds = i64::from(offset.fix().local_minus_utc());
            let abbrev = offset.abbreviation().unwrap_or_default().to_string();
            (tz.name(), abbrev, seconds, !offset.dst_offset().is_zero())
        })
        .collect();
    let columns: Vec<ArrayRef> = vec![
        Arc::new(zones.iter().map(|z| Some(z.0)).collect::<StringArray>()),
        Arc::new(
            zones
                .iter()
                .map(|z| Some(z.1.as_str()))
                .collect::<StringArray>(),
        ),
        Arc::new(IntervalMonthDayNanoArray::from(
            zones
                .iter()
                .map(|z| IntervalMonthDayNano::new(0, 0, z.2 * 1_000_000_000))
                .collect::<Vec<_>>(),
        )),
        Arc::new(zones.iter().map(|z| Some(z.3)).collect::<BooleanArray>()),
    ];
    let batch = RecordBatch::try_new(Arc::clone(&schema), columns)?;
    MemTable::try_new(schema, vec![vec![batch]])
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use datafusion::arrow::array::AsArray;
    use datafusion::catalog::Session;
    use datafusion::prelude::SessionContext;

    #[tokio::test]
    async fn offsets_and_daylight_saving_follow_the_date() {
        for (month, offset, dst, abbrev) in [(1, 3600, false, "CET"), (7, 7200, true, "CEST")] {
            let at = Utc.with_ymd_and_hms(2026, month, 15, 12, 0, 0).unwrap();
            let t = table(at).unwrap();
            let ctx = SessionContext::new();
            let state = ctx.state();
            let plan = t
                .scan(&state as &dyn Session, None, &[], None)
                .await
                .unwrap();
            let batches = datafusion::physical_plan::collect(plan, ctx.task_ctx())
                .await
                .unwrap();
            let b = &batches[0];
            let names = b.column(0).as_string::<i32>();
            let i = (0..b.num_rows())
                .find(|&i| names.value(i) == "Europe/Berlin")
                .unwrap();
            assert_eq!(b.column(1).as_string::<i32>().value(i), abbrev);
            let interval = b
                .column(2)
                .as_primitive::<datafusion::arrow::datatypes::IntervalMonthDayNanoType>()
                .value(i);
            assert_eq!(interval.nanoseconds, offset * 1_000_000_000);
            assert_eq!(b.column(3).as_boolean().value(i), dst);
            assert!(b.num_rows() > 400);
        }
    }
}
