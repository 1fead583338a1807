//! `_pg_regtype_names(oids)`: the type names of a list of type OIDs, as PostgreSQL prints a
//! `regtype[]` (`{integer,text}`). Clients cast `pg_proc.proargtypes` (an `oidvector`) to
//! `regtype[]` to show signatures (pgcli's function list); the emulated catalog stores those
//! vectors as text (`700 701`) and DataFusion has no `regtype`. The statement rewrite turns
//! `x::regtype[]` into `_pg_regtype_names(x)`. Names come from the emulation's `format_type`,
//! which is what PostgreSQL's regtype output uses too.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, Int32Array, Int32Builder, ListArray};
use datafusion::arrow::buffer::OffsetBuffer;
use datafusion::arrow::datatypes::{DataType, Field};
use datafusion::common::{exec_err, plan_err};
use datafusion::error::Result;
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};
use datafusion_postgres::datafusion_pg_catalog::pg_catalog::format_type::create_format_type_udf;

#[derive(Debug, PartialEq, Eq, Hash)]
pub struct PgRegtypeNames {
    signature: Signature,
}

impl PgRegtypeNames {
    pub fn new() -> Self {
        PgRegtypeNames {
            signature: Signature::any(1, Volatility::Immutable),
        }
    }
}

fn names_type() -> DataType {
    DataType::List(Arc::new(Field::new_list_field(DataType::Utf8, true)))
}

/// The OIDs of one `oidvector`/array text: `700 701`, `{23,25}` or `[2276]`.
fn oids_in(text: &str, out: &mut Int32Builder) -> usize {
    let mut n = 0;
    for token in text.split(|c: char| !c.is_ascii_digit()) {
        if let Ok(oid) = token.parse::<i32>() {
            out.append_value(oid);
            n += 1;
        }
    }
    n
}

impl ScalarUDFImpl for PgRegtypeNames {
    fn name(&self) -> &str {
        "_pg_regtype_names"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, args: &[DataType]) -> Result<DataType> {
        match args.first() {
            Some(
                DataType::Utf8
                | DataType::Utf8View
                | DataType::LargeUtf8
                | DataType::Null
                | DataType::List(_),
            ) => Ok(names_type()),
            Some(other) => plan_err!(
                "a cast to regtype[] takes an oidvector or an array of type OIDs, got {other}"
            ),
            None => plan_err!("_pg_regtype_names takes one argument"),
        }
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let [input] = args.args.as_slice() else {
            return exec_err!("_pg_regtype_names takes one argument");
        };
        let input = input.to_array(rows)?;
        let mut oids = Int32Builder::new();
        let mut lengths = Vec::with_capacity(rows);
        let mut valid = Vec::with_capacity(rows);
        match input.data_type() {
            DataType::Null => {
                lengths.resize(rows, 0);
                valid.resize(rows, false);
            }
            DataType::List(_) => {
                let lists = input.as_list::<i32>();
                let values = datafusion::arrow::compute::cast(lists.values(), &DataType::Int32)?;
                let values = values.as_primitive::<datafusion::arrow::datatypes::Int32Type>();
                let offsets = lists.value_offsets();
                for row in 0..rows {
                    valid.push(lists.is_valid(row));
                    let (start, end) = (offsets[row] as usize, offsets[row + 1] as usize);
                    for k in start..end {
                        oids.append_option(values.is_valid(k).then(|| values.value(k)));
                    }
                    lengths.push(end - start);
                }
            }
            _ => {
                let text = datafusion::arrow::compute::cast(&input, &DataType::Utf8)?;
                let text = text.as_string::<i32>();
                for row in 0..rows {
                    valid.push(text.is_valid(row));
                    lengths.push(if text.is_valid(row) {
                        oids_in(text.value(row), &mut oids)
                    } else {
                        0
                    });
                }
            }
        }
        let oids: Int32Array = oids.finish();
        let count = oids.len();
        let typmods = Arc::new(Int32Array::new_null(count)) as ArrayRef;
        let format_type = create_format_type_udf();
        let names = format_type
            .invoke_with_args(ScalarFunctionArgs {
                args: vec![
                    ColumnarValue::Array(Arc::new(oids)),
                    ColumnarValue::Array(typmods),
                ],
                arg_fields: vec![
                    Arc::new(Field::new("oid", DataType::Int32, true)),
                    Arc::new(Field::new("typmod", DataType::Int32, true)),
                ],
                number_rows: count,
                return_field: Arc::new(Field::new("name", DataType::Utf8, true)),
                config_options: Arc::clone(&args.config_options),
            })?
            .to_array(count)?;
        let names = datafusion::arrow::compute::cast(&names, &DataType::Utf8)?;
        let out = ListArray::try_new(
            Arc::new(Field::new_list_field(DataType::Utf8, true)),
            OffsetBuffer::from_lengths(lengths),
            names,
            Some(valid.into()),
        )?;
        Ok(ColumnarValue::Array(Arc::new(out)))
    }
}

pub fn udf() -> ScalarUDF {
    ScalarUDF::new_from_impl(PgRegtypeNames::new())
}

#[cfg(test)]
mod tests {
    use datafusion::prelude::SessionContext;

    use crate::pg_compat::test_util::table_lines;

    #[tokio::test]
    async fn names_of_oid_vectors_and_arrays() {
        let ctx = SessionContext::new();
        ctx.register_udf(super::udf());
        let rows = table_lines(
            &ctx,
            "SELECT k, array_to_string(_pg_regtype_names(v), ',') AS names FROM (VALUES \
             (1, '23 25'), (2, '{16,1700}'), (3, ''), (4, NULL)) t(k, v) ORDER BY k",
        )
        .await;
        assert_eq!(
            rows,
            [
                "| 1 | integer,text    |",
                "| 2 | boolean,numeric |",
                "| 3 |                 |",
                "| 4 |                 |"
            ]
        );
        let rows = table_lines(
            &ctx,
            "SELECT array_to_string(_pg_regtype_names([20, 701]), ',') AS names",
        )
        .await;
        assert_eq!(rows, ["| bigint,double precision |"]);
    }
}
