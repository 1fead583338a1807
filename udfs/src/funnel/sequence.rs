//! `sequence_match(pattern, ts, cond1, …)` → BOOLEAN and `sequence_count(pattern, ts, cond1, …)`
//! → BIGINT: ClickHouse `sequenceMatch`/`sequenceCount` with their pattern language:
//! `(?N)` a row matching condition N, `.` any one row, `.*` any number of rows, and
//! `(?t op S)` (op one of `<= < >= > ==`) a time constraint in seconds between the neighbouring
//! matched rows. Rows matching no condition are invisible to the pattern.

use std::sync::{Arc, LazyLock};

use datafusion::arrow::array::ArrayRef;
use datafusion::arrow::datatypes::{DataType, FieldRef, Int64Type};
use datafusion::error::Result;
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::{
    Accumulator, AggregateUDF, AggregateUDFImpl, Documentation, GroupsAccumulator, Signature,
    Volatility,
};

use super::events::{
    boolean_result, primitive_result, state_fields, EventGroupsAccumulator, Finish, Grouped,
    SingleGroup,
};
use super::time::{constant_string, TimeKind};
use super::{coerce_conditions, is_text};
use crate::SqlError;

/// ClickHouse's cap on backtracking steps per match attempt.
const MAX_ITERATIONS: usize = 1_000_000;

const USAGE_MATCH: &str = "sequence_match(pattern, ts, cond1, cond2, ...) — e.g. \
    sequence_match('(?1).*(?2)', ts, event_type = 'view', event_type = 'purchase')";
const USAGE_COUNT: &str = "sequence_count(pattern, ts, cond1, cond2, ...) — e.g. \
    sequence_count('(?1)(?t<=3600)(?2)', ts, event_type = 'add_to_cart', event_type = 'purchase')";

const PATTERN_DOC: &str =
    "Pattern language (ClickHouse's): `(?N)` a row matching condition N; `.` \
    any one row; `.*` any number of rows; `(?t<=S)`, `(?t<S)`, `(?t>=S)`, `(?t>S)`, `(?t==S)` the \
    time between the neighbouring matched rows, in seconds (in the column's unit for integer \
    times). Rows matching no condition are dropped first, so `(?1)(?2)` means \"cond2 is the next \
    matching row after cond1\". Rows are ordered by time; rows at the same instant by the lowest \
    condition they match (ClickHouse leaves that order unspecified). Rows with a NULL time or \
    condition are ignored; a group with no other rows gives NULL.";

static DOC_MATCH: LazyLock<Documentation> = LazyLock::new(|| {
    Documentation::builder(
        super::DOC_SECTION_FUNNEL,
        format!("Aggregate: whether the group's rows, in time order, contain the pattern. Same as ClickHouse `sequenceMatch` (checked against ClickHouse 26.9). {PATTERN_DOC}"),
        "sequence_match(pattern, ts, cond1, cond2, ...)",
    )
    .with_sql_example(
        "SELECT count(*) FILTER (WHERE m) AS carted_then_bought_within_an_hour\nFROM (SELECT customer_id, sequence_match('(?1)(?t<=3600)(?2)', ts,\n        event_type = 'add_to_cart', event_type = 'purchase') AS m\n      FROM events GROUP BY customer_id)",
    )
    .with_argument("pattern", "Text constant in the pattern language above.")
    .with_argument("ts", "TIMESTAMP, DATE or integer event time.")
    .with_argument("cond1..condN", "1 to 32 boolean conditions referenced as (?1)..(?N).")
    .build()
});

static DOC_COUNT: LazyLock<Documentation> = LazyLock::new(|| {
    Documentation::builder(
        super::DOC_SECTION_FUNNEL,
        format!("Aggregate: how many non-overlapping times the pattern occurs in the group's rows, scanning forward and restarting after each match. Same as ClickHouse `sequenceCount` (checked against ClickHouse 26.9). {PATTERN_DOC}"),
        "sequence_count(pattern, ts, cond1, cond2, ...)",
    )
    .with_sql_example(
        "SELECT customer_id, sequence_count('(?1).*(?2)', ts, event_type = 'view', event_type = 'purchase') AS view_then_buy\nFROM events GROUP BY customer_id ORDER BY view_then_buy DESC LIMIT 10",
    )
    .build()
});

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    Event(u32),
    Any,
    Star,
    TimeLe(i64),
    TimeLt(i64),
    TimeGe(i64),
    TimeGt(i64),
    TimeEq(i64),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Transition {
    None,
    Event(u32),
    Any,
}

#[derive(Debug, Clone, Copy)]
struct State {
    star: bool,
    transition: Transition,
}

/// Builds a time-constraint action from its duration.
type MakeTime = fn(i64) -> Action;

/// A compiled pattern.
#[derive(Debug, Clone)]
pub(crate) struct Pattern {
    actions: Vec<Action>,
    states: Vec<State>,
    has_time: bool,
    /// Conditions the pattern names; a group lacking any of them cannot match.
    needed: u32,
}

impl Pattern {
    pub(crate) fn parse(
        text: &str,
        conditions: usize,
        kind: TimeKind,
        usage: &str,
    ) -> Result<Pattern> {
        let mut p = Pattern {
            actions: vec![Action::Star],
            states: vec![State {
                star: true,
                transition: Transition::None,
            }],
            has_time: false,
            needed: 0,
        };
        let bytes = text.as_bytes();
        let mut pos = 0;
        let err = |pos: usize, msg: &str| {
            SqlError::with_code(
                "42601",
                format!("{msg} in sequence pattern '{text}' at position {pos}. Usage: {usage}"),
            )
        };
        let number = |pos: &mut usize| -> Option<u64> {
            let start = *pos;
            while *pos < bytes.len() && bytes[*pos].is_ascii_digit() {
                *pos += 1;
            }
            text[start..*pos].parse().ok()
        };
        while pos < bytes.len() {
            let rest = &text[pos..];
            if rest.starts_with("(?") {
                pos += 2;
                if text[pos..].starts_with('t') {
                    pos += 1;
                    let ops: [(&str, MakeTime); 5] = [
                        ("<=", Action::TimeLe),
                        ("<", Action::TimeLt),
                        (">=", Action::TimeGe),
                        (">", Action::TimeGt),
                        ("==", Action::TimeEq),
                    ];
                    let Some((op, make)) = ops.iter().find(|(op, _)| text[pos..].starts_with(op))
                    else {
                        return Err(err(pos, "unknown time condition (use <=, <, >=, > or ==)"));
                    };
                    pos += op.len();
                    let seconds =
                        number(&mut pos).ok_or_else(|| err(pos, "expected a number of seconds"))?;
                    if !matches!(
                        p.actions.last(),
                        Some(Action::Event(_) | Action::Any | Action::Star)
                    ) {
                        return Err(err(
                            pos,
                            "a time condition must follow an event, '.' or '.*'",
                        ));
                    }
                    p.has_time = true;
                    p.actions.push(make(
                        kind.seconds(i64::try_from(seconds).unwrap_or(i64::MAX)),
                    ));
                } else {
                    let n =
                        number(&mut pos).ok_or_else(|| err(pos, "expected a condition number"))?;
                    if n == 0 || n > conditions as u64 {
                        return Err(SqlError::invalid_parameter(format!(
                            "sequence pattern '{text}' names condition {n}, but the call has conditions 1..{conditions}"
                        )));
                    }
                    let event = (n - 1) as u32;
                    p.actions.push(Action::Event(event));
                    if let Some(last) = p.states.last_mut() {
                        last.transition = Transition::Event(event);
                    }
                    p.states.push(State {
                        star: false,
                        transition: Transition::None,
                    });
                    p.needed |= 1 << event;
                }
                if !text[pos..].starts_with(')') {
                    return Err(err(pos, "expected ')'"));
                }
                pos += 1;
            } else if rest.starts_with(".*") {
                pos += 2;
                p.actions.push(Action::Star);
                if let Some(last) = p.states.last_mut() {
                    last.star = true;
                }
            } else if rest.starts_with('.') {
                pos += 1;
                p.actions.push(Action::Any);
                if let Some(last) = p.states.last_mut() {
                    last.transition = Transition::Any;
                }
                p.states.push(State {
                    star: false,
                    transition: Transition::None,
                });
            } else {
                return Err(err(pos, "unexpected character"));
            }
        }
        Ok(p)
    }

    fn sorted(times: &[i64], masks: &[u32]) -> Vec<(i64, u32)> {
        let mut ev: Vec<(i64, u32)> = times.iter().copied().zip(masks.iter().copied()).collect();
        ev.sort_unstable_by_key(|&(t, m)| (t, m.trailing_zeros(), m));
        ev
    }

    fn possible(&self, masks: &[u32]) -> bool {
        let met = masks.iter().fold(0, |a, m| a | m);
        met & self.needed == self.needed
    }

    pub(crate) fn matches(&self, times: &[i64], masks: &[u32]) -> Result<bool> {
        if !self.possible(masks) {
            return Ok(false);
        }
        let ev = Self::sorted(times, masks);
        if self.has_time {
            let mut pos = 0;
            self.backtrack(&ev, &mut pos)
        } else {
            Ok(self.dfa(&ev))
        }
    }

    pub(crate) fn count(&self, times: &[i64], masks: &[u32]) -> Result<i64> {
        if !self.possible(masks) {
            return Ok(0);
        }
        let ev = Self::sorted(times, masks);
        let (mut pos, mut count) = (0, 0);
        while pos < ev.len() && self.backtrack(&ev, &mut pos)? {
            count += 1;
        }
        Ok(count)
    }

    /// Linear-time automaton for patterns without time constraints.
    fn dfa(&self, ev: &[(i64, u32)]) -> bool {
        let n = self.states.len();
        let mut active = vec![false; n];
        let mut next = vec![false; n];
        active[0] = true;
        let mut any_active = true;
        for &(_, mask) in ev {
            if !any_active || active[n - 1] {
                break;
            }
            any_active = false;
            next.iter_mut().for_each(|s| *s = false);
            for s in 0..n {
                if !active[s] {
                    continue;
                }
                let advance = match self.states[s].transition {
                    Transition::None => false,
                    Transition::Any => true,
                    Transition::Event(e) => mask & (1 << e) != 0,
                };
                if advance {
                    next[s + 1] = true;
                    any_active = true;
                }
                if self.states[s].star {
                    next[s] = true;
                    any_active = true;
                }
            }
            std::mem::swap(&mut active, &mut next);
        }
        active[n - 1]
    }

    /// ClickHouse's backtracking matcher, starting at `*pos`; on return `*pos` is where the next
    /// (non-overlapping) attempt starts.
    fn backtrack(&self, ev: &[(i64, u32)], pos: &mut usize) -> Result<bool> {
        let actions = &self.actions;
        let (start, end) = (*pos, ev.len());
        let (mut a, mut e, mut base) = (0usize, start, start);
        let mut stack: Vec<(usize, usize, usize)> = Vec::new();
        // Resumes the latest choice point with one more row consumed.
        let resume = |stack: &mut Vec<(usize, usize, usize)>,
                      a: &mut usize,
                      e: &mut usize,
                      base: &mut usize| {
            while let Some((sa, se, sb)) = stack.pop() {
                *a = sa;
                *e = se + 1;
                *base = sb;
                if *e != end {
                    return true;
                }
            }
            false
        };
        let mut iterations = 0;
        while a < actions.len() && e < end {
            let at = |d: i64| ev[base].0.saturating_add(d);
            match actions[a] {
                Action::Event(k) => {
                    if ev[e].1 & (1 << k) != 0 {
                        base = e;
                        a += 1;
                        e += 1;
                    } else if !resume(&mut stack, &mut a, &mut e, &mut base) {
                        break;
                    }
                }
                Action::Any => {
                    base = e;
                    a += 1;
                    e += 1;
                }
                Action::Star => {
                    stack.push((a, e, base));
                    base = e;
                    a += 1;
                }
                Action::TimeLe(d) | Action::TimeLt(d) => {
                    let ok = match actions[a] {
                        Action::TimeLe(_) => ev[e].0 <= at(d),
                        _ => ev[e].0 < at(d),
                    };
                    if ok {
                        stack.push((a, e, base));
                        base = e;
                        a += 1;
                    } else if !resume(&mut stack, &mut a, &mut e, &mut base) {
                        break;
                    }
                }
                Action::TimeGe(d) | Action::TimeGt(d) | Action::TimeEq(d) => {
                    let ok = match actions[a] {
                        Action::TimeGe(_) => ev[e].0 >= at(d),
                        Action::TimeGt(_) => ev[e].0 > at(d),
                        _ => ev[e].0 == at(d),
                    };
                    if ok {
                        stack.push((a, e, base));
                        base = e;
                        a += 1;
                    } else {
                        e += 1;
                        if e == end && !resume(&mut stack, &mut a, &mut e, &mut base) {
                            break;
                        }
                    }
                }
            }
            iterations += 1;
            if iterations > MAX_ITERATIONS {
                return Err(SqlError::with_code(
                    "54000",
                    format!(
                        "sequence pattern is too expensive for this group (over {MAX_ITERATIONS} \
                         backtracking steps, ClickHouse's limit too); make it more specific, e.g. \
                         fewer '.*' or tighter time constraints"
                    ),
                ));
            }
        }
        // Trailing parts that can match nothing.
        while a < actions.len()
            && matches!(
                actions[a],
                Action::Star | Action::TimeLe(_) | Action::TimeLt(_) | Action::TimeGe(0)
            )
        {
            a += 1;
        }
        if e == start {
            e += 1;
        }
        *pos = e;
        Ok(a == actions.len())
    }
}

struct SequenceFinish {
    pattern: Pattern,
    count: bool,
}

impl Finish for SequenceFinish {
    fn finish(&self, groups: &Grouped) -> Result<ArrayRef> {
        if self.count {
            primitive_result::<Int64Type, _>(groups, |t, m| self.pattern.count(t, m))
        } else {
            boolean_result(groups, |t, m| self.pattern.matches(t, m))
        }
    }
}

#[derive(Debug, PartialEq, Eq, Hash)]
pub struct Sequence {
    signature: Signature,
    count: bool,
}

impl Sequence {
    fn usage(&self) -> &'static str {
        if self.count {
            USAGE_COUNT
        } else {
            USAGE_MATCH
        }
    }

    fn build(&self, args: &AccumulatorArgs) -> Result<EventGroupsAccumulator<SequenceFinish>> {
        let ts_type = args.expr_fields[1].data_type();
        let kind = TimeKind::of(ts_type).unwrap_or(TimeKind::Micros);
        let text = constant_string(
            &args.exprs[0],
            &format!("{}'s pattern", self.name()),
            self.usage(),
        )?;
        let pattern = Pattern::parse(&text, args.exprs.len() - 2, kind, self.usage())?;
        Ok(EventGroupsAccumulator::new(
            false,
            SequenceFinish {
                pattern,
                count: self.count,
            },
        )
        .skip_leading(1))
    }
}

pub fn sequence_match_udaf() -> Arc<AggregateUDF> {
    static UDAF: LazyLock<Arc<AggregateUDF>> = LazyLock::new(|| {
        Arc::new(AggregateUDF::from(Sequence {
            signature: Signature::user_defined(Volatility::Immutable),
            count: false,
        }))
    });
    Arc::clone(&UDAF)
}

pub fn sequence_count_udaf() -> Arc<AggregateUDF> {
    static UDAF: LazyLock<Arc<AggregateUDF>> = LazyLock::new(|| {
        Arc::new(AggregateUDF::from(Sequence {
            signature: Signature::user_defined(Volatility::Immutable),
            count: true,
        }))
    });
    Arc::clone(&UDAF)
}

impl AggregateUDFImpl for Sequence {
    fn name(&self) -> &str {
        if self.count {
            "sequence_count"
        } else {
            "sequence_match"
        }
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        if arg_types.len() < 3 || !is_text(&arg_types[0]) {
            return Err(SqlError::wrong_arguments(format!(
                "{} needs a pattern text, an event time and at least one condition. Usage: {}",
                self.name(),
                self.usage()
            )));
        }
        let mut out = vec![arg_types[0].clone()];
        out.extend(coerce_conditions(
            self.name(),
            &arg_types[1..],
            self.usage(),
        )?);
        Ok(out)
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(if self.count {
            DataType::Int64
        } else {
            DataType::Boolean
        })
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
        Some(if self.count { &DOC_COUNT } else { &DOC_MATCH })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pattern(p: &str) -> Pattern {
        Pattern::parse(p, 3, TimeKind::Integer, USAGE_MATCH).unwrap()
    }

    #[test]
    fn patterns_parse_or_explain() {
        assert!(Pattern::parse("(?1)(?t<=5)(?2)", 2, TimeKind::Integer, USAGE_MATCH).is_ok());
        for bad in ["(?1", "(?x)", "(?t!5)", "abc", "(?1)(?t<=)"] {
            assert!(
                Pattern::parse(bad, 2, TimeKind::Integer, USAGE_MATCH).is_err(),
                "{bad}"
            );
        }
        let e = Pattern::parse("(?3)", 2, TimeKind::Integer, USAGE_MATCH)
            .unwrap_err()
            .to_string();
        assert!(e.contains("conditions 1..2"), "{e}");
        assert!(Pattern::parse("(?0)", 2, TimeKind::Integer, USAGE_MATCH).is_err());
    }

    #[test]
    fn match_and_count() {
        let (t, m) = (vec![1, 2, 3, 4, 10], vec![1, 2, 1, 2, 4]);
        assert!(pattern("(?1)(?2)").matches(&t, &m).unwrap());
        assert!(!pattern("(?2)(?2)").matches(&t, &m).unwrap());
        assert_eq!(pattern("(?1)(?2)").count(&t, &m).unwrap(), 2);
        assert_eq!(pattern("(?1).*(?3)").count(&t, &m).unwrap(), 1);
        assert!(pattern("(?2)(?t>=6)(?3)").matches(&t, &m).unwrap());
        assert!(!pattern("(?2)(?t<3)(?3)").matches(&t, &m).unwrap());
        // Ties: a row matching condition 1 sorts before one matching condition 2 at the same time.
        assert!(pattern("(?1)(?2)").matches(&[5, 5], &[2, 1]).unwrap());
        assert!(!pattern("(?2)(?1)").matches(&[5, 5], &[2, 1]).unwrap());
    }
}
