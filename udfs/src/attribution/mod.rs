//! Multi-touch attribution: per-touch rule-based weights, the Markov-chain model and the
//! Shapley-value model, plus a table function that builds journeys and reports ROI by channel.

pub mod attribution_weight;
pub mod channel_attribution;
pub mod markov_attribution;
pub mod shapley_attribution;

mod chain;
mod paths;

#[cfg(test)]
mod oracle_tests;

use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, Float64Array, ListArray, StringArray, StructArray,
};
use datafusion::arrow::buffer::OffsetBuffer;
use datafusion::arrow::datatypes::{DataType, Field, Fields};
use datafusion::common::ScalarValue;
use datafusion::error::Result;
use datafusion::logical_expr::DocSection;

pub const DOC_SECTION_ATTRIBUTION: DocSection = DocSection {
    include: true,
    label: "Attribution Functions",
    description: Some("Multi-touch attribution: rule-based, Markov-chain and Shapley models"),
};

/// `{channel, <metric>, conversions, conversion_value}`.
pub(crate) fn credit_fields(metric: &str) -> Fields {
    Fields::from(vec![
        Field::new("channel", DataType::Utf8, false),
        Field::new(metric, DataType::Float64, false),
        Field::new("conversions", DataType::Float64, false),
        Field::new("conversion_value", DataType::Float64, true),
    ])
}

pub(crate) fn credit_type(fields: Fields) -> DataType {
    DataType::List(Arc::new(Field::new_list_field(
        DataType::Struct(fields),
        false,
    )))
}

/// One list value of credit structs.
pub(crate) fn credit_list<'a>(
    fields: Fields,
    rows: impl Iterator<Item = (&'a str, f64, f64, Option<f64>)>,
) -> Result<ScalarValue> {
    let (mut channel, mut metric, mut conversions, mut value) = (vec![], vec![], vec![], vec![]);
    for (c, m, k, v) in rows {
        channel.push(c);
        metric.push(m);
        conversions.push(k);
        value.push(v);
    }
    let len = channel.len();
    let columns: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from(channel)),
        Arc::new(Float64Array::from(metric)),
        Arc::new(Float64Array::from(conversions)),
        Arc::new(Float64Array::from(value)),
    ];
    let values = StructArray::try_new(fields, columns, None)?;
    Ok(ScalarValue::List(Arc::new(ListArray::new(
        Arc::new(Field::new_list_field(values.data_type().clone(), false)),
        OffsetBuffer::from_lengths([len]),
        Arc::new(values),
        None,
    ))))
}
