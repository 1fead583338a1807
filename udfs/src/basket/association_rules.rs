//! `frequent_itemsets(basket_id, item, min_support [, max_len])` and
//! `association_rules(basket_id, item, min_support, min_confidence [, max_len])`: aggregates
//! over (basket, item) rows, with mlxtend's definitions of support, confidence, lift, leverage
//! and conviction.

use std::collections::HashMap;
use std::mem::size_of;
use std::sync::{Arc, LazyLock};

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, Float64Array, Int64Array, ListArray, StringArray, StructArray,
};
use datafusion::arrow::buffer::OffsetBuffer;
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field, FieldRef, Fields, Int64Type};
use datafusion::common::ScalarValue;
use datafusion::error::Result;
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::{
    Accumulator, AggregateUDF, AggregateUDFImpl, Documentation, Signature,
};

use super::mining::{mine, rules, Mined};
use crate::args::{constant_f64, constant_i64};
use crate::SqlError;

const USAGE_ITEMSETS: &str = "frequent_itemsets(basket_id, item, min_support [, max_len]) — e.g. \
    frequent_itemsets(order_id, product_id, 0.001)";
const USAGE_RULES: &str =
    "association_rules(basket_id, item, min_support, min_confidence [, max_len]) — \
    e.g. association_rules(order_id, product_id, 0.001, 0.1)";

const METRICS_DOC: &str =
    "Baskets are the distinct `basket_id` values (rows with a NULL basket or \
    item are ignored; an item repeated in a basket counts once). An itemset is frequent when it \
    is in at least ceil(min_support × baskets) baskets, as mlxtend's fpgrowth counts. Items are \
    returned as text, sorted within each list. Results are exact (no sampling) and checked \
    against mlxtend 0.25.";

static DOC_ITEMSETS: LazyLock<Documentation> = LazyLock::new(|| {
    Documentation::builder(
        super::DOC_SECTION_BASKET,
        format!("Aggregate: every frequent itemset of the group's baskets as a list of structs \
            {{items, support, count}} (support = count / baskets), ordered by count descending, \
            then size, then items. {METRICS_DOC}"),
        "frequent_itemsets(basket_id, item, min_support [, max_len])",
    )
    .with_sql_example(
        "SELECT s.items, s.support, s.count\nFROM (SELECT unnest(frequent_itemsets(order_id, product_id, 0.002, 3)) AS s FROM order_items)\nWHERE cardinality(s.items) > 1 LIMIT 10",
    )
    .with_argument("basket_id", "Any type; rows with the same value form one basket.")
    .with_argument("item", "A text or integer column (dictionary-encoded too); compared and returned as text.")
    .with_argument("min_support", "Number in (0, 1]: the smallest share of baskets an itemset must be in.")
    .with_argument("max_len", "Optional positive integer: the largest itemset size.")
    .build()
});

static DOC_RULES: LazyLock<Documentation> = LazyLock::new(|| {
    Documentation::builder(
        super::DOC_SECTION_BASKET,
        format!("Aggregate: association rules A → C from the frequent itemsets, as a list of \
            structs {{antecedent, consequent, support, confidence, lift, leverage, conviction, \
            count}} with mlxtend's definitions: support = s(A∪C), confidence = s(A∪C)/s(A), lift = \
            confidence/s(C), leverage = s(A∪C) − s(A)·s(C), conviction = (1 − s(C))/(1 − \
            confidence), Infinity when confidence is 1; count = baskets containing A∪C. Rules with \
            confidence below min_confidence are dropped. Ordered by confidence, lift and count \
            (descending), then antecedent and consequent. {METRICS_DOC}"),
        "association_rules(basket_id, item, min_support, min_confidence [, max_len])",
    )
    .with_sql_example(
        "SELECT r.antecedent, r.consequent, r.confidence, r.lift\nFROM (SELECT unnest(association_rules(order_id, product_id, 0.001, 0.2)) AS r FROM order_items)\nORDER BY r.lift DESC LIMIT 10",
    )
    .with_argument("min_confidence", "Number in [0, 1].")
    .build()
});

fn text_list() -> DataType {
    DataType::List(Arc::new(Field::new_list_field(DataType::Utf8, false)))
}

fn itemset_fields() -> Fields {
    Fields::from(vec![
        Field::new("items", text_list(), false),
        Field::new("support", DataType::Float64, false),
        Field::new("count", DataType::Int64, false),
    ])
}

fn rule_fields() -> Fields {
    Fields::from(vec![
        Field::new("antecedent", text_list(), false),
        Field::new("consequent", text_list(), false),
        Field::new("support", DataType::Float64, false),
        Field::new("confidence", DataType::Float64, false),
        Field::new("lift", DataType::Float64, false),
        Field::new("leverage", DataType::Float64, false),
        Field::new("conviction", DataType::Float64, false),
        Field::new("count", DataType::Int64, false),
    ])
}

#[derive(Debug, PartialEq, Eq, Hash)]
pub struct BasketMining {
    signature: Signature,
    rules: bool,
}

pub fn frequent_itemsets_udaf() -> Arc<AggregateUDF> {
    static UDAF: LazyLock<Arc<AggregateUDF>> = LazyLock::new(|| {
        Arc::new(AggregateUDF::from(BasketMining {
            signature: crate::args::named_signature(&[
                "basket_id",
                "item",
                "min_support",
                "max_len",
            ]),
            rules: false,
        }))
    });
    Arc::clone(&UDAF)
}

pub fn association_rules_udaf() -> Arc<AggregateUDF> {
    static UDAF: LazyLock<Arc<AggregateUDF>> = LazyLock::new(|| {
        Arc::new(AggregateUDF::from(BasketMining {
            signature: crate::args::named_signature(&[
                "basket_id",
                "item",
                "min_support",
                "min_confidence",
                "max_len",
            ]),
            rules: true,
        }))
    });
    Arc::clone(&UDAF)
}

impl BasketMining {
    fn usage(&self) -> &'static str {
        if self.rules {
            USAGE_RULES
        } else {
            USAGE_ITEMSETS
        }
    }

    /// Number of threshold arguments before the optional max_len.
    fn thresholds(&self) -> usize {
        if self.rules {
            2
        } else {
            1
        }
    }
}

impl AggregateUDFImpl for BasketMining {
    fn name(&self) -> &str {
        if self.rules {
            "association_rules"
        } else {
            "frequent_itemsets"
        }
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        let fixed = 2 + self.thresholds();
        let bad = |why: String| {
            SqlError::wrong_arguments(format!("{}: {why}. Usage: {}", self.name(), self.usage()))
        };
        if arg_types.len() != fixed && arg_types.len() != fixed + 1 {
            return Err(bad(format!(
                "expected {fixed} or {} arguments, got {}",
                fixed + 1,
                arg_types.len()
            )));
        }
        let mut out = Vec::with_capacity(arg_types.len());
        out.push(if arg_types[0].is_integer() {
            DataType::Int64
        } else {
            DataType::Utf8
        });
        let item_ok = |t: &DataType| match t {
            DataType::Dictionary(_, value) => value.is_integer() || value.is_string(),
            t => t.is_integer() || t.is_string() || t == &DataType::Null,
        };
        if !item_ok(&arg_types[1]) {
            return Err(bad(format!(
                "the item must be a text or integer column, got {} (CAST it to TEXT to use its values as items)",
                arg_types[1]
            )));
        }
        out.push(DataType::Utf8);
        for (i, t) in arg_types.iter().enumerate().skip(2) {
            let is_max_len = i == fixed;
            if is_max_len && !(t.is_integer() || t == &DataType::Null) {
                return Err(bad(format!("max_len must be an integer, got {t}")));
            }
            if !(is_max_len || t.is_numeric() || t == &DataType::Null) {
                return Err(bad(format!(
                    "argument {} must be a number between 0 and 1, got {t}",
                    i + 1
                )));
            }
            out.push(t.clone());
        }
        Ok(out)
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        let fields = if self.rules {
            rule_fields()
        } else {
            itemset_fields()
        };
        Ok(DataType::List(Arc::new(Field::new_list_field(
            DataType::Struct(fields),
            false,
        ))))
    }

    fn accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        let usage = self.usage();
        let min_support = constant_f64(&args.exprs[2], "min_support", usage)?;
        if !(min_support > 0.0 && min_support <= 1.0) {
            return Err(SqlError::invalid_parameter(format!(
                "min_support must be in (0, 1], got {min_support}. Usage: {usage}"
            )));
        }
        let min_confidence = if self.rules {
            let c = constant_f64(&args.exprs[3], "min_confidence", usage)?;
            if !(0.0..=1.0).contains(&c) {
                return Err(SqlError::invalid_parameter(format!(
                    "min_confidence must be in [0, 1], got {c}. Usage: {usage}"
                )));
            }
            Some(c)
        } else {
            None
        };
        let max_len = match args.exprs.get(2 + self.thresholds()) {
            None => None,
            Some(e) => {
                let n = constant_i64(e, "max_len", usage)?;
                if n < 1 {
                    return Err(SqlError::invalid_parameter(format!(
                        "max_len must be at least 1, got {n}. Usage: {usage}"
                    )));
                }
                Some(n as usize)
            }
        };
        let integer_baskets = args.expr_fields[0].data_type() == &DataType::Int64;
        Ok(Box::new(BasketAccumulator {
            min_support,
            min_confidence,
            max_len,
            baskets: if integer_baskets {
                Baskets::Int(HashMap::new(), vec![])
            } else {
                Baskets::Text(HashMap::new(), vec![])
            },
            items: HashMap::new(),
            item_names: vec![],
            pairs: vec![],
            text_bytes: 0,
        }))
    }

    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        let basket_type = if args.input_fields[0].data_type().is_integer() {
            DataType::Int64
        } else {
            DataType::Utf8
        };
        Ok(vec![
            Arc::new(Field::new(
                format!("{}[baskets]", args.name),
                DataType::List(Arc::new(Field::new_list_field(basket_type, false))),
                true,
            )),
            Arc::new(Field::new(
                format!("{}[items]", args.name),
                text_list(),
                true,
            )),
        ])
    }

    fn documentation(&self) -> Option<&Documentation> {
        Some(if self.rules {
            &DOC_RULES
        } else {
            &DOC_ITEMSETS
        })
    }
}

/// Basket ids interned to dense `u32`s, with the way back for the partial state.
#[derive(Debug)]
enum Baskets {
    Int(HashMap<i64, u32>, Vec<i64>),
    Text(HashMap<Box<str>, u32>, Vec<Box<str>>),
}

#[derive(Debug)]
struct BasketAccumulator {
    min_support: f64,
    /// `Some` for association_rules.
    min_confidence: Option<f64>,
    max_len: Option<usize>,
    baskets: Baskets,
    items: HashMap<Box<str>, u32>,
    item_names: Vec<Box<str>>,
    pairs: Vec<(u32, u32)>,
    text_bytes: usize,
}

fn intern(
    map: &mut HashMap<Box<str>, u32>,
    names: &mut Vec<Box<str>>,
    bytes: &mut usize,
    value: &str,
) -> u32 {
    if let Some(&id) = map.get(value) {
        return id;
    }
    let id = names.len() as u32;
    let name: Box<str> = value.into();
    *bytes += name.len();
    map.insert(name.clone(), id);
    names.push(name);
    id
}

impl BasketAccumulator {
    fn add(&mut self, baskets: &ArrayRef, items: &ArrayRef) -> Result<()> {
        let items = cast(items, &DataType::Utf8)?;
        let items = items.as_string::<i32>();
        let basket_ids: Vec<Option<u32>> = match &mut self.baskets {
            Baskets::Int(map, keys) => {
                let b = cast(baskets, &DataType::Int64)?;
                b.as_primitive::<Int64Type>()
                    .iter()
                    .map(|k| {
                        k.map(|k| {
                            *map.entry(k).or_insert_with(|| {
                                keys.push(k);
                                (keys.len() - 1) as u32
                            })
                        })
                    })
                    .collect()
            }
            Baskets::Text(map, keys) => {
                let b = cast(baskets, &DataType::Utf8)?;
                let mut bytes = 0;
                let ids = b
                    .as_string::<i32>()
                    .iter()
                    .map(|k| k.map(|k| intern(map, keys, &mut bytes, k)))
                    .collect();
                self.text_bytes += bytes;
                ids
            }
        };
        self.pairs.reserve(items.len());
        for (row, basket) in basket_ids.into_iter().enumerate() {
            if let (Some(b), true) = (basket, items.is_valid(row)) {
                let item = intern(
                    &mut self.items,
                    &mut self.item_names,
                    &mut self.text_bytes,
                    items.value(row),
                );
                self.pairs.push((b, item));
            }
        }
        if self.pairs.len() > u32::MAX as usize / 2 {
            return Err(SqlError::with_code(
                "54000",
                "more than 2 billion (basket, item) rows in one group",
            ));
        }
        Ok(())
    }

    fn names(&self, ids: &[u32]) -> Vec<&str> {
        let mut names: Vec<&str> = ids.iter().map(|&i| &*self.item_names[i as usize]).collect();
        names.sort_unstable();
        names
    }
}

/// A LIST<TEXT> column from lists of names.
fn text_lists(lists: &[Vec<&str>]) -> ArrayRef {
    let values: StringArray = lists.iter().flatten().map(|s| Some(*s)).collect();
    Arc::new(ListArray::new(
        Arc::new(Field::new_list_field(DataType::Utf8, false)),
        OffsetBuffer::from_lengths(lists.iter().map(Vec::len)),
        Arc::new(values),
        None,
    ))
}

fn one_list(values: StructArray) -> ScalarValue {
    let len = values.len();
    ScalarValue::List(Arc::new(ListArray::new(
        Arc::new(Field::new_list_field(values.data_type().clone(), false)),
        OffsetBuffer::from_lengths([len]),
        Arc::new(values),
        None,
    )))
}

impl Accumulator for BasketAccumulator {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        self.add(&values[0], &values[1])
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        let mut pairs = self.pairs.clone();
        let mined: Mined = mine(
            &mut pairs,
            self.item_names.len(),
            self.min_support,
            self.max_len,
        )?;
        if mined.baskets == 0 {
            return ScalarValue::try_from(self.return_type());
        }
        let n = mined.baskets as f64;
        match self.min_confidence {
            None => {
                let mut sets: Vec<(Vec<&str>, u32)> = mined
                    .itemsets
                    .iter()
                    .map(|(s, c)| (self.names(s), *c))
                    .collect();
                sets.sort_by(|a, b| {
                    b.1.cmp(&a.1)
                        .then(a.0.len().cmp(&b.0.len()))
                        .then_with(|| a.0.cmp(&b.0))
                });
                let items: Vec<Vec<&str>> = sets.iter().map(|s| s.0.clone()).collect();
                let columns: Vec<ArrayRef> = vec![
                    text_lists(&items),
                    Arc::new(Float64Array::from_iter_values(
                        sets.iter().map(|s| f64::from(s.1) / n),
                    )),
                    Arc::new(Int64Array::from_iter_values(
                        sets.iter().map(|s| i64::from(s.1)),
                    )),
                ];
                Ok(one_list(StructArray::try_new(
                    itemset_fields(),
                    columns,
                    None,
                )?))
            }
            Some(min_confidence) => {
                let rules = rules(&mined, min_confidence)?;
                let mut named: Vec<(Vec<&str>, Vec<&str>, &super::mining::Rule)> = rules
                    .iter()
                    .map(|r| (self.names(&r.antecedent), self.names(&r.consequent), r))
                    .collect();
                named.sort_by(|a, b| {
                    b.2.confidence
                        .total_cmp(&a.2.confidence)
                        .then(b.2.lift.total_cmp(&a.2.lift))
                        .then(b.2.count.cmp(&a.2.count))
                        .then_with(|| a.0.cmp(&b.0))
                        .then_with(|| a.1.cmp(&b.1))
                });
                let metric = |f: fn(&super::mining::Rule) -> f64| -> ArrayRef {
                    Arc::new(Float64Array::from_iter_values(named.iter().map(|r| f(r.2))))
                };
                let antecedents: Vec<Vec<&str>> = named.iter().map(|r| r.0.clone()).collect();
                let consequents: Vec<Vec<&str>> = named.iter().map(|r| r.1.clone()).collect();
                let columns: Vec<ArrayRef> = vec![
                    text_lists(&antecedents),
                    text_lists(&consequents),
                    metric(|r| r.support),
                    metric(|r| r.confidence),
                    metric(|r| r.lift),
                    metric(|r| r.leverage),
                    metric(|r| r.conviction),
                    Arc::new(Int64Array::from_iter_values(
                        named.iter().map(|r| i64::from(r.2.count)),
                    )),
                ];
                Ok(one_list(StructArray::try_new(
                    rule_fields(),
                    columns,
                    None,
                )?))
            }
        }
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        let baskets: ArrayRef = match &self.baskets {
            Baskets::Int(_, keys) => Arc::new(Int64Array::from_iter_values(
                self.pairs.iter().map(|p| keys[p.0 as usize]),
            )),
            Baskets::Text(_, keys) => Arc::new(StringArray::from_iter_values(
                self.pairs.iter().map(|p| &*keys[p.0 as usize]),
            )),
        };
        let items = StringArray::from_iter_values(
            self.pairs.iter().map(|p| &*self.item_names[p.1 as usize]),
        );
        let list = |values: ArrayRef| {
            ScalarValue::List(Arc::new(ListArray::new(
                Arc::new(Field::new_list_field(values.data_type().clone(), false)),
                OffsetBuffer::from_lengths([values.len()]),
                values,
                None,
            )))
        };
        Ok(vec![list(baskets), list(Arc::new(items))])
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        let (baskets, items) = (states[0].as_list::<i32>(), states[1].as_list::<i32>());
        for row in 0..baskets.len() {
            if baskets.is_valid(row) && items.is_valid(row) {
                self.add(&baskets.value(row), &items.value(row))?;
            }
        }
        Ok(())
    }

    fn size(&self) -> usize {
        let basket_keys = match &self.baskets {
            Baskets::Int(map, keys) => map.capacity() * 16 + keys.capacity() * 8,
            Baskets::Text(map, keys) => map.capacity() * 24 + keys.capacity() * 16,
        };
        size_of::<Self>()
            + basket_keys
            + self.items.capacity() * 24
            + self.item_names.capacity() * 16
            + self.text_bytes * 2
            + self.pairs.capacity() * size_of::<(u32, u32)>()
    }
}

impl BasketAccumulator {
    fn return_type(&self) -> DataType {
        let fields = if self.min_confidence.is_some() {
            rule_fields()
        } else {
            itemset_fields()
        };
        DataType::List(Arc::new(Field::new_list_field(
            DataType::Struct(fields),
            false,
        )))
    }
}
