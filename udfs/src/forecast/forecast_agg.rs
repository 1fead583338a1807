//! `forecast(ts, value, horizon [, season_length [, method]])` aggregate → one forecast path
//! per group: LIST<STRUCT<ts, forecast, lo_80, hi_80, lo_95, hi_95, model>>.

use std::sync::{Arc, LazyLock};

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, Date32Array, Float64Array, Int64Array, ListArray, StringArray,
    StructArray, TimestampMicrosecondArray,
};
use datafusion::arrow::buffer::OffsetBuffer;
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{
    DataType, Field, FieldRef, Fields, Float64Type, Int64Type, TimeUnit, TimestampMicrosecondType,
};
use datafusion::common::ScalarValue;
use datafusion::error::Result;
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::{
    Accumulator, AggregateUDF, AggregateUDFImpl, Documentation, Signature, Volatility,
};
use datafusion::physical_expr::PhysicalExpr;

use super::methods::{run, Method, METHODS_DOC};
use super::series::{regularize, Series};
use crate::args::{constant_i64, constant_string};
use crate::SqlError;

pub(crate) const USAGE: &str = "forecast(ts, value, horizon [, season_length [, method]]) — e.g. \
    SELECT sku, unnest(forecast(day, units, 28)) FROM daily_sales GROUP BY sku; season_length 0 \
    or NULL = from the step (7 daily, 12 monthly, 4 quarterly, 24 hourly, 52 weekly)";

pub(crate) const SERIES_DOC: &str = "The step of the series is inferred from the timestamps \
    (calendar months/quarters/years when every point falls on the same day of month and time, \
    otherwise the greatest common spacing: hours, days, weeks, …); missing steps are filled by \
    linear interpolation between their neighbours; NULL values are skipped (and so filled); \
    duplicate timestamps, non-finite values, or timestamps so irregular that fewer than half of \
    the steps would hold data are errors (22000). season_length defaults to the step's usual \
    cycle: 24 hourly, 7 daily, 52 weekly, 12 monthly, 4 quarterly, 1 otherwise.";

static DOC: LazyLock<Documentation> = LazyLock::new(|| {
    Documentation::builder(
        super::DOC_SECTION_FORECAST,
        format!("Aggregate: forecasts the group's series `horizon` steps ahead as a list of {{ts (continuing the series' step; a DATE for DATE input), forecast, lo_80, hi_80, lo_95, hi_95 DOUBLE, model TEXT}} — one model per group. Methods: {METHODS_DOC}. Intervals are the models' analytic prediction intervals (Theta: the Gaussian limit of its simulation). {SERIES_DOC} Checked against Nixtla statsforecast 2.1.1 (AutoETS, fixed ETS models, AutoTheta, SeasonalNaive, Naive). Fewer than 7 points with 'auto': the naive forecast. A group the chosen method cannot fit (e.g. a multiplicative model on values <= 0) gives NULL."),
        USAGE,
    )
    .with_sql_example("SELECT sku, f['ts'] AS day, f['forecast'] AS units, f['lo_95'], f['hi_95']\nFROM (SELECT sku, unnest(forecast(day, units, 28)) AS f FROM daily_sales GROUP BY sku)")
    .with_argument("ts", "Timestamp or date of each value.")
    .with_argument("value", "The numeric series.")
    .with_argument("horizon", "Constant integer: steps to forecast (1 to 10000).")
    .with_argument("season_length", "Optional constant integer: the seasonal period in steps (0 or NULL = from the step).")
    .with_argument("method", "Optional constant text: 'auto' (default), an ETS model name, 'holt_winters', 'theta', 'seasonal_naive', 'naive', ….")
    .build()
});

#[derive(Debug, PartialEq, Eq, Hash)]
pub struct ForecastUdaf {
    signature: Signature,
}

pub fn forecast_udaf() -> Arc<AggregateUDF> {
    static UDAF: LazyLock<Arc<AggregateUDF>> = LazyLock::new(|| {
        Arc::new(AggregateUDF::from(ForecastUdaf {
            signature: Signature::user_defined(Volatility::Immutable),
        }))
    });
    Arc::clone(&UDAF)
}

pub(crate) fn micros() -> DataType {
    DataType::Timestamp(TimeUnit::Microsecond, None)
}

pub(crate) fn is_time(t: &DataType) -> bool {
    matches!(
        t,
        DataType::Timestamp(_, _) | DataType::Date32 | DataType::Date64 | DataType::Null
    )
}

fn element_fields(ts: &DataType) -> Fields {
    Fields::from(vec![
        Field::new("ts", ts.clone(), false),
        Field::new("forecast", DataType::Float64, true),
        Field::new("lo_80", DataType::Float64, true),
        Field::new("hi_80", DataType::Float64, true),
        Field::new("lo_95", DataType::Float64, true),
        Field::new("hi_95", DataType::Float64, true),
        Field::new("model", DataType::Utf8, false),
    ])
}

/// DATE in, DATE out; any timestamp → TIMESTAMP (µs, no zone).
fn output_time(input: &DataType) -> DataType {
    match input {
        DataType::Date32 | DataType::Date64 => DataType::Date32,
        _ => micros(),
    }
}

fn return_list(ts: &DataType) -> DataType {
    DataType::List(Arc::new(Field::new_list_field(
        DataType::Struct(element_fields(&output_time(ts))),
        false,
    )))
}

/// Reads the optional season length (0/NULL = infer) and method constants at `exprs[i..]`.
pub(crate) fn season_and_method(
    name: &str,
    exprs: &[Arc<dyn PhysicalExpr>],
    i: usize,
    usage: &str,
) -> Result<(Option<usize>, Method)> {
    use datafusion::physical_expr::expressions::Literal;
    let season = match exprs.get(i) {
        None => None,
        Some(e) => match (e.as_ref() as &dyn std::any::Any).downcast_ref::<Literal>() {
            // NULL means "from the step".
            Some(l) if l.value().is_null() => None,
            _ => {
                let m = constant_i64(e, &format!("{name}'s season_length"), usage)?;
                if !(0..=1000).contains(&m) {
                    return Err(SqlError::invalid_parameter(format!(
                        "{name}'s season_length must be 0 (from the step) to 1000, got {m}. Usage: {usage}"
                    )));
                }
                (m > 0).then_some(m as usize)
            }
        },
    };
    let method = match exprs.get(i + 1) {
        None => Method::Auto,
        Some(e) => {
            let text = constant_string(e, &format!("{name}'s method"), usage)?;
            Method::parse(&text).ok_or_else(|| {
                SqlError::invalid_parameter(format!(
                    "{name}: unknown method '{text}'; methods are {METHODS_DOC}. Usage: {usage}"
                ))
            })?
        }
    };
    Ok((season, method))
}

/// (µs timestamp, value) of the rows where both are present.
pub(crate) fn points(ts: &ArrayRef, values: &ArrayRef) -> Result<Vec<(i64, f64)>> {
    let ts = cast(ts, &micros())?;
    let ts = ts.as_primitive::<TimestampMicrosecondType>();
    let values = cast(values, &DataType::Float64)?;
    let values = values.as_primitive::<Float64Type>();
    Ok((0..ts.len())
        .filter(|&i| ts.is_valid(i) && values.is_valid(i))
        .map(|i| (ts.value(i), values.value(i)))
        .collect())
}

impl AggregateUDFImpl for ForecastUdaf {
    fn name(&self) -> &str {
        "forecast"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        let bad =
            |why: String| SqlError::wrong_arguments(format!("forecast: {why}. Usage: {USAGE}"));
        if !(3..=5).contains(&arg_types.len()) {
            return Err(bad(format!(
                "takes 3 to 5 arguments, got {}",
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
        for (i, what) in [(2, "horizon"), (3, "season_length")] {
            if let Some(t) = arg_types.get(i) {
                if !(t.is_integer() || t == &DataType::Null) {
                    return Err(bad(format!("{what} must be an integer, got {t}")));
                }
            }
        }
        if let Some(t) = arg_types.get(4) {
            if !crate::funnel::is_text(t) {
                return Err(bad(format!("method must be text, got {t}")));
            }
        }
        let mut out = arg_types.to_vec();
        if out[0] == DataType::Null {
            out[0] = micros();
        }
        out[1] = DataType::Float64;
        out[2] = DataType::Int64;
        if out.len() > 3 {
            out[3] = DataType::Int64;
        }
        Ok(out)
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        Ok(return_list(&arg_types[0]))
    }

    fn accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        let horizon = constant_i64(&args.exprs[2], "forecast's horizon", USAGE)?;
        if !(1..=10_000).contains(&horizon) {
            return Err(SqlError::invalid_parameter(format!(
                "forecast's horizon must be 1 to 10000 steps, got {horizon}. Usage: {USAGE}"
            )));
        }
        let (season, method) = season_and_method("forecast", args.exprs, 3, USAGE)?;
        Ok(Box::new(ForecastAccumulator {
            horizon: horizon as usize,
            season,
            method,
            out_type: output_time(args.expr_fields[0].data_type()),
            points: vec![],
        }))
    }

    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        Ok(vec![
            Arc::new(Field::new(
                format!("{}[ts]", args.name),
                DataType::List(Arc::new(Field::new_list_field(DataType::Int64, true))),
                true,
            )),
            Arc::new(Field::new(
                format!("{}[value]", args.name),
                DataType::List(Arc::new(Field::new_list_field(DataType::Float64, true))),
                true,
            )),
        ])
    }

    fn documentation(&self) -> Option<&Documentation> {
        Some(&DOC)
    }
}

#[derive(Debug)]
struct ForecastAccumulator {
    horizon: usize,
    season: Option<usize>,
    method: Method,
    out_type: DataType,
    points: Vec<(i64, f64)>,
}

/// The forecast of one series as the list scalar `forecast` returns.
pub(crate) fn forecast_list(
    series: &Series,
    season: Option<usize>,
    method: &Method,
    horizon: usize,
    out_type: &DataType,
) -> Result<ScalarValue> {
    let fields = element_fields(out_type);
    let null = || ScalarValue::try_from(return_list(out_type));
    let m = season.unwrap_or_else(|| series.step.default_season());
    let Some(f) = run(method, &series.values, m, horizon) else {
        return null();
    };
    let times = series.future(horizon);
    let ts: ArrayRef = match out_type {
        DataType::Date32 => Arc::new(Date32Array::from_iter_values(
            times.iter().map(|t| t.div_euclid(86_400_000_000) as i32),
        )),
        _ => Arc::new(TimestampMicrosecondArray::from_iter_values(times)),
    };
    let column = |v: &[f64]| -> ArrayRef {
        Arc::new(
            v.iter()
                .map(|x| x.is_finite().then_some(*x))
                .collect::<Float64Array>(),
        )
    };
    let columns: Vec<ArrayRef> = vec![
        ts,
        column(&f.mean),
        column(&f.lo80),
        column(&f.hi80),
        column(&f.lo95),
        column(&f.hi95),
        Arc::new(StringArray::from(vec![f.model.as_str(); horizon])),
    ];
    let values = StructArray::try_new(fields, columns, None)?;
    Ok(ScalarValue::List(Arc::new(ListArray::new(
        Arc::new(Field::new_list_field(values.data_type().clone(), false)),
        OffsetBuffer::from_lengths([horizon]),
        Arc::new(values),
        None,
    ))))
}

impl Accumulator for ForecastAccumulator {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        self.points.extend(points(&values[0], &values[1])?);
        if self.points.len() > 50_000_000 {
            return Err(SqlError::with_code(
                "54000",
                "forecast: more than 50 million points in one series; aggregate to a coarser step first",
            ));
        }
        Ok(())
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        if self.points.is_empty() {
            return ScalarValue::try_from(return_list(&self.out_type));
        }
        let series = regularize(&self.points)
            .map_err(|why| SqlError::data_exception(format!("forecast: {why}. Usage: {USAGE}")))?;
        forecast_list(
            &series,
            self.season,
            &self.method,
            self.horizon,
            &self.out_type,
        )
    }

    fn size(&self) -> usize {
        std::mem::size_of_val(self) + self.points.capacity() * 16
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        let (ts, v): (Vec<i64>, Vec<f64>) = std::mem::take(&mut self.points).into_iter().unzip();
        let list = |a: ArrayRef, t: DataType| {
            ScalarValue::List(Arc::new(ListArray::new(
                Arc::new(Field::new_list_field(t, true)),
                OffsetBuffer::from_lengths([a.len()]),
                a,
                None,
            )))
        };
        Ok(vec![
            list(Arc::new(Int64Array::from(ts)), DataType::Int64),
            list(Arc::new(Float64Array::from(v)), DataType::Float64),
        ])
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        let (ts, vs) = (states[0].as_list::<i32>(), states[1].as_list::<i32>());
        for i in 0..ts.len() {
            if ts.is_valid(i) && vs.is_valid(i) {
                let t = ts.value(i);
                let v = vs.value(i);
                let (t, v) = (
                    t.as_primitive::<Int64Type>(),
                    v.as_primitive::<Float64Type>(),
                );
                self.points
                    .extend(t.values().iter().copied().zip(v.values().iter().copied()));
            }
        }
        Ok(())
    }
}
