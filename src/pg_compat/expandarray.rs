//! `_pg_expandarray(array)`: each element with its 1-based position, as a list of
//! `{x, n}` structs. PostgreSQL's `information_schema._pg_expandarray` is a set-returning
//! function of `(x, n)` records; pgjdbc's `getPrimaryKeys` / `getIndexInfo` call it on
//! `pg_index.indkey`. The statement rewrite turns `information_schema._pg_expandarray(a)` into
//! `unnest(_pg_expandarray(a))` and `(r).x` into `r['x']`, which is the same rows.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, Int32Array, ListArray, StructArray};
use datafusion::arrow::datatypes::{DataType, Field, Fields};
use datafusion::common::{exec_err, plan_err};
use datafusion::error::Result;
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};

#[derive(Debug, PartialEq, Eq, Hash)]
pub struct PgExpandArray {
    signature: Signature,
}

impl PgExpandArray {
    pub fn new() -> Self {
        PgExpandArray {
            signature: Signature::any(1, Volatility::Immutable),
        }
    }
}

fn element_fields(element: &DataType) -> Fields {
    Fields::from(vec![
        Field::new("x", element.clone(), true),
        Field::new("n", DataType::Int32, false),
    ])
}

impl ScalarUDFImpl for PgExpandArray {
    fn name(&self) -> &str {
        "_pg_expandarray"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, args: &[DataType]) -> Result<DataType> {
        match args.first() {
            Some(DataType::List(element)) => Ok(DataType::List(Arc::new(Field::new_list_field(
                DataType::Struct(element_fields(element.data_type())),
                true,
            )))),
            Some(other) => plan_err!(
                "_pg_expandarray(array) takes an array, got {other}; call it as \
                 information_schema._pg_expandarray(indkey)"
            ),
            None => plan_err!("_pg_expandarray takes one array argument"),
        }
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let [array] = args.args.as_slice() else {
            return exec_err!("_pg_expandarray takes one array argument");
        };
        let array = array.to_array(rows)?;
        let DataType::List(_) = array.data_type() else {
            return exec_err!("_pg_expandarray(array) takes an array");
        };
        let lists = array.as_list::<i32>();
        let values = lists.values();
        // Positions restart at 1 in every list; the offsets say where each one starts.
        let offsets = lists.value_offsets();
        let mut positions = vec![0i32; values.len()];
        for row in 0..lists.len() {
            let (start, end) = (offsets[row] as usize, offsets[row + 1] as usize);
            for (k, p) in positions[start..end].iter_mut().enumerate() {
                *p = k as i32 + 1;
            }
        }
        let fields = element_fields(values.data_type());
        let structs = StructArray::try_new(
            fields.clone(),
            vec![
                Arc::clone(values),
                Arc::new(Int32Array::from(positions)) as ArrayRef,
            ],
            None,
        )?;
        let out = ListArray::try_new(
            Arc::new(Field::new_list_field(DataType::Struct(fields), true)),
            lists.offsets().clone(),
            Arc::new(structs),
            lists.nulls().cloned(),
        )?;
        Ok(ColumnarValue::Array(Arc::new(out)))
    }
}

#[cfg(test)]
mod tests {
    use datafusion::logical_expr::ScalarUDF;
    use datafusion::prelude::SessionContext;

    use crate::pg_compat::test_util::table_lines;

    #[tokio::test]
    async fn positions_restart_in_every_array() {
        let ctx = SessionContext::new();
        ctx.register_udf(ScalarUDF::new_from_impl(super::PgExpandArray::new()));
        let rows = table_lines(
            &ctx,
            "SELECT k, e['x'] AS x, e['n'] AS n FROM (SELECT k, unnest(_pg_expandarray(a)) AS e \
             FROM (VALUES (1, [5, 7]), (2, [9]), (3, [])) t(k, a)) ORDER BY k, n",
        )
        .await;
        assert_eq!(rows, ["| 1 | 5 | 1 |", "| 1 | 7 | 2 |", "| 2 | 9 | 1 |"]);
    }
}
