//! `regexp_split_to_array(string, pattern [, flags])`: PostgreSQL's split of a string at every
//! match of a regular expression, which DataFusion lacks; `regexp_split_to_table(…)` is
//! rewritten to `unnest(regexp_split_to_array(…))` (pgcli's name-casing query uses it).
//!
//! As in PostgreSQL, zero-length matches at the start or end of the string or right after the
//! previous match do not split (`regexp_split_to_array('abc', '')` is `{a,b,c}`). Flags: `i`
//! (case-insensitive), `c` (case-sensitive, the default), `s`/`n` (newline sensitivity);
//! others are refused, `g` among them as in PostgreSQL.

use std::sync::Arc;

use datafusion::arrow::array::{Array, AsArray, ListBuilder, StringBuilder};
use datafusion::arrow::datatypes::{DataType, Field};
use datafusion::common::{exec_err, plan_err};
use datafusion::error::Result;
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, TypeSignature,
    Volatility,
};
use regex::Regex;

#[derive(Debug, PartialEq, Eq, Hash)]
pub struct RegexpSplitToArray {
    signature: Signature,
}

impl RegexpSplitToArray {
    pub fn new() -> Self {
        RegexpSplitToArray {
            signature: Signature::one_of(
                vec![TypeSignature::String(2), TypeSignature::String(3)],
                Volatility::Immutable,
            ),
        }
    }
}

const USAGE: &str = "call it as regexp_split_to_array(string, pattern [, flags]), e.g. \
                     regexp_split_to_array('a, b,c', ',\\s*')";

fn compile(pattern: &str, flags: &str) -> Result<Regex> {
    let mut prefix = String::new();
    for flag in flags.chars() {
        match flag {
            'i' => prefix.push_str("(?i)"),
            'c' => prefix.push_str("(?-i)"),
            // Newline-sensitive: `.` does not match a newline (Rust's default) and `^`/`$`
            // match at line breaks.
            'n' | 'm' => prefix.push_str("(?m)"),
            's' => prefix.push_str("(?s)"),
            other => {
                return exec_err!(
                    "regexp_split_to_array does not support the regular expression flag \
                     '{other}' (supported: i, c, n, s); {USAGE}"
                )
            }
        }
    }
    Regex::new(&format!("{prefix}{pattern}")).or_else(|e| {
        exec_err!("invalid regular expression {pattern:?} in regexp_split_to_array: {e}")
    })
}

/// The pieces of `text` between the matches of `re`, PostgreSQL's way.
fn split<'a>(re: &Regex, text: &'a str) -> Vec<&'a str> {
    let mut pieces = Vec::new();
    let mut start = 0;
    let mut last_end = None;
    for m in re.find_iter(text) {
        let empty = m.start() == m.end();
        if empty && (m.start() == 0 || m.start() == text.len() || last_end == Some(m.start())) {
            continue;
        }
        pieces.push(&text[start..m.start()]);
        start = m.end();
        last_end = Some(m.end());
    }
    pieces.push(&text[start..]);
    pieces
}

impl ScalarUDFImpl for RegexpSplitToArray {
    fn name(&self) -> &str {
        "regexp_split_to_array"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, args: &[DataType]) -> Result<DataType> {
        if !(2..=3).contains(&args.len()) {
            return plan_err!("regexp_split_to_array takes 2 or 3 arguments; {USAGE}");
        }
        Ok(DataType::List(Arc::new(Field::new_list_field(
            DataType::Utf8,
            true,
        ))))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let arrays = args
            .args
            .iter()
            .map(|a| {
                a.to_array(rows)
                    .and_then(|a| Ok(datafusion::arrow::compute::cast(&a, &DataType::Utf8)?))
            })
            .collect::<Result<Vec<_>>>()?;
        let text = arrays[0].as_string::<i32>();
        let patterns = arrays[1].as_string::<i32>();
        let flags = arrays.get(2).map(|a| a.as_string::<i32>());
        let mut out = ListBuilder::new(StringBuilder::new());
        // Patterns are almost always constant: compile once per distinct (pattern, flags).
        let mut compiled: Option<((String, String), Regex)> = None;
        for row in 0..rows {
            let flag_text = match flags {
                Some(f) if f.is_null(row) => {
                    out.append_null();
                    continue;
                }
                Some(f) => f.value(row),
                None => "",
            };
            if text.is_null(row) || patterns.is_null(row) {
                out.append_null();
                continue;
            }
            let key = (patterns.value(row).to_string(), flag_text.to_string());
            let re = match &compiled {
                Some((k, re)) if *k == key => re,
                _ => {
                    let re = compile(&key.0, &key.1)?;
                    &compiled.insert((key, re)).1
                }
            };
            for piece in split(re, text.value(row)) {
                out.values().append_value(piece);
            }
            out.append(true);
        }
        Ok(ColumnarValue::Array(Arc::new(out.finish())))
    }
}

pub fn udf() -> ScalarUDF {
    ScalarUDF::new_from_impl(RegexpSplitToArray::new())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pieces(pattern: &str, text: &str) -> Vec<String> {
        split(&compile(pattern, "").unwrap(), text)
            .into_iter()
            .map(String::from)
            .collect()
    }

    /// Expected values from PostgreSQL 15 (`SELECT regexp_split_to_array(…)`).
    #[test]
    fn splits_like_postgresql() {
        assert_eq!(
            pieces("\\s+", "the quick  brown fox"),
            ["the", "quick", "brown", "fox"]
        );
        assert_eq!(pieces("", "abc"), ["a", "b", "c"]);
        assert_eq!(pieces("\\s*", "a b"), ["a", "b"]);
        assert_eq!(pieces(",", ",a,,b,"), ["", "a", "", "b", ""]);
        assert_eq!(pieces("x", ""), [""]);
        assert_eq!(pieces("\\W+", "foo(bar, baz)"), ["foo", "bar", "baz", ""]);
        assert_eq!(split(&compile("X", "i").unwrap(), "axbXc"), ["a", "b", "c"]);
        assert!(compile("a", "g").is_err());
        assert!(compile("(", "").is_err());
    }

    #[tokio::test]
    async fn as_a_table_through_unnest() {
        let ctx = datafusion::prelude::SessionContext::new();
        ctx.register_udf(udf());
        let rows = crate::pg_compat::test_util::table_lines(
            &ctx,
            "SELECT unnest(regexp_split_to_array('a1b22c', '[0-9]+')) AS w",
        )
        .await;
        assert_eq!(rows, ["| a |", "| b |", "| c |"]);
    }
}
