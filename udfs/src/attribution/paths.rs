//! Journeys aggregated per distinct path: the shared input and partial state of
//! `markov_attribution` and `shapley_attribution`.
//!
//! A path is a sequence of channel names, given as text (`'search > video > search'`, names
//! trimmed, empty names skipped, the ChannelAttribution format) or as a LIST of names. Each row
//! adds three non-negative counts to its path (for Markov: conversions, value, nulls; for
//! Shapley: conversions, value, journeys).

use datafusion::common::HashMap;
use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, Float64Array, GenericListArray, ListArray, ListBuilder, StringBuilder,
};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field, FieldRef, Float64Type};
use datafusion::common::ScalarValue;
use datafusion::error::Result;

use crate::SqlError;

/// The type a path argument (text, or a list of text) is coerced to; `None` if it is neither.
pub(crate) fn path_coercion(dt: &DataType) -> Option<DataType> {
    let text = |t: &DataType| crate::funnel::is_text(t) || t == &DataType::Null;
    match dt {
        DataType::List(f) | DataType::LargeList(f) if text(f.data_type()) => Some(DataType::List(
            Arc::new(Field::new_list_field(DataType::Utf8, true)),
        )),
        dt if text(dt) => Some(DataType::Utf8),
        _ => None,
    }
}

/// Splits a ChannelAttribution-style path: `>`-separated, names trimmed, empty names skipped.
pub(crate) fn split_path(text: &str) -> impl Iterator<Item = &str> {
    text.split('>').map(str::trim).filter(|s| !s.is_empty())
}

/// Per distinct path (channel ids), the summed counts.
#[derive(Debug, Default)]
pub(crate) struct PathCounts {
    channel_ids: HashMap<Box<str>, u32>,
    pub channels: Vec<Box<str>>,
    pub paths: HashMap<Vec<u32>, [f64; 3]>,
    /// Text paths as written, summed before splitting: far fewer distinct paths than rows.
    raw: HashMap<Box<str>, [f64; 3]>,
    bytes: usize,
}

impl PathCounts {
    fn intern(&mut self, name: &str) -> u32 {
        if let Some(&id) = self.channel_ids.get(name) {
            return id;
        }
        let id = self.channels.len() as u32;
        self.bytes += name.len() * 2;
        self.channel_ids.insert(name.into(), id);
        self.channels.push(name.into());
        id
    }

    fn add_path(&mut self, path: Vec<u32>, counts: [f64; 3]) {
        if path.is_empty() {
            return;
        }
        let entry = self.paths.entry(path).or_insert_with_key(|p| {
            self.bytes += p.len() * 4 + 64;
            [0.0; 3]
        });
        for (e, c) in entry.iter_mut().zip(counts) {
            *e += c;
        }
    }

    /// Adds rows: `path` (text or list of text) and three count columns (NULL counts as 0).
    /// `names` names the count columns in errors.
    pub(crate) fn update(
        &mut self,
        path: &ArrayRef,
        counts: [&ArrayRef; 3],
        names: [&str; 3],
        usage: &str,
    ) -> Result<()> {
        let counts: Vec<Float64Array> = counts
            .iter()
            .map(|c| {
                Ok(cast(c, &DataType::Float64)?
                    .as_primitive::<Float64Type>()
                    .clone())
            })
            .collect::<Result<_>>()?;
        let count_at = |row: usize| -> Result<[f64; 3]> {
            let mut out = [0.0; 3];
            for (k, c) in counts.iter().enumerate() {
                if c.is_valid(row) {
                    let v = c.value(row);
                    if !(v.is_finite() && v >= 0.0) {
                        return Err(SqlError::data_exception(format!(
                            "{} must be a finite number >= 0, got {v}. Usage: {usage}",
                            names[k]
                        )));
                    }
                    out[k] = v;
                }
            }
            Ok(out)
        };
        match path.data_type() {
            DataType::List(_) => {
                let lists = path.as_list::<i32>();
                let mut ids = Vec::new();
                for row in 0..lists.len() {
                    if lists.is_null(row) {
                        continue;
                    }
                    let values = lists.value(row);
                    let names = cast(&values, &DataType::Utf8)?;
                    ids.clear();
                    for name in names.as_string::<i32>().iter().flatten() {
                        let name = name.trim();
                        if !name.is_empty() {
                            ids.push(self.intern(name));
                        }
                    }
                    self.add_path(ids.clone(), count_at(row)?);
                }
            }
            _ => {
                let text = cast(path, &DataType::Utf8)?;
                for (row, value) in text.as_string::<i32>().iter().enumerate() {
                    let Some(value) = value else { continue };
                    let counts = count_at(row)?;
                    let entry = match self.raw.get_mut(value) {
                        Some(e) => e,
                        None => {
                            self.bytes += value.len() + 64;
                            self.raw.entry(value.into()).or_insert([0.0; 3])
                        }
                    };
                    for (e, c) in entry.iter_mut().zip(counts) {
                        *e += c;
                    }
                }
            }
        }
        Ok(())
    }

    /// Splits the text paths gathered so far into channel sequences.
    pub(crate) fn flush(&mut self) {
        let raw = std::mem::take(&mut self.raw);
        let mut ids = Vec::new();
        for (text, counts) in raw {
            ids.clear();
            for name in split_path(&text) {
                ids.push(self.intern(name));
            }
            self.add_path(ids.clone(), counts);
        }
    }

    pub(crate) fn size(&self) -> usize {
        std::mem::size_of::<Self>() + self.bytes
    }

    /// The partial state: paths as LIST<LIST<TEXT>> and the three counts as LIST<DOUBLE>.
    pub(crate) fn state(&mut self) -> Result<Vec<ScalarValue>> {
        self.flush();
        let mut paths = ListBuilder::new(ListBuilder::new(StringBuilder::new()));
        let mut counts: [Vec<f64>; 3] = Default::default();
        for (path, c) in &self.paths {
            let inner = paths.values();
            for &id in path {
                inner.values().append_value(&self.channels[id as usize]);
            }
            inner.append(true);
            for k in 0..3 {
                counts[k].push(c[k]);
            }
        }
        paths.append(true);
        let mut out = vec![ScalarValue::List(Arc::new(paths.finish()))];
        for c in counts {
            out.push(ScalarValue::List(Arc::new(
                ListArray::from_iter_primitive::<Float64Type, _, _>([Some(
                    c.into_iter().map(Some),
                )]),
            )));
        }
        Ok(out)
    }

    /// The partial-state fields of an aggregate built on this, the counts named by `labels`.
    pub(crate) fn state_fields(name: &str, labels: [&str; 3]) -> Vec<FieldRef> {
        Self::state_types()
            .into_iter()
            .zip(std::iter::once("paths").chain(labels))
            .map(|(t, n)| Arc::new(Field::new(format!("{name}[{n}]"), t, true)))
            .collect()
    }

    fn state_types() -> [DataType; 4] {
        let text_list = DataType::List(Arc::new(Field::new_list_field(DataType::Utf8, true)));
        let f64_list = DataType::List(Arc::new(Field::new_list_field(DataType::Float64, true)));
        [
            DataType::List(Arc::new(Field::new_list_field(text_list, true))),
            f64_list.clone(),
            f64_list.clone(),
            f64_list,
        ]
    }

    pub(crate) fn merge(&mut self, states: &[ArrayRef]) -> Result<()> {
        let paths = states[0].as_list::<i32>();
        let counts: Vec<&GenericListArray<i32>> =
            states[1..4].iter().map(|s| s.as_list::<i32>()).collect();
        for row in 0..paths.len() {
            if paths.is_null(row) {
                continue;
            }
            let lists = paths.value(row);
            let lists = lists.as_list::<i32>();
            let c: Vec<ArrayRef> = counts.iter().map(|c| c.value(row)).collect();
            let c: Vec<&Float64Array> = c.iter().map(|a| a.as_primitive::<Float64Type>()).collect();
            for i in 0..lists.len() {
                let names = lists.value(i);
                let ids: Vec<u32> = names
                    .as_string::<i32>()
                    .iter()
                    .flatten()
                    .map(|n| self.intern(n))
                    .collect();
                self.add_path(ids, [c[0].value(i), c[1].value(i), c[2].value(i)]);
            }
        }
        Ok(())
    }
}
