//! `rfm_segment(r_score, f_score, m_score)` → TEXT: the named RFM segment of 1–5 scores.

use std::sync::{Arc, LazyLock};

use datafusion::arrow::array::{Array, ArrayRef, AsArray, StringArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Int64Type};
use datafusion::common::ScalarValue;
use datafusion::error::Result;
use datafusion::logical_expr::{
    ColumnarValue, Documentation, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature,
    Volatility,
};

use crate::SqlError;

const USAGE: &str = "rfm_segment(r_score, f_score, m_score) with scores 1 to 5 (5 = best: most \
    recent, most frequent, highest spend), e.g. from ntile(5) OVER (ORDER BY recency_days DESC)";

/// Rows: R score 5 down to 1; columns: FM score 1 to 5, FM = round((F + M) / 2), halves up.
/// After Putler's RFM segment table, with its overlaps resolved so every cell has one segment.
pub(crate) const GRID: [[&str; 5]; 5] = [
    [
        "New Customers",
        "Potential Loyalist",
        "Potential Loyalist",
        "Champions",
        "Champions",
    ],
    [
        "Promising",
        "Potential Loyalist",
        "Potential Loyalist",
        "Loyal Customers",
        "Champions",
    ],
    [
        "About to Sleep",
        "Need Attention",
        "Need Attention",
        "Loyal Customers",
        "Loyal Customers",
    ],
    [
        "Hibernating",
        "About to Sleep",
        "At Risk",
        "At Risk",
        "Can't Lose Them",
    ],
    [
        "Lost",
        "Hibernating",
        "At Risk",
        "Can't Lose Them",
        "Can't Lose Them",
    ],
];

pub(crate) fn segment(r: i64, f: i64, m: i64) -> Option<&'static str> {
    if ![r, f, m].iter().all(|s| (1..=5).contains(s)) {
        return None;
    }
    let fm = (f + m + 1) / 2;
    Some(GRID[(5 - r) as usize][(fm - 1) as usize])
}

static DOC: LazyLock<Documentation> = LazyLock::new(|| {
    Documentation::builder(
        super::DOC_SECTION_SEGMENT,
        "Scalar: the named RFM segment (Champions, Loyal Customers, Potential Loyalist, New \
         Customers, Promising, Need Attention, About to Sleep, At Risk, Can't Lose Them, \
         Hibernating, Lost) of recency, frequency and monetary scores 1 to 5 (5 = best). The map \
         uses R and FM = round((F + M) / 2) (halves up) on the grid in the README, after Putler's \
         RFM segment definitions. NULL if any score is NULL; a score outside 1..5 is an error.",
        USAGE,
    )
    .with_sql_example(
        "SELECT customer_id, rfm_segment(ntile(5) OVER (ORDER BY days_since_last DESC), ntile(5) OVER (ORDER BY orders), ntile(5) OVER (ORDER BY revenue))\nFROM customer_features",
    )
    .build()
});

#[derive(Debug, PartialEq, Eq, Hash)]
pub struct RfmSegment {
    signature: Signature,
}

pub fn rfm_segment_udf() -> Arc<ScalarUDF> {
    static UDF: LazyLock<Arc<ScalarUDF>> = LazyLock::new(|| {
        Arc::new(ScalarUDF::from(RfmSegment {
            signature: Signature::user_defined(Volatility::Immutable),
        }))
    });
    Arc::clone(&UDF)
}

impl ScalarUDFImpl for RfmSegment {
    fn name(&self) -> &str {
        "rfm_segment"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        if arg_types.len() == 3
            && arg_types
                .iter()
                .all(|t| t.is_integer() || t == &DataType::Null)
        {
            Ok(vec![DataType::Int64; 3])
        } else {
            Err(SqlError::wrong_arguments(format!(
                "rfm_segment takes three integer scores, got ({}). Usage: {USAGE}",
                arg_types
                    .iter()
                    .map(|t| t.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            )))
        }
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let n = args.number_rows;
        let arrays: Vec<ArrayRef> = args
            .args
            .iter()
            .map(|a| a.to_array(n))
            .collect::<Result<_>>()?;
        let arrays: Vec<ArrayRef> = arrays
            .iter()
            .map(|a| cast(a, &DataType::Int64))
            .collect::<std::result::Result<_, _>>()?;
        let [r, f, m] = [0, 1, 2].map(|i| arrays[i].as_primitive::<Int64Type>());
        let mut out = Vec::with_capacity(n);
        for i in 0..n {
            if r.is_null(i) || f.is_null(i) || m.is_null(i) {
                out.push(None);
                continue;
            }
            let (rv, fv, mv) = (r.value(i), f.value(i), m.value(i));
            match segment(rv, fv, mv) {
                Some(s) => out.push(Some(s)),
                None => {
                    return Err(SqlError::invalid_parameter(format!(
                        "rfm_segment: scores must be 1 to 5, got ({rv}, {fv}, {mv}). Usage: {USAGE}"
                    )))
                }
            }
        }
        let array = StringArray::from(out);
        Ok(
            if args
                .args
                .iter()
                .all(|a| matches!(a, ColumnarValue::Scalar(_)))
            {
                ColumnarValue::Scalar(ScalarValue::try_from_array(&array, 0)?)
            } else {
                ColumnarValue::Array(Arc::new(array))
            },
        )
    }

    fn documentation(&self) -> Option<&Documentation> {
        Some(&DOC)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_score_has_one_segment_and_the_corners_are_right() {
        for r in 1..=5 {
            for f in 1..=5 {
                for m in 1..=5 {
                    assert!(segment(r, f, m).is_some());
                }
            }
        }
        assert_eq!(segment(5, 5, 5), Some("Champions"));
        assert_eq!(segment(1, 1, 1), Some("Lost"));
        assert_eq!(segment(5, 1, 1), Some("New Customers"));
        assert_eq!(segment(1, 5, 5), Some("Can't Lose Them"));
        assert_eq!(segment(3, 3, 2), Some("Need Attention")); // FM = round(2.5) = 3
        assert_eq!(segment(0, 1, 1), None);
        let all: std::collections::BTreeSet<&str> = GRID.iter().flatten().copied().collect();
        assert_eq!(all.len(), 11);
    }
}
