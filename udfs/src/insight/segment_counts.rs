//! Level-wise (apriori) counting of the segments `explain_change` scores.
//!
//! Level 1 counts every value of every dimension. A segment's support (its share of the rows
//! of either period) can only shrink when a condition is added, so level k only counts the
//! conjunctions whose every (k−1)-sub-segment passed `min_support` — the pruning of the DIFF
//! paper and MacroBase. Every segment that is counted is counted exactly, over all its rows.
//! Each level is one pass over the input, one task per input partition.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, BooleanArray, Float64Array, RecordBatch};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Float64Type};
use datafusion::common::runtime::SpawnedTask;
use datafusion::common::{DataFusionError, HashMap, HashSet};
use datafusion::error::Result;
use datafusion::execution::TaskContext;
use datafusion::physical_plan::{execute_stream_partitioned, ExecutionPlan};
use futures::StreamExt;

use crate::SqlError;

/// A value that did not pass `min_support`: rows holding it are not counted at level ≥ 2.
const PRUNED: u32 = u32::MAX;
/// Above this many cells a level's table is a hash map instead of a dense array.
const DENSE_CELLS: usize = 1 << 22;
/// Refuse to hold more segments than this for one combination of dimensions.
const MAX_SEGMENTS: usize = 20_000_000;

/// Per-period sums of a segment: numerator, denominator and rows.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct Sums {
    pub nb: f64,
    pub nc: f64,
    pub db: f64,
    pub dc: f64,
    pub rows_b: u64,
    pub rows_c: u64,
}

impl Sums {
    #[inline]
    fn add(&mut self, base: bool, n: f64, d: f64) {
        if base {
            self.nb += n;
            self.db += d;
            self.rows_b += 1;
        } else {
            self.nc += n;
            self.dc += d;
            self.rows_c += 1;
        }
    }

    fn merge(&mut self, other: &Sums) {
        self.nb += other.nb;
        self.nc += other.nc;
        self.db += other.db;
        self.dc += other.dc;
        self.rows_b += other.rows_b;
        self.rows_c += other.rows_c;
    }

    fn is_empty(&self) -> bool {
        self.rows_b == 0 && self.rows_c == 0
    }

    /// At least `min_support` of the rows of either period.
    pub(crate) fn supported(&self, total: &Sums, min_support: f64) -> bool {
        !self.is_empty()
            && (self.rows_b as f64 >= min_support * total.rows_b as f64
                || self.rows_c as f64 >= min_support * total.rows_c as f64)
    }
}

/// One counted segment: `values[i]` is the value of dimension `dims[i]`.
#[derive(Debug)]
pub(crate) struct Segment {
    pub dims: Vec<usize>,
    pub values: Vec<Arc<str>>,
    pub sums: Sums,
}

/// What the counting found: the totals and every supported segment up to the depth asked.
#[derive(Debug)]
pub(crate) struct Counts {
    pub total: Sums,
    pub segments: Vec<Segment>,
}

/// The columns of one input batch: the dimensions (as text), then numerator, denominator and
/// "row is in the baseline period".
struct Rows {
    dims: Vec<ArrayRef>,
    n: Float64Array,
    d: Float64Array,
    base: BooleanArray,
}

impl Rows {
    fn new(batch: &RecordBatch, dims: usize) -> Result<Self> {
        let columns = batch.columns();
        let as_f64 = |c: &ArrayRef| -> Result<Float64Array> {
            let c = cast(c, &DataType::Float64)?;
            let c = c.as_primitive::<Float64Type>();
            if c.null_count() == 0 {
                return Ok(c.clone());
            }
            // A NULL numerator or denominator adds nothing, as SUM and COUNT skip NULLs.
            Ok(c.iter().map(|v| Some(v.unwrap_or(0.0))).collect())
        };
        let base = cast(&columns[dims + 2], &DataType::Boolean)?;
        Ok(Self {
            dims: columns[..dims]
                .iter()
                .map(|c| cast(c, &DataType::Utf8View))
                .collect::<std::result::Result<_, _>>()?,
            n: as_f64(&columns[dims])?,
            d: as_f64(&columns[dims + 1])?,
            base: base.as_boolean().clone(),
        })
    }

    fn len(&self) -> usize {
        self.n.len()
    }

    #[inline]
    fn is_base(&self, row: usize) -> bool {
        self.base.is_valid(row) && self.base.value(row)
    }
}

/// Text → id, with a fast path on the 16-byte view of short strings (equal short strings have
/// equal views), so most rows are resolved without touching the string bytes.
#[derive(Default)]
struct Lookup {
    short: HashMap<u128, u32>,
    long: HashMap<Box<str>, u32>,
}

impl Lookup {
    fn ids(&mut self, column: &ArrayRef, out: &mut Vec<u32>, mut miss: impl FnMut(&str) -> u32) {
        out.clear();
        let array = column.as_string_view();
        for (i, &view) in array.views().iter().enumerate() {
            let text = || {
                if array.is_null(i) {
                    "(null)"
                } else {
                    array.value(i)
                }
            };
            let id = if (view as u32) <= 12 && array.is_valid(i) {
                match self.short.get(&view) {
                    Some(&id) => id,
                    None => {
                        let id = miss(text());
                        self.short.insert(view, id);
                        id
                    }
                }
            } else {
                let s = text();
                match self.long.get(s) {
                    Some(&id) => id,
                    None => {
                        let id = miss(s);
                        self.long.insert(s.into(), id);
                        id
                    }
                }
            };
            out.push(id);
        }
    }
}

/// Runs `plan`, folding each partition's batches into its own state on its own task.
async fn per_partition<S, F>(
    plan: Arc<dyn ExecutionPlan>,
    ctx: Arc<TaskContext>,
    make: impl Fn() -> S,
    fold: F,
) -> Result<Vec<S>>
where
    S: Send + 'static,
    F: Fn(&mut S, &RecordBatch) -> Result<()> + Clone + Send + 'static,
{
    let tasks: Vec<_> = execute_stream_partitioned(plan, ctx)?
        .into_iter()
        .map(|mut stream| {
            let mut state = make();
            let fold = fold.clone();
            SpawnedTask::spawn(async move {
                while let Some(batch) = stream.next().await {
                    fold(&mut state, &batch?)?;
                }
                Ok::<S, DataFusionError>(state)
            })
        })
        .collect();
    let mut out = Vec::with_capacity(tasks.len());
    for task in tasks {
        out.push(
            task.join()
                .await
                .map_err(|e| DataFusionError::Execution(format!("explain_change worker: {e}")))??,
        );
    }
    Ok(out)
}

/// Level 1 state of one partition: local dictionaries and per-value sums.
#[derive(Default)]
struct Singles {
    lookups: Vec<Lookup>,
    values: Vec<Vec<Arc<str>>>,
    sums: Vec<Vec<Sums>>,
    total: Sums,
}

impl Singles {
    fn fold(&mut self, batch: &RecordBatch, dims: usize) -> Result<()> {
        let rows = Rows::new(batch, dims)?;
        if self.lookups.is_empty() {
            self.lookups.resize_with(dims, Lookup::default);
            self.values.resize_with(dims, Vec::new);
            self.sums.resize_with(dims, Vec::new);
        }
        for r in 0..rows.len() {
            self.total
                .add(rows.is_base(r), rows.n.value(r), rows.d.value(r));
        }
        let mut ids = Vec::with_capacity(rows.len());
        for dim in 0..dims {
            let values = &mut self.values[dim];
            self.lookups[dim].ids(&rows.dims[dim], &mut ids, |s| {
                values.push(Arc::from(s));
                (values.len() - 1) as u32
            });
            let sums = &mut self.sums[dim];
            sums.resize(values.len(), Sums::default());
            for (r, &id) in ids.iter().enumerate() {
                sums[id as usize].add(rows.is_base(r), rows.n.value(r), rows.d.value(r));
            }
        }
        Ok(())
    }
}

/// The sums of one combination of dimensions, keyed by the compact ids of its values.
#[derive(Clone)]
enum Table {
    Dense {
        strides: [usize; 3],
        cells: Vec<Sums>,
    },
    Sparse(HashMap<[u32; 3], Sums>),
}

impl Table {
    fn new(sizes: &[usize]) -> Self {
        let cells = sizes.iter().try_fold(1usize, |a, &s| a.checked_mul(s));
        match cells {
            Some(cells) if cells <= DENSE_CELLS => {
                let mut strides = [0usize; 3];
                let mut stride = 1;
                for (i, &s) in sizes.iter().enumerate().rev() {
                    strides[i] = stride;
                    stride *= s;
                }
                Table::Dense {
                    strides,
                    cells: vec![Sums::default(); cells],
                }
            }
            _ => Table::Sparse(HashMap::default()),
        }
    }

    #[inline]
    fn entry(&mut self, key: [u32; 3]) -> &mut Sums {
        match self {
            Table::Dense { strides, cells } => {
                let i = key[0] as usize * strides[0]
                    + key[1] as usize * strides[1]
                    + key[2] as usize * strides[2];
                &mut cells[i]
            }
            Table::Sparse(map) => map.entry(key).or_default(),
        }
    }

    fn len(&self) -> usize {
        match self {
            Table::Dense { cells, .. } => cells.len(),
            Table::Sparse(map) => map.len(),
        }
    }

    fn merge(&mut self, other: Table) {
        match (self, other) {
            (Table::Dense { cells, .. }, Table::Dense { cells: o, .. }) => {
                for (a, b) in cells.iter_mut().zip(&o) {
                    a.merge(b);
                }
            }
            (Table::Sparse(map), Table::Sparse(o)) => {
                for (k, v) in o {
                    map.entry(k).or_default().merge(&v);
                }
            }
            // Tables of one combination are all built by `Table::new` from the same sizes.
            _ => {}
        }
    }

    /// Every non-empty cell as (key, sums).
    fn cells(&self, width: usize) -> Vec<([u32; 3], Sums)> {
        match self {
            Table::Dense { strides, cells } => cells
                .iter()
                .enumerate()
                .filter(|(_, s)| !s.is_empty())
                .map(|(i, s)| {
                    let mut key = [0u32; 3];
                    let mut rest = i;
                    for p in 0..width {
                        key[p] = (rest / strides[p]) as u32;
                        rest %= strides[p];
                    }
                    (key, *s)
                })
                .collect(),
            Table::Sparse(map) => map
                .iter()
                .filter(|(_, s)| !s.is_empty())
                .map(|(k, s)| (*k, *s))
                .collect(),
        }
    }
}

/// Every combination of `k` of the dimension indexes, in lexicographic order.
fn combinations(n: usize, k: usize) -> Vec<Vec<usize>> {
    let mut out = vec![];
    let mut current = vec![];
    fn go(start: usize, n: usize, k: usize, current: &mut Vec<usize>, out: &mut Vec<Vec<usize>>) {
        if current.len() == k {
            out.push(current.clone());
            return;
        }
        for i in start..n {
            current.push(i);
            go(i + 1, n, k, current, out);
            current.pop();
        }
    }
    go(0, n, k, &mut current, &mut out);
    out
}

/// Supported segments of one level, per combination, for the next level's candidate check.
type Supported = HashMap<Vec<usize>, HashSet<[u32; 3]>>;

/// Counts the level `k ≥ 2` segments: only rows whose values all passed level 1, and only
/// conjunctions whose every (k−1)-sub-segment is in `previous`.
struct Level {
    combos: Vec<Vec<usize>>,
    /// For each combo, its (k−1)-sub-combos with the positions they keep (k = 3 only).
    parents: Vec<Vec<(Vec<usize>, [usize; 2])>>,
    compact: Arc<Vec<HashMap<Arc<str>, u32>>>,
    previous: Arc<Supported>,
    sizes: Vec<Vec<usize>>,
}

impl Level {
    fn fold(&self, state: &mut LevelState, batch: &RecordBatch, dims: usize) -> Result<()> {
        let rows = Rows::new(batch, dims)?;
        if state.tables.is_empty() {
            state.tables = self.sizes.iter().map(|s| Table::new(s)).collect();
            state.lookups.resize_with(dims, Lookup::default);
            state.ids.resize_with(dims, Vec::new);
        }
        for dim in 0..dims {
            let compact = &self.compact[dim];
            state.lookups[dim].ids(&rows.dims[dim], &mut state.ids[dim], |s| {
                compact.get(s).copied().unwrap_or(PRUNED)
            });
        }
        for (c, combo) in self.combos.iter().enumerate() {
            let table = &mut state.tables[c];
            let parents: Vec<(&HashSet<[u32; 3]>, [usize; 2])> = self.parents[c]
                .iter()
                .filter_map(|(p, keep)| self.previous.get(p).map(|set| (set, *keep)))
                .collect();
            'rows: for r in 0..rows.len() {
                let mut key = [0u32; 3];
                for (p, &dim) in combo.iter().enumerate() {
                    let id = state.ids[dim][r];
                    if id == PRUNED {
                        continue 'rows;
                    }
                    key[p] = id;
                }
                for (set, keep) in &parents {
                    if !set.contains(&[key[keep[0]], key[keep[1]], 0]) {
                        continue 'rows;
                    }
                }
                table
                    .entry(key)
                    .add(rows.is_base(r), rows.n.value(r), rows.d.value(r));
            }
            if table.len() > MAX_SEGMENTS {
                return Err(SqlError::with_code(
                    "54000",
                    format!(
                        "explain_change: more than {MAX_SEGMENTS} segments for one combination of \
                         dimensions; raise min_support or lower max_depth"
                    ),
                ));
            }
        }
        Ok(())
    }
}

#[derive(Default)]
struct LevelState {
    lookups: Vec<Lookup>,
    ids: Vec<Vec<u32>>,
    tables: Vec<Table>,
}

/// Counts the segments of the rows `plans` produce (one identical plan per level: dimension
/// columns, numerator, denominator, is-baseline), up to `max_depth` dimensions.
pub(crate) async fn count_segments(
    plans: Vec<Arc<dyn ExecutionPlan>>,
    ctx: Arc<TaskContext>,
    dims: usize,
    max_depth: usize,
    min_support: f64,
) -> Result<Counts> {
    let mut plans = plans.into_iter();
    let Some(first) = plans.next() else {
        return Err(DataFusionError::Internal("explain_change: no plan".into()));
    };
    let partitions = per_partition(first, Arc::clone(&ctx), Singles::default, move |s, b| {
        s.fold(b, dims)
    })
    .await?;

    // Merge the partitions' dictionaries into one id space per dimension.
    let mut total = Sums::default();
    let mut values: Vec<Vec<Arc<str>>> = vec![vec![]; dims];
    let mut sums: Vec<Vec<Sums>> = vec![vec![]; dims];
    let mut index: Vec<HashMap<Arc<str>, u32>> = vec![HashMap::default(); dims];
    for part in partitions {
        total.merge(&part.total);
        for (dim, (vals, part_sums)) in part.values.into_iter().zip(part.sums).enumerate() {
            for (value, s) in vals.into_iter().zip(part_sums) {
                let next = values[dim].len() as u32;
                let id = *index[dim].entry(Arc::clone(&value)).or_insert(next);
                if id == next {
                    values[dim].push(value);
                    sums[dim].push(Sums::default());
                }
                sums[dim][id as usize].merge(&s);
            }
        }
    }

    let mut segments = vec![];
    // Compact ids: the supported values of each dimension, numbered from 0.
    let mut compact: Vec<HashMap<Arc<str>, u32>> = vec![HashMap::default(); dims];
    let mut compact_values: Vec<Vec<Arc<str>>> = vec![vec![]; dims];
    let mut supported: Supported = HashMap::default();
    for dim in 0..dims {
        let mut set = HashSet::default();
        for (value, s) in values[dim].iter().zip(&sums[dim]) {
            if s.supported(&total, min_support) {
                let id = compact_values[dim].len() as u32;
                compact[dim].insert(Arc::clone(value), id);
                compact_values[dim].push(Arc::clone(value));
                set.insert([id, 0, 0]);
                segments.push(Segment {
                    dims: vec![dim],
                    values: vec![Arc::clone(value)],
                    sums: *s,
                });
            }
        }
        supported.insert(vec![dim], set);
    }
    let compact = Arc::new(compact);

    for k in 2..=max_depth.min(dims) {
        let Some(plan) = plans.next() else { break };
        // A combination is only worth a pass if each of its dimensions kept a value.
        let combos: Vec<Vec<usize>> = combinations(dims, k)
            .into_iter()
            .filter(|c| c.iter().all(|&d| !compact_values[d].is_empty()))
            .filter(|c| {
                k < 3
                    || combinations(k, k - 1).iter().all(|keep| {
                        let sub: Vec<usize> = keep.iter().map(|&p| c[p]).collect();
                        supported.get(&sub).is_some_and(|s| !s.is_empty())
                    })
            })
            .collect();
        if combos.is_empty() {
            break;
        }
        let parents = combos
            .iter()
            .map(|c| {
                if k < 3 {
                    return vec![];
                }
                combinations(k, k - 1)
                    .into_iter()
                    .map(|keep| (keep.iter().map(|&p| c[p]).collect(), [keep[0], keep[1]]))
                    .collect()
            })
            .collect();
        let sizes = combos
            .iter()
            .map(|c| c.iter().map(|&d| compact_values[d].len()).collect())
            .collect();
        let level = Arc::new(Level {
            combos: combos.clone(),
            parents,
            compact: Arc::clone(&compact),
            previous: Arc::new(std::mem::take(&mut supported)),
            sizes,
        });
        let fold_level = Arc::clone(&level);
        let states = per_partition(plan, Arc::clone(&ctx), LevelState::default, move |s, b| {
            fold_level.fold(s, b, dims)
        })
        .await?;
        let mut tables: Option<Vec<Table>> = None;
        for state in states {
            if state.tables.is_empty() {
                continue;
            }
            match &mut tables {
                None => tables = Some(state.tables),
                Some(t) => {
                    for (a, b) in t.iter_mut().zip(state.tables) {
                        a.merge(b);
                    }
                }
            }
        }
        let Some(tables) = tables else { break };
        for (combo, table) in combos.iter().zip(tables) {
            let mut set = HashSet::default();
            for (key, s) in table.cells(k) {
                if s.supported(&total, min_support) {
                    set.insert(key);
                    segments.push(Segment {
                        dims: combo.clone(),
                        values: combo
                            .iter()
                            .enumerate()
                            .map(|(p, &d)| Arc::clone(&compact_values[d][key[p] as usize]))
                            .collect(),
                        sums: s,
                    });
                }
            }
            supported.insert(combo.clone(), set);
        }
    }
    Ok(Counts { total, segments })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn combinations_in_order() {
        assert_eq!(combinations(3, 2), vec![vec![0, 1], vec![0, 2], vec![1, 2]]);
        assert_eq!(combinations(4, 3).len(), 4);
        assert_eq!(combinations(2, 3).len(), 0);
    }

    #[test]
    fn dense_table_round_trips_keys() {
        let mut t = Table::new(&[3, 4, 5]);
        t.entry([2, 3, 4]).add(true, 1.0, 1.0);
        t.entry([1, 0, 2]).add(false, 2.0, 1.0);
        let mut cells = t.cells(3);
        cells.sort_by_key(|c| c.0);
        assert_eq!(cells[0].0, [1, 0, 2]);
        assert_eq!(cells[1].0, [2, 3, 4]);
        assert_eq!(cells[1].1.rows_b, 1);
    }

    #[test]
    fn support_is_either_period() {
        let total = Sums {
            rows_b: 100,
            rows_c: 200,
            ..Sums::default()
        };
        let s = Sums {
            rows_b: 0,
            rows_c: 2,
            ..Sums::default()
        };
        assert!(s.supported(&total, 0.01));
        assert!(!s.supported(&total, 0.02));
        assert!(!Sums::default().supported(&total, 0.0));
    }
}
