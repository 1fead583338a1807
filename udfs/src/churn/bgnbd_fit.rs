//! `bgnbd_fit(frequency, recency, t [, penalizer])` aggregate → the maximum-likelihood BG/NBD
//! parameters of the group's customers.

use std::sync::{Arc, LazyLock};

use datafusion::arrow::array::{Array, ArrayRef, AsArray, Float64Array, ListArray};
use datafusion::arrow::buffer::OffsetBuffer;
use datafusion::arrow::datatypes::{DataType, Field, FieldRef, Fields, Float64Type};
use datafusion::common::scalar::ScalarStructBuilder;
use datafusion::common::ScalarValue;
use datafusion::error::Result;
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::{
    Accumulator, AggregateUDF, AggregateUDFImpl, Documentation, Signature, Volatility,
};

use super::bgnbd::Histories;
use super::{coerce_numbers, histories, penalizer};

pub(crate) const USAGE: &str = "bgnbd_fit(frequency, recency, t [, penalizer]) — e.g. \
    SELECT bgnbd_fit(s.frequency, s.recency, s.t) FROM (SELECT btyd_summary(ts, amount, \
    DATE '2025-12-31') AS s FROM orders GROUP BY customer_id)";

pub(crate) const FIT_DOC: &str = "Maximum likelihood of the BG/NBD model (Fader, Hardie & Lee \
    2005) over customers' (frequency = repeat purchases, recency = age at the last purchase, t = \
    age at the end of observation), all in one time unit (btyd_summary's). Customers sharing a \
    history are counted once with a weight, the log-likelihood is evaluated in log space, and \
    BFGS with the analytic gradient runs from lifetimes' start and two others. penalizer c adds \
    lifetimes' L2 penalty c·(r² + (α/max t)² + a² + b²) to the mean negative log-likelihood \
    (default 0). Rows with a NULL are skipped; frequency must be a whole number >= 0, 0 <= \
    recency <= t, and recency = 0 when frequency = 0 (otherwise 22000). When the data cannot \
    identify the model (fewer than two customers, no repeat purchase, every t = 0) or the \
    optimum lies on the boundary (a parameter running to 0 or infinity), the parameters are \
    NULL and converged is false: lifetimes raises an error there.";

static DOC: LazyLock<Documentation> = LazyLock::new(|| {
    Documentation::builder(
        super::DOC_SECTION_CHURN,
        format!("Aggregate: BG/NBD parameters {{r, alpha, a, b, log_likelihood DOUBLE, customers BIGINT, converged BOOLEAN}}. {FIT_DOC} On the CDNOW sample it gives the published r = 0.243, alpha = 4.414, a = 0.793, b = 2.426, LL = -9582.4 and agrees with lifetimes' BetaGeoFitter."),
        USAGE,
    )
    .with_sql_example("SELECT m.r, m.alpha, m.a, m.b\nFROM (SELECT bgnbd_fit(frequency, recency, t) AS m FROM customer_summary)")
    .with_argument("frequency", "Repeat purchases (whole number).")
    .with_argument("recency", "Age at the last purchase, in the time unit of t.")
    .with_argument("t", "Age at the end of observation.")
    .with_argument("penalizer", "Optional constant >= 0: lifetimes' penalizer_coef.")
    .build()
});

#[derive(Debug, PartialEq, Eq, Hash)]
pub struct BgNbdFitUdaf {
    signature: Signature,
}

pub fn bgnbd_fit_udaf() -> Arc<AggregateUDF> {
    static UDAF: LazyLock<Arc<AggregateUDF>> = LazyLock::new(|| {
        Arc::new(AggregateUDF::from(BgNbdFitUdaf {
            signature: Signature::user_defined(Volatility::Immutable),
        }))
    });
    Arc::clone(&UDAF)
}

fn fields() -> Fields {
    fit_fields(&["r", "alpha", "a", "b"])
}

/// The struct a model fit returns: its parameters, log_likelihood (DOUBLE, NULL without a
/// model), customers (BIGINT) and converged (BOOLEAN).
pub(crate) fn fit_fields(params: &[&str]) -> Fields {
    let mut fields: Vec<Field> = params
        .iter()
        .chain(&["log_likelihood"])
        .map(|n| Field::new(*n, DataType::Float64, true))
        .collect();
    fields.push(Field::new("customers", DataType::Int64, false));
    fields.push(Field::new("converged", DataType::Boolean, false));
    Fields::from(fields)
}

/// That struct's value: `values` are the parameters then the log-likelihood (all None when
/// there is no model).
pub(crate) fn fit_struct(
    fields: &Fields,
    values: &[Option<f64>],
    customers: usize,
) -> Result<ScalarValue> {
    let mut builder = ScalarStructBuilder::new();
    for (field, v) in fields.iter().zip(values) {
        builder = builder.with_scalar(field.as_ref().clone(), ScalarValue::Float64(*v));
    }
    let n = fields.len();
    builder
        .with_scalar(
            fields[n - 2].as_ref().clone(),
            ScalarValue::Int64(Some(customers as i64)),
        )
        .with_scalar(
            fields[n - 1].as_ref().clone(),
            ScalarValue::Boolean(Some(values.iter().all(Option::is_some))),
        )
        .build()
}

/// State of an accumulator that keeps whole DOUBLE columns: one list per column.
pub(crate) fn columns_state(columns: &mut [Vec<f64>]) -> Vec<ScalarValue> {
    columns
        .iter_mut()
        .map(|c| list_scalar(std::mem::take(c)))
        .collect()
}

pub(crate) fn columns_merge(columns: &mut [Vec<f64>], states: &[ArrayRef]) {
    for (column, state) in columns.iter_mut().zip(states) {
        extend_from_lists(column, state);
    }
}

pub(crate) fn columns_state_fields(name: &str, columns: &[&str]) -> Vec<FieldRef> {
    columns
        .iter()
        .map(|n| Arc::new(Field::new(format!("{name}[{n}]"), f64_list(), true)))
        .collect()
}

pub(crate) fn f64_list() -> DataType {
    DataType::List(Arc::new(Field::new_list_field(DataType::Float64, true)))
}

pub(crate) fn list_scalar(values: Vec<f64>) -> ScalarValue {
    let values = Float64Array::from(values);
    ScalarValue::List(Arc::new(ListArray::new(
        Arc::new(Field::new_list_field(DataType::Float64, true)),
        OffsetBuffer::from_lengths([values.len()]),
        Arc::new(values),
        None,
    )))
}

/// Appends every list of a state column to `out`.
pub(crate) fn extend_from_lists(out: &mut Vec<f64>, state: &ArrayRef) {
    let lists = state.as_list::<i32>();
    for i in 0..lists.len() {
        if lists.is_valid(i) {
            let v = lists.value(i);
            out.extend(v.as_primitive::<Float64Type>().values().iter());
        }
    }
}

impl AggregateUDFImpl for BgNbdFitUdaf {
    fn name(&self) -> &str {
        "bgnbd_fit"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        coerce_numbers("bgnbd_fit", arg_types, 3, &[DataType::Float64], USAGE)
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Struct(fields()))
    }

    fn accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        Ok(Box::new(FitAccumulator {
            penalizer: penalizer(args.exprs, 3, "bgnbd_fit", USAGE)?,
            columns: [vec![], vec![], vec![]],
        }))
    }

    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        Ok(columns_state_fields(
            args.name,
            &["frequency", "recency", "t"],
        ))
    }

    fn documentation(&self) -> Option<&Documentation> {
        Some(&DOC)
    }
}

#[derive(Debug)]
struct FitAccumulator {
    penalizer: f64,
    /// frequency, recency, t of the valid rows.
    columns: [Vec<f64>; 3],
}

impl Accumulator for FitAccumulator {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        for (_, x, tx, t) in histories("bgnbd_fit", &values[..3], USAGE)? {
            self.columns[0].push(x);
            self.columns[1].push(tx);
            self.columns[2].push(t);
        }
        Ok(())
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        let [x, tx, t] = &self.columns;
        let h = Histories::new(x.iter().zip(tx).zip(t).map(|((&x, &tx), &t)| (x, tx, t)));
        let fit = h.fit(self.penalizer).filter(|f| f.converged);
        let values = [
            fit.map(|f| f.params.r),
            fit.map(|f| f.params.alpha),
            fit.map(|f| f.params.a),
            fit.map(|f| f.params.b),
            fit.map(|f| f.log_likelihood),
        ];
        fit_struct(&fields(), &values, h.customers())
    }

    fn size(&self) -> usize {
        std::mem::size_of_val(self) + self.columns.iter().map(|c| c.capacity() * 8).sum::<usize>()
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        Ok(columns_state(&mut self.columns))
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        columns_merge(&mut self.columns, states);
        Ok(())
    }
}
