//! `kmeans_centroids(k, [options,] f1, …, fn)` aggregate → the clusters `kmeans_cluster` finds on
//! the same rows: id, size, centroid in the original units, and inertia.

use std::sync::{Arc, LazyLock};

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, Float64Array, Int32Array, Int64Array, ListArray, StructArray,
};
use datafusion::arrow::buffer::OffsetBuffer;
use datafusion::arrow::datatypes::{DataType, Field, FieldRef, Fields, Float64Type};
use datafusion::common::ScalarValue;
use datafusion::error::Result;
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::{
    Accumulator, AggregateUDF, AggregateUDFImpl, Documentation, Signature, Volatility,
};

use super::kmeans::{fit, fit_auto, Fit, Options};
use super::kmeans_cluster::ALGORITHM_DOC;
use super::{coerce_kmeans_args, feature_rows, kmeans_call};
use crate::SqlError;

const USAGE: &str = "kmeans_centroids(k, ['options',] f1, …, fn) — e.g. \
    SELECT unnest(kmeans_centroids(4, orders, revenue, days_since_last)) FROM customer_features";

static DOC: LazyLock<Documentation> = LazyLock::new(|| {
    Documentation::builder(
        super::DOC_SECTION_SEGMENT,
        format!("Aggregate: the k-means clusters of the group's rows as a list of {{cluster INT, size BIGINT, centroid LIST<DOUBLE> (original units), inertia DOUBLE (sum of squared distances in the standardised space)}}, with the same ids kmeans_cluster gives the same rows. {ALGORITHM_DOC}"),
        USAGE,
    )
    .with_sql_example(
        "SELECT c['cluster'], c['size'], c['centroid']\nFROM (SELECT unnest(kmeans_centroids(4, orders, revenue, days_since_last)) AS c FROM customer_features)",
    )
    .build()
});

#[derive(Debug, PartialEq, Eq, Hash)]
pub struct KmeansCentroids {
    signature: Signature,
}

pub fn kmeans_centroids_udaf() -> Arc<AggregateUDF> {
    static UDAF: LazyLock<Arc<AggregateUDF>> = LazyLock::new(|| {
        Arc::new(AggregateUDF::from(KmeansCentroids {
            signature: Signature::user_defined(Volatility::Immutable),
        }))
    });
    Arc::clone(&UDAF)
}

fn fields() -> Fields {
    Fields::from(vec![
        Field::new("cluster", DataType::Int32, false),
        Field::new("size", DataType::Int64, false),
        Field::new(
            "centroid",
            DataType::List(Arc::new(Field::new_list_field(DataType::Float64, false))),
            false,
        ),
        Field::new("inertia", DataType::Float64, false),
    ])
}

fn f64_list() -> DataType {
    DataType::List(Arc::new(Field::new_list_field(DataType::Float64, true)))
}

impl AggregateUDFImpl for KmeansCentroids {
    fn name(&self) -> &str {
        "kmeans_centroids"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        coerce_kmeans_args("kmeans_centroids", arg_types, USAGE)
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::List(Arc::new(Field::new_list_field(
            DataType::Struct(fields()),
            false,
        ))))
    }

    fn accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        let types: Vec<DataType> = args
            .expr_fields
            .iter()
            .map(|f| f.data_type().clone())
            .collect();
        let (k, options, start) = kmeans_call("kmeans_centroids", args.exprs, &types, USAGE)?;
        Ok(Box::new(CentroidsAccumulator {
            k,
            options,
            start,
            dim: types.len() - start,
            points: vec![],
        }))
    }

    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        Ok(vec![Arc::new(Field::new(
            format!("{}[points]", args.name),
            f64_list(),
            true,
        ))])
    }

    fn documentation(&self) -> Option<&Documentation> {
        Some(&DOC)
    }
}

#[derive(Debug)]
struct CentroidsAccumulator {
    k: usize,
    options: Options,
    start: usize,
    dim: usize,
    /// Row-major features of the rows without NULLs.
    points: Vec<f64>,
}

pub(crate) fn centroid_list(fitted: &Fit) -> Result<ScalarValue> {
    let k = fitted.k;
    let centroid_values: Float64Array = fitted
        .centroids
        .iter()
        .flatten()
        .map(|v| Some(*v))
        .collect();
    let centroids = ListArray::new(
        Arc::new(Field::new_list_field(DataType::Float64, false)),
        OffsetBuffer::from_lengths(fitted.centroids.iter().map(Vec::len)),
        Arc::new(centroid_values),
        None,
    );
    let columns: Vec<ArrayRef> = vec![
        Arc::new(Int32Array::from_iter_values(0..k as i32)),
        Arc::new(Int64Array::from_iter_values(
            fitted.sizes.iter().map(|&s| s as i64),
        )),
        Arc::new(centroids),
        Arc::new(Float64Array::from(fitted.inertia.clone())),
    ];
    let values = StructArray::try_new(fields(), columns, None)?;
    Ok(ScalarValue::List(Arc::new(ListArray::new(
        Arc::new(Field::new_list_field(values.data_type().clone(), false)),
        OffsetBuffer::from_lengths([k]),
        Arc::new(values),
        None,
    ))))
}

impl Accumulator for CentroidsAccumulator {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        let (points, _) = feature_rows("kmeans_centroids", &values[self.start..])?;
        self.points.extend_from_slice(&points);
        if self.points.len() > (1 << 31) {
            return Err(SqlError::with_code(
                "54000",
                "kmeans_centroids: more than 2^31 feature values in one group; sample the rows",
            ));
        }
        Ok(())
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        let fitted = if self.k == 0 {
            fit_auto(&self.points, self.dim, &self.options).0
        } else {
            fit(&self.points, self.dim, self.k, &self.options)
        };
        centroid_list(&fitted)
    }

    fn size(&self) -> usize {
        std::mem::size_of_val(self) + self.points.capacity() * 8
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        let values = Float64Array::from(std::mem::take(&mut self.points));
        let list = ListArray::new(
            Arc::new(Field::new_list_field(DataType::Float64, true)),
            OffsetBuffer::from_lengths([values.len()]),
            Arc::new(values),
            None,
        );
        Ok(vec![ScalarValue::List(Arc::new(list))])
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        let lists = states[0].as_list::<i32>();
        for i in 0..lists.len() {
            if lists.is_valid(i) {
                let v = lists.value(i);
                self.points
                    .extend_from_slice(v.as_primitive::<Float64Type>().values());
            }
        }
        Ok(())
    }
}
