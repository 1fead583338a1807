//! `window_funnel(window, [mode,] ts, cond1, …, condN)` → INT: the deepest funnel step reached in
//! order within `window` of the chain's first step, with ClickHouse `windowFunnel` semantics, and
//! `window_funnel_times(...)` → LIST of the reached steps' times (ClickHouse's open "conversion
//! time" request), which `funnel_report` uses for time-between-steps.

use std::sync::{Arc, LazyLock};

use datafusion::arrow::array::{ArrayRef, ListArray, PrimitiveArray};
use datafusion::arrow::buffer::OffsetBuffer;
use datafusion::arrow::datatypes::{
    DataType, Field, FieldRef, Int32Type, Int64Type, TimeUnit, TimestampMicrosecondType,
};
use datafusion::error::Result;
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::{
    Accumulator, AggregateUDF, AggregateUDFImpl, Documentation, GroupsAccumulator, Signature,
    Volatility,
};

use super::events::{
    primitive_result, state_fields, EventGroupsAccumulator, Finish, Grouped, SingleGroup,
};
use super::time::{constant_duration, constant_string, TimeKind};
use super::{coerce_conditions, is_text, MAX_CONDITIONS};
use crate::SqlError;

const USAGE: &str = "window_funnel(window, [mode,] ts, cond1, cond2, ...) — e.g. \
    window_funnel(INTERVAL '1 day', ts, event_type = 'view', event_type = 'purchase')";
const USAGE_TIMES: &str = "window_funnel_times(window, [mode,] ts, cond1, cond2, ...)";

static DOC: LazyLock<Documentation> = LazyLock::new(|| {
    Documentation::builder(
        super::DOC_SECTION_FUNNEL,
        "Aggregate: the deepest step of an ordered funnel a group (usually a user) reached, 0..N. \
         A chain starts at any row where `cond1` holds; step k counts when `condk` holds at a time \
         no later than the chain's first step + `window` (inclusive) and step k-1 was already \
         reached. Same semantics as ClickHouse `windowFunnel(window, mode…)(ts, cond…)`: rows are \
         ordered by (ts, condition number), so steps at the same instant count in condition order \
         (use `strict_increase` to require strictly later times); one row matching several \
         conditions can advance several steps (unless `strict_once`). Rows with a NULL time or \
         condition are ignored; a group with no other rows gives NULL. Modes, comma-separated in \
         the optional second argument: `strict_deduplication` (stop when a reached step repeats), \
         `strict_order` (stop at any row that matches no step or skips ahead), `strict_increase`, \
         `strict_once` (a row advances at most one step), `allow_reentry` (with `strict_order`: \
         ignore steps that skip ahead instead of stopping). Checked against ClickHouse 26.9 (chdb).",
        "window_funnel(window, [mode,] ts, cond1, cond2, ...)",
    )
    .with_sql_example(
        "SELECT level, count(*) AS users FROM (\n  SELECT customer_id, window_funnel(INTERVAL '7 days', ts,\n    event_type = 'view', event_type = 'add_to_cart', event_type = 'checkout', event_type = 'purchase') AS level\n  FROM events GROUP BY customer_id) GROUP BY level ORDER BY level",
    )
    .with_argument("window", "INTERVAL (fixed length: days, hours, …) or a number of seconds; for integer `ts`, an integer in the same unit.")
    .with_argument("mode", "Optional text: '', 'strict_deduplication', 'strict_order', 'strict_increase', 'strict_once', 'allow_reentry', or a comma-separated combination.")
    .with_argument("ts", "Event time: TIMESTAMP (any precision, with or without time zone), DATE, or an integer.")
    .with_argument("cond1..condN", "1 to 32 boolean conditions, one per funnel step.")
    .build()
});

static DOC_TIMES: LazyLock<Documentation> = LazyLock::new(|| {
    Documentation::builder(
        super::DOC_SECTION_FUNNEL,
        "Aggregate: the times of the funnel steps reached by the chain `window_funnel` finds (same \
         arguments and modes), as a list whose length is the level. Subtract neighbours to get the \
         time from one step to the next.",
        USAGE_TIMES,
    )
    .with_sql_example(
        "SELECT customer_id, window_funnel_times(INTERVAL '7 days', ts, event_type = 'view', event_type = 'purchase') AS step_times\nFROM events GROUP BY customer_id LIMIT 5",
    )
    .build()
});

/// ClickHouse's windowFunnel modes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Modes {
    pub strict_deduplication: bool,
    pub strict_order: bool,
    pub strict_increase: bool,
    pub strict_once: bool,
    pub allow_reentry: bool,
}

impl Modes {
    pub(crate) fn parse(text: &str, usage: &str) -> Result<Modes> {
        let mut m = Modes::default();
        for part in text
            .split(',')
            .map(|p| p.trim().to_ascii_lowercase())
            .filter(|p| !p.is_empty())
        {
            match part.as_str() {
                "strict_deduplication" => m.strict_deduplication = true,
                "strict_order" => m.strict_order = true,
                "strict_increase" => m.strict_increase = true,
                "strict_once" => m.strict_once = true,
                "allow_reentry" => m.allow_reentry = true,
                "strict" => {
                    return Err(SqlError::invalid_parameter(
                        "window_funnel mode 'strict' was renamed 'strict_deduplication' (as in ClickHouse)",
                    ))
                }
                other => {
                    return Err(SqlError::invalid_parameter(format!(
                        "unknown window_funnel mode '{other}'; valid modes: strict_deduplication, \
                         strict_order, strict_increase, strict_once, allow_reentry (comma-separated). \
                         Usage: {usage}"
                    )))
                }
            }
        }
        if m.allow_reentry && !m.strict_order {
            return Err(SqlError::invalid_parameter(
                "window_funnel mode 'allow_reentry' needs 'strict_order' too, e.g. 'strict_order, allow_reentry'",
            ));
        }
        Ok(m)
    }
}

/// One stored (row, condition) pair; condition 0 is "matched nothing" (kept for `strict_order`).
#[derive(Debug, Clone, Copy)]
struct Entry {
    ts: i64,
    step: u8,
    row: u32,
}

/// Buffers reused across groups.
#[derive(Debug, Default)]
struct Scratch {
    entries: Vec<Entry>,
    latest: Vec<Option<Chain>>,
    chains: Vec<Vec<Chain>>,
}

#[derive(Debug, Clone, Copy)]
struct Chain {
    first: i64,
    last: i64,
    /// Row of each step of the chain.
    rows: [u32; MAX_CONDITIONS],
}

/// A configured funnel: window (in the time column's unit), number of steps, modes.
#[derive(Debug, Clone)]
pub(crate) struct Funnel {
    pub window: i64,
    pub steps: usize,
    pub modes: Modes,
}

impl Funnel {
    fn entries(&self, times: &[i64], masks: &[u32], out: &mut Vec<Entry>) {
        out.clear();
        for (row, (&ts, &mask)) in times.iter().zip(masks).enumerate() {
            let row = row as u32;
            if mask == 0 {
                if self.modes.strict_order {
                    out.push(Entry { ts, step: 0, row });
                }
                continue;
            }
            let mut m = mask;
            while m != 0 {
                let bit = m.trailing_zeros();
                out.push(Entry {
                    ts,
                    step: bit as u8 + 1,
                    row,
                });
                m &= m - 1;
            }
        }
        out.sort_unstable_by_key(|e| (e.ts, e.step, e.row));
    }

    /// The deepest step reached; `path` receives the rows of that chain's steps.
    fn level(
        &self,
        times: &[i64],
        masks: &[u32],
        scratch: &mut Scratch,
        path: &mut Vec<u32>,
    ) -> usize {
        path.clear();
        self.entries(times, masks, &mut scratch.entries);
        if scratch.entries.is_empty() {
            return 0;
        }
        if !self.modes.strict_order && self.steps == 1 {
            if let Some(e) = scratch.entries.iter().find(|e| e.step == 1) {
                path.push(e.row);
            }
            return 1;
        }
        if self.modes.strict_once {
            scratch.chains.iter_mut().for_each(Vec::clear);
            scratch.chains.resize_with(self.steps, Vec::new);
            let level = self.scan_strict_once(&scratch.entries, &mut scratch.chains);
            if let Some(chain) = level.checked_sub(1).and_then(|l| scratch.chains[l].last()) {
                path.extend_from_slice(&chain.rows[..level]);
            }
            level
        } else {
            scratch.latest.clear();
            scratch.latest.resize(self.steps, None);
            let level = self.scan(&scratch.entries, &mut scratch.latest);
            if let Some(chain) = level.checked_sub(1).and_then(|l| scratch.latest[l]) {
                path.extend_from_slice(&chain.rows[..level]);
            }
            level
        }
    }

    fn in_window(&self, chain: &Chain, ts: i64) -> bool {
        ts <= chain.first.saturating_add(self.window)
    }

    /// Greedy single pass: each level keeps only its latest chain (ClickHouse's default path).
    fn scan(&self, entries: &[Entry], levels: &mut [Option<Chain>]) -> usize {
        let n = self.steps;
        let deepest = |levels: &[Option<Chain>]| {
            levels
                .iter()
                .rposition(Option::is_some)
                .map_or(0, |i| i + 1)
        };
        let mut started = false;
        for e in entries {
            if e.step == 0 {
                if started {
                    break;
                }
                continue;
            }
            let idx = e.step as usize - 1;
            if idx == 0 {
                let mut rows = [0; MAX_CONDITIONS];
                rows[0] = e.row;
                levels[0] = Some(Chain {
                    first: e.ts,
                    last: e.ts,
                    rows,
                });
                started = true;
            } else if self.modes.strict_deduplication && levels[idx].is_some() {
                return deepest(levels);
            } else if self.modes.strict_order && started && levels[idx - 1].is_none() {
                if self.modes.allow_reentry {
                    continue;
                }
                return levels.iter().position(Option::is_none).unwrap_or(n);
            } else if let Some(prev) = levels[idx - 1] {
                let ok = self.in_window(&prev, e.ts)
                    && (!self.modes.strict_increase || prev.last < e.ts);
                if ok {
                    let mut rows = prev.rows;
                    rows[idx] = e.row;
                    levels[idx] = Some(Chain {
                        first: prev.first,
                        last: e.ts,
                        rows,
                    });
                    if idx + 1 == n {
                        return n;
                    }
                }
            }
        }
        deepest(levels)
    }

    /// `strict_once`: a row may serve one step per chain, so every candidate chain is kept.
    fn scan_strict_once(&self, entries: &[Entry], levels: &mut [Vec<Chain>]) -> usize {
        let n = self.steps;
        let mut started = false;
        for e in entries {
            if e.step == 0 {
                if started {
                    break;
                }
                continue;
            }
            let idx = e.step as usize - 1;
            if idx == 0 {
                let mut rows = [0; MAX_CONDITIONS];
                rows[0] = e.row;
                levels[0].push(Chain {
                    first: e.ts,
                    last: e.ts,
                    rows,
                });
                started = true;
            } else if self.modes.strict_deduplication && !levels[idx].is_empty() {
                return deepest(levels);
            } else if self.modes.strict_order && started && levels[idx - 1].is_empty() {
                if self.modes.allow_reentry {
                    continue;
                }
                return levels.iter().position(|l| l.is_empty()).unwrap_or(n);
            } else if !levels[idx - 1].is_empty() {
                let (lower, upper) = levels.split_at_mut(idx);
                let (prev, next) = (&mut lower[idx - 1], &mut upper[0]);
                let mut i = 0;
                while i < prev.len() {
                    let chain = prev[i];
                    let in_window = self.in_window(&chain, e.ts);
                    // Chains that fell out of the window are dropped, but one is always kept.
                    if !in_window && prev.len() > 1 {
                        prev.remove(i);
                        continue;
                    }
                    let ok = in_window
                        && !chain.rows[..idx].contains(&e.row)
                        && (!self.modes.strict_increase || chain.last < e.ts);
                    if ok {
                        let mut rows = chain.rows;
                        rows[idx] = e.row;
                        next.push(Chain {
                            first: chain.first,
                            last: e.ts,
                            rows,
                        });
                        if idx + 1 == n {
                            return n;
                        }
                    }
                    i += 1;
                }
            }
        }
        deepest(levels)
    }
}

fn deepest(levels: &[Vec<Chain>]) -> usize {
    levels
        .iter()
        .rposition(|l| !l.is_empty())
        .map_or(0, |i| i + 1)
}

struct FunnelFinish {
    funnel: Funnel,
    /// `Some` for `window_funnel_times`: the unit of the returned times.
    times: Option<TimeKind>,
}

impl Finish for FunnelFinish {
    fn finish(&self, groups: &Grouped) -> Result<ArrayRef> {
        let (mut scratch, mut path) = (Scratch::default(), Vec::new());
        let Some(kind) = self.times else {
            return primitive_result::<Int32Type, _>(groups, |t, m| {
                Ok(self.funnel.level(t, m, &mut scratch, &mut path) as i32)
            });
        };
        let mut lengths = Vec::with_capacity(groups.len());
        let mut values = Vec::new();
        for g in 0..groups.len() {
            match groups.group(g) {
                Some((t, m)) => {
                    self.funnel.level(t, m, &mut scratch, &mut path);
                    values.extend(path.iter().map(|&row| t[row as usize]));
                    lengths.push(path.len());
                }
                None => lengths.push(0),
            }
        }
        let values: ArrayRef = match kind {
            TimeKind::Micros => Arc::new(PrimitiveArray::<TimestampMicrosecondType>::from(values)),
            TimeKind::Integer => Arc::new(PrimitiveArray::<Int64Type>::from(values)),
        };
        Ok(Arc::new(ListArray::try_new(
            Arc::new(Field::new_list_field(values.data_type().clone(), false)),
            OffsetBuffer::from_lengths(lengths),
            values,
            groups.nulls(),
        )?))
    }
}

#[derive(Debug, PartialEq, Eq, Hash)]
pub struct WindowFunnel {
    signature: Signature,
    times: bool,
}

impl WindowFunnel {
    fn new(times: bool) -> Self {
        Self {
            signature: Signature::user_defined(Volatility::Immutable),
            times,
        }
    }

    fn usage(&self) -> &'static str {
        if self.times {
            USAGE_TIMES
        } else {
            USAGE
        }
    }

    /// Index of the `ts` argument: 2 when a mode string is given.
    fn ts_index(arg_types: &[DataType]) -> usize {
        if arg_types.len() > 1 && is_text(&arg_types[1]) {
            2
        } else {
            1
        }
    }

    fn build(&self, args: &AccumulatorArgs) -> Result<EventGroupsAccumulator<FunnelFinish>> {
        let types: Vec<DataType> = args
            .expr_fields
            .iter()
            .map(|f| f.data_type().clone())
            .collect();
        let ts_index = Self::ts_index(&types);
        let kind = TimeKind::of(&types[ts_index]).unwrap_or(TimeKind::Micros);
        let window =
            constant_duration(&args.exprs[0], kind, "window_funnel's window", self.usage())?;
        let modes = if ts_index == 2 {
            Modes::parse(
                &constant_string(&args.exprs[1], "window_funnel's mode", self.usage())?,
                self.usage(),
            )?
        } else {
            Modes::default()
        };
        let funnel = Funnel {
            window,
            steps: types.len() - ts_index - 1,
            modes,
        };
        let finish = FunnelFinish {
            times: self.times.then_some(kind),
            funnel,
        };
        Ok(EventGroupsAccumulator::new(modes.strict_order, finish).skip_leading(ts_index))
    }
}

pub fn window_funnel_udaf() -> Arc<AggregateUDF> {
    static UDAF: LazyLock<Arc<AggregateUDF>> =
        LazyLock::new(|| Arc::new(AggregateUDF::from(WindowFunnel::new(false))));
    Arc::clone(&UDAF)
}

pub fn window_funnel_times_udaf() -> Arc<AggregateUDF> {
    static UDAF: LazyLock<Arc<AggregateUDF>> =
        LazyLock::new(|| Arc::new(AggregateUDF::from(WindowFunnel::new(true))));
    Arc::clone(&UDAF)
}

impl AggregateUDFImpl for WindowFunnel {
    fn name(&self) -> &str {
        if self.times {
            "window_funnel_times"
        } else {
            "window_funnel"
        }
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        let usage = self.usage();
        let ts_index = Self::ts_index(arg_types);
        if arg_types.len() < ts_index + 2 {
            return Err(SqlError::wrong_arguments(format!(
                "{} needs a window, an event time and at least one condition. Usage: {usage}",
                self.name()
            )));
        }
        let window = &arg_types[0];
        if !(window.is_numeric() || matches!(window, DataType::Interval(_) | DataType::Null)) {
            return Err(SqlError::wrong_arguments(format!(
                "{}'s first argument (window) must be an INTERVAL or a number of seconds, got {window}. Usage: {usage}",
                self.name()
            )));
        }
        let mut out = arg_types[..ts_index].to_vec();
        out.extend(coerce_conditions(
            self.name(),
            &arg_types[ts_index..],
            usage,
        )?);
        Ok(out)
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        if !self.times {
            return Ok(DataType::Int32);
        }
        let ts = &arg_types[Self::ts_index(arg_types)];
        let item = match TimeKind::of(ts) {
            Some(TimeKind::Integer) => DataType::Int64,
            _ => DataType::Timestamp(TimeUnit::Microsecond, None),
        };
        Ok(DataType::List(Arc::new(Field::new_list_field(item, false))))
    }

    fn accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        Ok(Box::new(SingleGroup::new(self.build(&args)?)))
    }

    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        Ok(state_fields(args.name))
    }

    fn groups_accumulator_supported(&self, _args: AccumulatorArgs) -> bool {
        true
    }

    fn create_groups_accumulator(
        &self,
        args: AccumulatorArgs,
    ) -> Result<Box<dyn GroupsAccumulator>> {
        Ok(Box::new(self.build(&args)?))
    }

    fn documentation(&self) -> Option<&Documentation> {
        Some(if self.times { &DOC_TIMES } else { &DOC })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn level(window: i64, modes: &str, steps: usize, rows: &[(i64, u32)]) -> usize {
        let funnel = Funnel {
            window,
            steps,
            modes: Modes::parse(modes, USAGE).unwrap(),
        };
        let (t, m): (Vec<i64>, Vec<u32>) = rows.iter().copied().unzip();
        funnel.level(&t, &m, &mut Scratch::default(), &mut vec![])
    }

    #[test]
    fn documented_examples() {
        // A at 1, B at 2, C at 3 within 10: level 3.
        assert_eq!(level(10, "", 3, &[(1, 1), (2, 2), (3, 4)]), 3);
        // Window anchored at the first step: C at 12 is outside 1 + 10.
        assert_eq!(level(10, "", 3, &[(1, 1), (2, 2), (12, 4)]), 2);
        // Same-instant steps count in condition order unless strict_increase.
        assert_eq!(level(10, "", 2, &[(5, 2), (5, 1)]), 2);
        assert_eq!(level(10, "strict_increase", 2, &[(5, 2), (5, 1)]), 1);
        // A -> B -> D -> C with strict_order stops at D.
        assert_eq!(
            level(10, "strict_order", 3, &[(1, 1), (2, 2), (3, 0), (4, 4)]),
            2
        );
        assert_eq!(level(10, "", 3, &[(1, 1), (2, 2), (3, 0), (4, 4)]), 3);
        // A repeated B stops strict_deduplication.
        assert_eq!(
            level(
                10,
                "strict_deduplication",
                3,
                &[(1, 1), (2, 2), (3, 2), (4, 4)]
            ),
            2
        );
        // One row matching A and B advances two steps, but not with strict_once.
        assert_eq!(level(10, "", 2, &[(1, 3)]), 2);
        assert_eq!(level(10, "strict_once", 2, &[(1, 3)]), 1);
        assert_eq!(level(10, "", 3, &[]), 0);
    }

    #[test]
    fn bad_modes_explain_themselves() {
        assert!(Modes::parse("strict", USAGE)
            .unwrap_err()
            .to_string()
            .contains("strict_deduplication"));
        assert!(Modes::parse("fast", USAGE)
            .unwrap_err()
            .to_string()
            .contains("valid modes"));
        assert!(Modes::parse("allow_reentry", USAGE).is_err());
        assert_eq!(
            Modes::parse(" strict_order , STRICT_INCREASE", USAGE).unwrap(),
            Modes {
                strict_order: true,
                strict_increase: true,
                ..Modes::default()
            }
        );
    }
}
