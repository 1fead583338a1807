//! `detect_anomaly(ts, value [, season_length [, level]]) OVER (PARTITION BY … ORDER BY ts)` →
//! STRUCT<expected, lo, hi, is_anomaly>: each point against the one-step-ahead band of the
//! AutoETS model fitted on its partition.

use std::sync::{Arc, LazyLock};

use datafusion::arrow::array::{ArrayRef, BooleanArray, Float64Array, StructArray};
use datafusion::arrow::datatypes::{DataType, Field, FieldRef, Fields};
use datafusion::common::HashMap;
use datafusion::error::Result;
use datafusion::logical_expr::function::{PartitionEvaluatorArgs, WindowUDFFieldArgs};
use datafusion::logical_expr::{
    Documentation, PartitionEvaluator, Signature, Volatility, WindowUDF, WindowUDFImpl,
};

use super::forecast_agg::{is_time, micros, points, season_and_method, SERIES_DOC};
use super::methods::one_step_band;
use super::series::regularize;
use crate::args::constant_f64;
use crate::SqlError;

const USAGE: &str = "detect_anomaly(ts, value [, season_length [, level]]) OVER (PARTITION BY \
    series ORDER BY ts) — e.g. detect_anomaly(day, conversion_rate) OVER (PARTITION BY region \
    ORDER BY day); level 0.95 (default) or 95";

static DOC: LazyLock<Documentation> = LazyLock::new(|| {
    Documentation::builder(
        super::DOC_SECTION_FORECAST,
        format!("Window function: for every row, {{expected, lo, hi DOUBLE, is_anomaly BOOLEAN}} — the AutoETS model is fitted on the window partition's series, expected is its one-step-ahead forecast for that time, [lo, hi] the `level` prediction band (±z·σ for additive-error models, ±z·σ·expected for multiplicative ones) and is_anomaly says the value fell outside it (like BigQuery's ML.DETECT_ANOMALIES). {SERIES_DOC} A partition too short for ETS (6 points or fewer) gives NULL; is_anomaly is NULL where the value is NULL."),
        USAGE,
    )
    .with_sql_example("SELECT region, day, rate, a['is_anomaly'], a['lo'], a['hi']\nFROM (SELECT *, detect_anomaly(day, rate) OVER (PARTITION BY region ORDER BY day) AS a FROM daily_conversion)")
    .build()
});

#[derive(Debug, PartialEq, Eq, Hash)]
pub struct DetectAnomaly {
    signature: Signature,
}

pub fn detect_anomaly_udwf() -> Arc<WindowUDF> {
    static UDWF: LazyLock<Arc<WindowUDF>> = LazyLock::new(|| {
        Arc::new(WindowUDF::from(DetectAnomaly {
            signature: Signature::user_defined(Volatility::Immutable),
        }))
    });
    Arc::clone(&UDWF)
}

fn fields() -> Fields {
    Fields::from(vec![
        Field::new("expected", DataType::Float64, true),
        Field::new("lo", DataType::Float64, true),
        Field::new("hi", DataType::Float64, true),
        Field::new("is_anomaly", DataType::Boolean, true),
    ])
}

/// z of a two-sided `level` band (Acklam's inverse normal CDF, relative error below 1.2e-9).
fn z_of(level: f64) -> f64 {
    let p = 0.5 + level / 2.0;
    let a = [
        -39.696_830_286_653_76,
        220.946_098_424_520_5,
        -275.928_510_446_968_7,
        138.357_751_867_269,
        -30.664_798_066_147_16,
        2.506_628_277_459_239,
    ];
    let b = [
        -54.476_098_798_224_06,
        161.585_836_858_040_9,
        -155.698_979_859_886_6,
        66.801_311_887_719_72,
        -13.280_681_552_885_72,
    ];
    let c = [
        -0.007_784_894_002_430_293,
        -0.322_396_458_041_136_4,
        -2.400_758_277_161_838,
        -2.549_732_539_343_734,
        4.374_664_141_464_968,
        2.938_163_982_698_783,
    ];
    let d = [
        0.007_784_695_709_041_462,
        0.322_467_129_070_039_8,
        2.445_134_137_142_996,
        3.754_408_661_907_416,
    ];
    if p > 0.97575 {
        let q = (-2.0 * (1.0 - p).ln()).sqrt();
        -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5])
            / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1.0)
    } else {
        let q = p - 0.5;
        let r = q * q;
        (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q
            / (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1.0)
    }
}

impl WindowUDFImpl for DetectAnomaly {
    fn name(&self) -> &str {
        "detect_anomaly"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        let bad = |why: String| {
            SqlError::wrong_arguments(format!("detect_anomaly: {why}. Usage: {USAGE}"))
        };
        if !(2..=4).contains(&arg_types.len()) {
            return Err(bad(format!(
                "takes 2 to 4 arguments, got {}",
                arg_types.len()
            )));
        }
        if !is_time(&arg_types[0]) {
            return Err(bad(format!(
                "ts must be a timestamp or date, got {}",
                arg_types[0]
            )));
        }
        if !(arg_types[1].is_numeric() || arg_types[1] == DataType::Null) {
            return Err(bad(format!("value must be numeric, got {}", arg_types[1])));
        }
        if let Some(t) = arg_types.get(2) {
            if !(t.is_integer() || t == &DataType::Null) {
                return Err(bad(format!("season_length must be an integer, got {t}")));
            }
        }
        if let Some(t) = arg_types.get(3) {
            if !(t.is_numeric() || t == &DataType::Null) {
                return Err(bad(format!("level must be a number, got {t}")));
            }
        }
        let mut out = vec![micros(), DataType::Float64];
        if arg_types.len() > 2 {
            out.push(DataType::Int64);
        }
        if arg_types.len() > 3 {
            out.push(DataType::Float64);
        }
        Ok(out)
    }

    fn partition_evaluator(
        &self,
        args: PartitionEvaluatorArgs,
    ) -> Result<Box<dyn PartitionEvaluator>> {
        let exprs = args.input_exprs();
        let (season, _) =
            season_and_method("detect_anomaly", &exprs[..exprs.len().min(3)], 2, USAGE)?;
        let level = match exprs.get(3) {
            None => 0.95,
            Some(e) => {
                let v = constant_f64(e, "detect_anomaly's level", USAGE)?;
                let v = if v > 1.0 { v / 100.0 } else { v };
                if !(0.5..1.0).contains(&v) {
                    return Err(SqlError::invalid_parameter(format!(
                        "detect_anomaly's level must be between 0.5 and 1 (or 50 and 100), got {v}. Usage: {USAGE}"
                    )));
                }
                v
            }
        };
        Ok(Box::new(AnomalyEvaluator {
            season,
            z: z_of(level),
        }))
    }

    fn field(&self, field_args: WindowUDFFieldArgs) -> Result<FieldRef> {
        Ok(Arc::new(Field::new(
            field_args.name(),
            DataType::Struct(fields()),
            true,
        )))
    }

    fn documentation(&self) -> Option<&Documentation> {
        Some(&DOC)
    }
}

#[derive(Debug)]
struct AnomalyEvaluator {
    season: Option<usize>,
    z: f64,
}

impl PartitionEvaluator for AnomalyEvaluator {
    fn evaluate_all(&mut self, values: &[ArrayRef], num_rows: usize) -> Result<ArrayRef> {
        let ts = datafusion::arrow::compute::cast(&values[0], &micros())?;
        let ts = datafusion::arrow::array::AsArray::as_primitive::<
            datafusion::arrow::datatypes::TimestampMicrosecondType,
        >(&ts);
        let value = datafusion::arrow::compute::cast(&values[1], &DataType::Float64)?;
        let value = datafusion::arrow::array::AsArray::as_primitive::<
            datafusion::arrow::datatypes::Float64Type,
        >(&value);
        let mut expected = vec![None; num_rows];
        let mut lo = vec![None; num_rows];
        let mut hi = vec![None; num_rows];
        let mut flag = vec![None; num_rows];
        let pts = points(&values[0], &values[1])?;
        if !pts.is_empty() {
            let series = regularize(&pts).map_err(|why| {
                SqlError::data_exception(format!("detect_anomaly: {why}. Usage: {USAGE}"))
            })?;
            let m = self.season.unwrap_or_else(|| series.step.default_season());
            if let Some((fitted, half, _)) = one_step_band(&series.values, m, self.z) {
                let index: HashMap<i64, usize> = (0..series.values.len())
                    .map(|i| (series.time(i), i))
                    .collect();
                for row in 0..num_rows {
                    if datafusion::arrow::array::Array::is_null(ts, row) {
                        continue;
                    }
                    let Some(&i) = index.get(&ts.value(row)) else {
                        continue;
                    };
                    let (e, l, h) = (fitted[i], fitted[i] - half[i], fitted[i] + half[i]);
                    if !(e.is_finite() && l.is_finite() && h.is_finite()) {
                        continue;
                    }
                    expected[row] = Some(e);
                    lo[row] = Some(l);
                    hi[row] = Some(h);
                    if datafusion::arrow::array::Array::is_valid(value, row) {
                        let v = value.value(row);
                        flag[row] = Some(v < l || v > h);
                    }
                }
            }
        }
        let columns: Vec<ArrayRef> = vec![
            Arc::new(Float64Array::from(expected)),
            Arc::new(Float64Array::from(lo)),
            Arc::new(Float64Array::from(hi)),
            Arc::new(BooleanArray::from(flag)),
        ];
        Ok(Arc::new(StructArray::try_new(fields(), columns, None)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn z_values() {
        assert!((z_of(0.95) - 1.959_963_984_540_054).abs() < 1e-8);
        assert!((z_of(0.8) - 1.281_551_565_544_600_4).abs() < 1e-8);
        assert!((z_of(0.99) - 2.575_829_303_548_901).abs() < 1e-8);
    }
}
