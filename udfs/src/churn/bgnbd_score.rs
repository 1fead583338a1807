//! Window functions that fit the BG/NBD (and for `clv` the Gamma-Gamma) model on their window
//! partition and score every customer in it: `bgnbd_p_alive`, `bgnbd_expected_purchases`, `clv`.

use std::sync::{Arc, LazyLock};

use datafusion::arrow::array::{Array, ArrayRef, Float64Array};
use datafusion::arrow::datatypes::{DataType, Field, FieldRef};
use datafusion::error::Result;
use datafusion::logical_expr::function::{PartitionEvaluatorArgs, WindowUDFFieldArgs};
use datafusion::logical_expr::{
    Documentation, PartitionEvaluator, Signature, Volatility, WindowUDF, WindowUDFImpl,
};

use super::bgnbd::Histories;
use super::bgnbd_fit::FIT_DOC;
use super::gamma_gamma::{clv, steps_per_month, Spends};
use super::{coerce_numbers, doubles, histories, penalizer};
use crate::args::{constant_f64, constant_string};
use crate::SqlError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Score {
    PAlive,
    ExpectedPurchases,
    Clv,
}

impl Score {
    fn name(self) -> &'static str {
        match self {
            Score::PAlive => "bgnbd_p_alive",
            Score::ExpectedPurchases => "bgnbd_expected_purchases",
            Score::Clv => "clv",
        }
    }

    fn usage(self) -> &'static str {
        match self {
            Score::PAlive => "bgnbd_p_alive(frequency, recency, t [, penalizer]) OVER (PARTITION BY …) — \
                e.g. bgnbd_p_alive(s.frequency, s.recency, s.t) OVER ()",
            Score::ExpectedPurchases => "bgnbd_expected_purchases(frequency, recency, t, horizon [, penalizer]) \
                OVER (PARTITION BY …) — e.g. bgnbd_expected_purchases(frequency, recency, t, 30) OVER (); \
                horizon in the time unit of t",
            Score::Clv => "clv(frequency, recency, t, monetary, horizon_months, monthly_discount_rate [, period \
                [, penalizer]]) OVER (PARTITION BY …) — e.g. clv(frequency, recency, t, monetary, 12, 0.01, 'D') \
                OVER (); period = the time unit of t: 'D' (default), 'W', 'M' or 'H'",
        }
    }

    /// (numeric column arguments, optional constant arguments)
    fn arguments(self) -> (usize, Vec<DataType>) {
        match self {
            Score::PAlive => (3, vec![DataType::Float64]),
            Score::ExpectedPurchases => (4, vec![DataType::Float64]),
            Score::Clv => (6, vec![DataType::Utf8, DataType::Float64]),
        }
    }
}

static DOCS: LazyLock<[Documentation; 3]> = LazyLock::new(|| {
    let doc = |score: Score, what: String, example: &str| {
        Documentation::builder(super::DOC_SECTION_CHURN, what, score.usage())
            .with_sql_example(example)
            .build()
    };
    [
        doc(
            Score::PAlive,
            format!("Window function: the probability each customer is still alive (has not churned), \
             P(alive | frequency, recency, t) of the BG/NBD model fitted on the window partition — \
             lifetimes' conditional_probability_alive. 1 for customers without repeat purchases (a model \
             property: the model only lets customers drop out right after a purchase). {FIT_DOC} NULL for \
             rows with a NULL input and for every row of a partition the model cannot be fitted on."),
            "SELECT customer_id, bgnbd_p_alive(frequency, recency, t) OVER () AS p_alive\nFROM customer_summary",
        ),
        doc(
            Score::ExpectedPurchases,
            format!("Window function: the expected number of purchases in the next `horizon` time units \
             (the unit of t) given each customer's history, under the BG/NBD model fitted on the window \
             partition — lifetimes' conditional_expected_number_of_purchases_up_to_time (FHL 2005 eq. 10). \
             {FIT_DOC} NULL for rows with a NULL input and for every row of a partition the model cannot \
             be fitted on."),
            "SELECT customer_id, bgnbd_expected_purchases(frequency, recency, t, 90) OVER () AS next_90_days\nFROM customer_summary",
        ),
        doc(
            Score::Clv,
            format!("Window function: customer lifetime value over the next horizon_months months, as lifetimes' \
             customer_lifetime_value defines it: sum over months k = 1..horizon of E[spend per purchase] × \
             (E[purchases by month k] − E[purchases by month k−1]) / (1 + monthly_discount_rate)^k, with \
             purchases from the BG/NBD model and spend from the Gamma-Gamma model, both fitted on the window \
             partition (Gamma-Gamma on its repeat customers). A month is 30 days, 4.345 weeks or 720 hours \
             of t's unit ('D', 'W', 'H'), or one unit of 'M'. Customers without repeats get the population \
             mean spend. In the units of monetary. {FIT_DOC}"),
            "SELECT customer_id, clv(frequency, recency, t, monetary, 12, 0.01) OVER () AS clv_12_months\nFROM customer_summary",
        ),
    ]
});

#[derive(Debug, PartialEq, Eq, Hash)]
pub struct BgNbdScore {
    score: Score,
    signature: Signature,
}

fn udwf(score: Score) -> Arc<WindowUDF> {
    Arc::new(WindowUDF::from(BgNbdScore {
        score,
        signature: Signature::user_defined(Volatility::Immutable),
    }))
}

pub fn bgnbd_p_alive_udwf() -> Arc<WindowUDF> {
    static UDWF: LazyLock<Arc<WindowUDF>> = LazyLock::new(|| udwf(Score::PAlive));
    Arc::clone(&UDWF)
}

pub fn bgnbd_expected_purchases_udwf() -> Arc<WindowUDF> {
    static UDWF: LazyLock<Arc<WindowUDF>> = LazyLock::new(|| udwf(Score::ExpectedPurchases));
    Arc::clone(&UDWF)
}

pub fn clv_udwf() -> Arc<WindowUDF> {
    static UDWF: LazyLock<Arc<WindowUDF>> = LazyLock::new(|| udwf(Score::Clv));
    Arc::clone(&UDWF)
}

impl WindowUDFImpl for BgNbdScore {
    fn name(&self) -> &str {
        self.score.name()
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        let (numeric, optional) = self.score.arguments();
        coerce_numbers(
            self.score.name(),
            arg_types,
            numeric,
            &optional,
            self.score.usage(),
        )
    }

    fn partition_evaluator(
        &self,
        args: PartitionEvaluatorArgs,
    ) -> Result<Box<dyn PartitionEvaluator>> {
        let (name, usage) = (self.score.name(), self.score.usage());
        let exprs = args.input_exprs();
        let mut evaluator = ScoreEvaluator {
            score: self.score,
            penalizer: 0.0,
            months: 0,
            discount_rate: 0.0,
            per_month: 30.0,
        };
        match self.score {
            Score::PAlive => evaluator.penalizer = penalizer(exprs, 3, name, usage)?,
            Score::ExpectedPurchases => evaluator.penalizer = penalizer(exprs, 4, name, usage)?,
            Score::Clv => {
                let months = constant_f64(&exprs[4], "clv's horizon_months", usage)?;
                if !(1.0..=1200.0).contains(&months) || months.fract() != 0.0 {
                    return Err(SqlError::invalid_parameter(format!(
                        "clv's horizon_months must be 1 to 1200, got {months}. Usage: {usage}"
                    )));
                }
                evaluator.months = months as u32;
                let rate = constant_f64(&exprs[5], "clv's monthly_discount_rate", usage)?;
                if !(0.0..=1.0).contains(&rate) {
                    return Err(SqlError::invalid_parameter(format!(
                        "clv's monthly_discount_rate must be between 0 and 1 (0.01 = 1% a month), got {rate}. Usage: {usage}"
                    )));
                }
                evaluator.discount_rate = rate;
                if let Some(e) = exprs.get(6) {
                    let text = constant_string(e, "clv's period", usage)?;
                    evaluator.per_month = steps_per_month(&text).ok_or_else(|| {
                        SqlError::invalid_parameter(format!(
                            "clv's period (the time unit of t) must be 'D', 'W', 'M' or 'H', got '{text}'. Usage: {usage}"
                        ))
                    })?;
                }
                evaluator.penalizer = penalizer(exprs, 7, name, usage)?;
            }
        }
        Ok(Box::new(evaluator))
    }

    fn field(&self, field_args: WindowUDFFieldArgs) -> Result<FieldRef> {
        Ok(Arc::new(Field::new(
            field_args.name(),
            DataType::Float64,
            true,
        )))
    }

    fn documentation(&self) -> Option<&Documentation> {
        Some(&DOCS[self.score as usize])
    }
}

#[derive(Debug)]
struct ScoreEvaluator {
    score: Score,
    penalizer: f64,
    months: u32,
    discount_rate: f64,
    per_month: f64,
}

impl PartitionEvaluator for ScoreEvaluator {
    fn evaluate_all(&mut self, values: &[ArrayRef], num_rows: usize) -> Result<ArrayRef> {
        let (name, usage) = (self.score.name(), self.score.usage());
        let rows = histories(name, &values[..3], usage)?;
        let mut out: Vec<Option<f64>> = vec![None; num_rows];
        let horizon = match self.score {
            Score::ExpectedPurchases => {
                let horizon = doubles(&values[3])?;
                if let Some(h) = horizon
                    .iter()
                    .flatten()
                    .find(|h| !(*h >= 0.0 && h.is_finite()))
                {
                    return Err(SqlError::data_exception(format!(
                        "{name}: horizon must be a finite number >= 0 (in the time unit of t), got {h}. Usage: {usage}"
                    )));
                }
                Some(horizon)
            }
            _ => None,
        };
        let fit = Histories::new(rows.iter().map(|&(_, x, tx, t)| (x, tx, t)))
            .fit(self.penalizer)
            .filter(|f| f.converged);
        let Some(fit) = fit else {
            return Ok(Arc::new(Float64Array::from(out)));
        };
        let model = fit.params;
        match self.score {
            Score::PAlive => {
                for &(row, x, tx, t) in &rows {
                    out[row] = Some(model.p_alive(x, tx, t));
                }
            }
            Score::ExpectedPurchases => {
                let Some(horizon) = horizon else {
                    return Ok(Arc::new(Float64Array::from(out)));
                };
                for &(row, x, tx, t) in &rows {
                    if horizon.is_valid(row) {
                        let h = horizon.value(row);
                        out[row] =
                            Some(model.expected_purchases(h, x, tx, t)).filter(|v| v.is_finite());
                    }
                }
            }
            Score::Clv => {
                let monetary = doubles(&values[3])?;
                let spends = Spends::new(
                    rows.iter()
                        .filter(|r| monetary.is_valid(r.0))
                        .map(|&(row, x, _, _)| (x, monetary.value(row))),
                );
                let Some(gg) = spends.fit(self.penalizer).filter(|f| f.converged) else {
                    return Ok(Arc::new(Float64Array::from(out)));
                };
                for &(row, x, tx, t) in &rows {
                    if monetary.is_null(row) {
                        continue;
                    }
                    let value = clv(
                        &model,
                        &gg.params,
                        (x, tx, t, monetary.value(row)),
                        self.months,
                        self.discount_rate,
                        self.per_month,
                    );
                    out[row] = Some(value).filter(|v| v.is_finite());
                }
            }
        }
        Ok(Arc::new(Float64Array::from(out)))
    }
}
