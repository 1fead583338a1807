//! Compact per-group event storage shared by `window_funnel`, `sequence_match` and
//! `sequence_count`: one flat arena of `(group, time, condition bitmask)` for all groups (16 bytes
//! per stored row, no per-group allocation), bucketed by group only when results are produced.
//!
//! NULL rule (ClickHouse's): a row whose time or any condition is NULL is skipped entirely; a group
//! in which every row was skipped yields NULL.

use std::mem::size_of;
use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, BooleanBufferBuilder, ListArray, PrimitiveArray,
};
use datafusion::arrow::buffer::{BooleanBuffer, NullBuffer, OffsetBuffer};
use datafusion::arrow::datatypes::{DataType, Field, FieldRef, Int64Type, UInt32Type};
use datafusion::common::ScalarValue;
use datafusion::error::Result;
use datafusion::logical_expr::{Accumulator, EmitTo, GroupsAccumulator};

use super::time::times_as_i64;
use crate::SqlError;

/// Events of the groups being emitted, bucketed by group in arrival order.
pub(crate) struct Grouped {
    offsets: Vec<usize>,
    pub(crate) times: Vec<i64>,
    pub(crate) masks: Vec<u32>,
    seen: Vec<bool>,
}

impl Grouped {
    pub(crate) fn len(&self) -> usize {
        self.seen.len()
    }

    /// `None` when every row of the group had a NULL argument.
    pub(crate) fn group(&self, g: usize) -> Option<(&[i64], &[u32])> {
        if !self.seen[g] {
            return None;
        }
        let (a, b) = (self.offsets[g], self.offsets[g + 1]);
        Some((&self.times[a..b], &self.masks[a..b]))
    }

    pub(crate) fn nulls(&self) -> Option<NullBuffer> {
        let nulls = NullBuffer::from(self.seen.clone());
        (nulls.null_count() > 0).then_some(nulls)
    }
}

/// Turns the events of emitted groups into the function's result column.
pub(crate) trait Finish: Send + Sync + 'static {
    fn finish(&self, groups: &Grouped) -> Result<ArrayRef>;
}

/// The state columns every event-arena accumulator exchanges between partitions.
pub(crate) fn state_fields(name: &str) -> Vec<FieldRef> {
    vec![
        Arc::new(Field::new(
            format!("{name}[times]"),
            DataType::List(Arc::new(Field::new_list_field(DataType::Int64, false))),
            true,
        )),
        Arc::new(Field::new(
            format!("{name}[masks]"),
            DataType::List(Arc::new(Field::new_list_field(DataType::UInt32, false))),
            true,
        )),
    ]
}

pub(crate) struct EventGroupsAccumulator<F: Finish> {
    group: Vec<u32>,
    times: Vec<i64>,
    masks: Vec<u32>,
    seen: Vec<bool>,
    /// Keep rows that match no condition (windowFunnel's `strict_order` needs them).
    keep_unmatched: bool,
    /// Leading constant arguments (window, mode, pattern) before the time column.
    skip: usize,
    finish: F,
}

impl<F: Finish> EventGroupsAccumulator<F> {
    pub(crate) fn new(keep_unmatched: bool, finish: F) -> Self {
        Self {
            group: vec![],
            times: vec![],
            masks: vec![],
            seen: vec![],
            keep_unmatched,
            skip: 0,
            finish,
        }
    }

    pub(crate) fn skip_leading(mut self, skip: usize) -> Self {
        self.skip = skip;
        self
    }

    fn reserve(&mut self, additional: usize) {
        self.group.reserve(additional);
        self.times.reserve(additional);
        self.masks.reserve(additional);
    }

    fn push(&mut self, group: usize, time: i64, mask: u32) -> Result<()> {
        let group = u32::try_from(group).map_err(|_| {
            SqlError::with_code(
                "54000",
                "too many groups for a funnel aggregate (over 4 billion)",
            )
        })?;
        self.group.push(group);
        self.times.push(time);
        self.masks.push(mask);
        Ok(())
    }

    /// Buckets the emitted groups' events and keeps the rest, renumbered.
    fn take(&mut self, emit_to: EmitTo) -> Grouped {
        let n = match emit_to {
            EmitTo::All => self.seen.len(),
            EmitTo::First(n) => n.min(self.seen.len()),
        };
        let mut offsets = vec![0usize; n + 1];
        for &g in &self.group {
            if (g as usize) < n {
                offsets[g as usize + 1] += 1;
            }
        }
        for i in 0..n {
            offsets[i + 1] += offsets[i];
        }
        let total = offsets[n];
        let mut times = vec![0i64; total];
        let mut masks = vec![0u32; total];
        let mut cursor = offsets.clone();
        let (mut kept_group, mut kept_times, mut kept_masks) = (vec![], vec![], vec![]);
        let keep_rest = total < self.group.len();
        for i in 0..self.group.len() {
            let g = self.group[i] as usize;
            if g < n {
                let at = cursor[g];
                times[at] = self.times[i];
                masks[at] = self.masks[i];
                cursor[g] += 1;
            } else if keep_rest {
                kept_group.push((g - n) as u32);
                kept_times.push(self.times[i]);
                kept_masks.push(self.masks[i]);
            }
        }
        self.group = kept_group;
        self.times = kept_times;
        self.masks = kept_masks;
        let seen = emit_to.take_needed(&mut self.seen);
        Grouped {
            offsets,
            times,
            masks,
            seen,
        }
    }
}

impl<F: Finish> GroupsAccumulator for EventGroupsAccumulator<F> {
    fn update_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        opt_filter: Option<&BooleanArray>,
        total_num_groups: usize,
    ) -> Result<()> {
        self.seen.resize(total_num_groups, false);
        let mut rows = Vec::new();
        rows_of(&values[self.skip..], opt_filter, &mut rows)?;
        self.reserve(rows.len());
        for (&g, row) in group_indices.iter().zip(rows) {
            if let Some((time, mask)) = row {
                self.seen[g] = true;
                if mask != 0 || self.keep_unmatched {
                    self.push(g, time, mask)?;
                }
            }
        }
        Ok(())
    }

    fn convert_to_state(
        &self,
        values: &[ArrayRef],
        opt_filter: Option<&BooleanArray>,
    ) -> Result<Vec<ArrayRef>> {
        let mut rows = Vec::new();
        rows_of(&values[self.skip..], opt_filter, &mut rows)?;
        let stored =
            |r: &Option<(i64, u32)>| matches!(r, Some((_, m)) if *m != 0 || self.keep_unmatched);
        let offsets =
            OffsetBuffer::<i32>::from_lengths(rows.iter().map(|r| usize::from(stored(r))));
        let nulls = NullBuffer::from(rows.iter().map(Option::is_some).collect::<Vec<_>>());
        let kept = rows.iter().filter(|r| stored(r)).flatten();
        let times: PrimitiveArray<Int64Type> = kept.clone().map(|r| r.0).collect();
        let masks: PrimitiveArray<UInt32Type> = kept.map(|r| r.1).collect();
        Ok(vec![
            Arc::new(ListArray::new(
                Arc::new(Field::new_list_field(DataType::Int64, false)),
                offsets.clone(),
                Arc::new(times),
                Some(nulls.clone()),
            )),
            Arc::new(ListArray::new(
                Arc::new(Field::new_list_field(DataType::UInt32, false)),
                offsets,
                Arc::new(masks),
                Some(nulls),
            )),
        ])
    }

    fn evaluate(&mut self, emit_to: EmitTo) -> Result<ArrayRef> {
        let grouped = self.take(emit_to);
        self.finish.finish(&grouped)
    }

    fn state(&mut self, emit_to: EmitTo) -> Result<Vec<ArrayRef>> {
        let grouped = self.take(emit_to);
        let offsets =
            OffsetBuffer::<i32>::from_lengths(grouped.offsets.windows(2).map(|w| w[1] - w[0]));
        let nulls = grouped.nulls();
        let times = ListArray::new(
            Arc::new(Field::new_list_field(DataType::Int64, false)),
            offsets.clone(),
            Arc::new(PrimitiveArray::<Int64Type>::from(grouped.times)),
            nulls.clone(),
        );
        let masks = ListArray::new(
            Arc::new(Field::new_list_field(DataType::UInt32, false)),
            offsets,
            Arc::new(PrimitiveArray::<UInt32Type>::from(grouped.masks)),
            nulls,
        );
        Ok(vec![Arc::new(times), Arc::new(masks)])
    }

    fn merge_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        total_num_groups: usize,
    ) -> Result<()> {
        self.seen.resize(total_num_groups, false);
        let times = values[0].as_list::<i32>();
        let masks = values[1].as_list::<i32>();
        let time_values = times.values().as_primitive::<Int64Type>();
        let mask_values = masks.values().as_primitive::<UInt32Type>();
        let offsets = times.value_offsets();
        self.reserve(time_values.len());
        for (row, &g) in group_indices.iter().enumerate() {
            if times.is_null(row) {
                continue;
            }
            self.seen[g] = true;
            for i in offsets[row] as usize..offsets[row + 1] as usize {
                self.push(g, time_values.value(i), mask_values.value(i))?;
            }
        }
        Ok(())
    }

    fn size(&self) -> usize {
        self.group.capacity() * size_of::<u32>()
            + self.times.capacity() * size_of::<i64>()
            + self.masks.capacity() * size_of::<u32>()
            + self.seen.capacity()
    }
}

/// Runs a [`GroupsAccumulator`] as a plain [`Accumulator`] over a single group (aggregates without
/// GROUP BY, and aggregates used as window functions).
pub(crate) struct SingleGroup<G> {
    inner: G,
}

impl<G> std::fmt::Debug for SingleGroup<G> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SingleGroup").finish_non_exhaustive()
    }
}

impl<G: GroupsAccumulator + Sync> SingleGroup<G> {
    pub(crate) fn new(inner: G) -> Self {
        Self { inner }
    }
}

impl<G: GroupsAccumulator + Sync> SingleGroup<G> {
    /// Drains the state and puts it back: the way to look at it without losing it.
    fn snapshot(&mut self) -> Result<Vec<ArrayRef>> {
        let state = self.inner.state(EmitTo::All)?;
        let rows = state.first().map_or(0, |s| s.len());
        self.inner.merge_batch(&state, &vec![0; rows], 1)?;
        Ok(state)
    }
}

impl<G: GroupsAccumulator + Sync> Accumulator for SingleGroup<G> {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        let rows = values.first().map_or(0, |v| v.len());
        self.inner.update_batch(values, &vec![0; rows], None, 1)
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        let state = self.snapshot()?;
        let result = self.inner.evaluate(EmitTo::All)?;
        let rows = state.first().map_or(0, |s| s.len());
        self.inner.merge_batch(&state, &vec![0; rows], 1)?;
        if result.is_empty() {
            // No rows reached this accumulator at all.
            return ScalarValue::try_from(result.data_type());
        }
        ScalarValue::try_from_array(&result, 0)
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        self.snapshot()?
            .iter()
            .map(|a| {
                if a.is_empty() {
                    ScalarValue::try_from(a.data_type())
                } else {
                    ScalarValue::try_from_array(a, 0)
                }
            })
            .collect()
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        let rows = states.first().map_or(0, |v| v.len());
        self.inner.merge_batch(states, &vec![0; rows], 1)
    }

    fn size(&self) -> usize {
        size_of::<Self>() + self.inner.size()
    }
}

/// The bitmask of true conditions per row, and which rows count (`None`: all of them): rows
/// with a NULL condition, a NULL in `nulls`, or filtered out do not. Works on whole bitmaps.
pub(crate) fn condition_masks(
    conditions: &[ArrayRef],
    nulls: Option<&NullBuffer>,
    opt_filter: Option<&BooleanArray>,
    rows: usize,
) -> (Vec<u32>, Option<BooleanBuffer>) {
    let mut masks = vec![0u32; rows];
    let mut valid: Option<BooleanBuffer> = None;
    let mut and = |buffer: &BooleanBuffer| {
        valid = Some(match &valid {
            Some(v) => v & buffer,
            None => buffer.clone(),
        })
    };
    if let Some(n) = nulls {
        and(n.inner());
    }
    for (i, c) in conditions.iter().enumerate() {
        let c = c.as_boolean();
        if let Some(n) = c.nulls() {
            and(n.inner());
        }
        for row in c.values().set_indices() {
            masks[row] |= 1 << i;
        }
    }
    if let Some(f) = opt_filter {
        and(f.values());
        if let Some(n) = f.nulls() {
            and(n.inner());
        }
    }
    (masks, valid)
}

/// Reads `[ts, cond1, …]` into `(time, condition bitmask)` per row; `None` for rows that are
/// filtered out or have a NULL argument.
fn rows_of(
    values: &[ArrayRef],
    opt_filter: Option<&BooleanArray>,
    out: &mut Vec<Option<(i64, u32)>>,
) -> Result<()> {
    let times = times_as_i64(&values[0])?;
    let (masks, valid) = condition_masks(&values[1..], times.nulls(), opt_filter, times.len());
    out.clear();
    let times = times.values();
    match valid {
        None => out.extend(times.iter().zip(masks).map(|(&t, m)| Some((t, m)))),
        Some(v) => out.extend(
            times
                .iter()
                .zip(masks)
                .zip(v.iter())
                .map(|((&t, m), ok)| ok.then_some((t, m))),
        ),
    }
    Ok(())
}

/// Builds a nullable result column of primitive values, one per group.
pub(crate) fn primitive_result<T, V>(groups: &Grouped, mut value: V) -> Result<ArrayRef>
where
    T: datafusion::arrow::datatypes::ArrowPrimitiveType,
    V: FnMut(&[i64], &[u32]) -> Result<T::Native>,
{
    let mut out = Vec::with_capacity(groups.len());
    for g in 0..groups.len() {
        out.push(match groups.group(g) {
            Some((t, m)) => value(t, m)?,
            None => T::Native::default(),
        });
    }
    Ok(Arc::new(PrimitiveArray::<T>::new(
        out.into(),
        groups.nulls(),
    )))
}

/// Builds a nullable boolean result column, one per group.
pub(crate) fn boolean_result<V>(groups: &Grouped, mut value: V) -> Result<ArrayRef>
where
    V: FnMut(&[i64], &[u32]) -> Result<bool>,
{
    let mut out = BooleanBufferBuilder::new(groups.len());
    for g in 0..groups.len() {
        out.append(match groups.group(g) {
            Some((t, m)) => value(t, m)?,
            None => false,
        });
    }
    Ok(Arc::new(BooleanArray::new(out.finish(), groups.nulls())))
}
