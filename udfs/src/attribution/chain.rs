//! The Markov-chain attribution model of ChannelAttribution's `markov_model`, solved exactly.
//!
//! States are the journey's channels (order 1) or sliding windows of `order` consecutive
//! channels (a journey shorter than `order` is one state), consecutive repeats of a state
//! collapsed, plus start, conversion and null. Every transition of a path is weighted by its
//! conversions + nulls; its last state moves to conversion with weight = conversions and to null
//! with weight = nulls. ChannelAttribution then estimates removal effects by simulating random
//! walks; here they are absorption probabilities computed by solving the linear system
//! `x = Q x + r` once for the whole chain and once per removed channel.

use datafusion::common::HashMap;

use datafusion::error::Result;

use super::paths::PathCounts;
use crate::SqlError;

/// One channel's result.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ChannelCredit {
    pub channel: String,
    pub removal_effect: f64,
    pub conversions: f64,
    pub conversion_value: f64,
}

/// Dense elimination up to this many states; above, Gauss–Seidel sweeps.
const DENSE_LIMIT: usize = 200;
const MAX_SWEEPS: usize = 200_000;
const TOLERANCE: f64 = 1e-15;
const WORK_BUDGET: usize = 5_000_000_000;

/// The transient part of the chain: sparse rows of transition probabilities between states
/// (state 0 is start), and per state the probability of converting next and the expected value
/// of that conversion times that probability.
struct Chain {
    rows: Vec<Vec<(u32, f64)>>,
    to_conversion: Vec<f64>,
    to_value: Vec<f64>,
    /// The channels each state's tuple holds (empty for start).
    members: Vec<Vec<u32>>,
}

fn build(paths: &PathCounts, order: usize) -> Chain {
    let mut state_ids: HashMap<Vec<u32>, u32> = HashMap::new();
    let mut members: Vec<Vec<u32>> = vec![vec![]];
    let mut edges: Vec<HashMap<u32, f64>> = vec![HashMap::new()];
    let mut conversions: Vec<f64> = vec![0.0];
    let mut nulls: Vec<f64> = vec![0.0];
    let mut values: Vec<f64> = vec![0.0];
    // Deterministic state numbering regardless of hash order.
    let name = |id: &u32| &*paths.channels[*id as usize];
    let mut ordered: Vec<(&Vec<u32>, &[f64; 3])> = paths.paths.iter().collect();
    ordered.sort_unstable_by(|a, b| a.0.iter().map(name).cmp(b.0.iter().map(name)));
    let mut states = Vec::new();
    for (path, &[c, v, n]) in ordered {
        let weight = c + n;
        if weight <= 0.0 {
            continue;
        }
        states.clear();
        let windows: Box<dyn Iterator<Item = &[u32]>> = if path.len() < order {
            Box::new(std::iter::once(path.as_slice()))
        } else {
            Box::new(path.windows(order))
        };
        for w in windows {
            let id = *state_ids.entry(w.to_vec()).or_insert_with(|| {
                let mut m = w.to_vec();
                m.sort_unstable();
                m.dedup();
                members.push(m);
                edges.push(HashMap::new());
                conversions.push(0.0);
                nulls.push(0.0);
                values.push(0.0);
                (members.len() - 1) as u32
            });
            if states.last() != Some(&id) {
                states.push(id);
            }
        }
        let mut from = 0u32;
        for &s in &states {
            *edges[from as usize].entry(s).or_insert(0.0) += weight;
            from = s;
        }
        conversions[from as usize] += c;
        nulls[from as usize] += n;
        values[from as usize] += v;
    }
    let mut rows = Vec::with_capacity(edges.len());
    let mut to_conversion = Vec::with_capacity(edges.len());
    let mut to_value = Vec::with_capacity(edges.len());
    for (s, e) in edges.into_iter().enumerate() {
        let total: f64 = e.values().sum::<f64>() + conversions[s] + nulls[s];
        let mut row: Vec<(u32, f64)> = if total > 0.0 {
            e.into_iter().map(|(t, w)| (t, w / total)).collect()
        } else {
            vec![]
        };
        row.sort_unstable_by_key(|&(t, _)| t);
        rows.push(row);
        let p_conv = if total > 0.0 {
            conversions[s] / total
        } else {
            0.0
        };
        to_conversion.push(p_conv);
        // Mean value per conversion ending here, as ChannelAttribution samples it.
        let mean_value = if conversions[s] > 0.0 {
            values[s] / conversions[s]
        } else {
            0.0
        };
        to_value.push(p_conv * mean_value);
    }
    Chain {
        rows,
        to_conversion,
        to_value,
        members,
    }
}

/// Solves `x = Q x + r` over the states not `removed` (removed states are 0), returning x[start].
fn absorb(chain: &Chain, reward: &[f64], removed: &[bool]) -> Result<f64> {
    if chain.rows.len() <= DENSE_LIMIT {
        Ok(dense(chain, reward, removed)[0])
    } else {
        gauss_seidel(chain, reward, removed)
    }
}

fn gauss_seidel(chain: &Chain, reward: &[f64], removed: &[bool]) -> Result<f64> {
    let n = chain.rows.len();
    let mut x = vec![0.0; n];
    // Bound the work (sweeps × transitions), not just the sweeps, so a huge slow chain fails
    // in seconds instead of running for hours.
    let transitions: usize = chain.rows.iter().map(Vec::len).sum::<usize>() + n;
    let sweeps = MAX_SWEEPS.min((WORK_BUDGET / transitions).max(1000));
    for _ in 0..sweeps {
        let mut change = 0.0f64;
        for s in 0..n {
            if removed[s] {
                continue;
            }
            let mut v = reward[s];
            let mut self_p = 0.0;
            for &(t, p) in &chain.rows[s] {
                if t as usize == s {
                    self_p += p;
                } else if !removed[t as usize] {
                    v += p * x[t as usize];
                }
            }
            let v = if self_p < 1.0 {
                v / (1.0 - self_p)
            } else {
                0.0
            };
            change = change.max((v - x[s]).abs());
            x[s] = v;
        }
        if change <= TOLERANCE * x[0].abs().max(f64::MIN_POSITIVE) {
            return Ok(x[0]);
        }
    }
    Err(SqlError::with_code(
        "54000",
        format!("markov_attribution: the chain of {n} states did not converge; use a lower order"),
    ))
}

/// Gaussian elimination with partial pivoting on (I − Q) x = r.
fn dense(chain: &Chain, reward: &[f64], removed: &[bool]) -> Vec<f64> {
    let n = chain.rows.len();
    let mut a = vec![0.0; n * n];
    let mut b = vec![0.0; n];
    for s in 0..n {
        a[s * n + s] = 1.0;
        if removed[s] {
            continue;
        }
        b[s] = reward[s];
        for &(t, p) in &chain.rows[s] {
            if !removed[t as usize] {
                a[s * n + t as usize] -= p;
            }
        }
    }
    for col in 0..n {
        let pivot = (col..n)
            .max_by(|&i, &j| a[i * n + col].abs().total_cmp(&a[j * n + col].abs()))
            .unwrap_or(col);
        if a[pivot * n + col] == 0.0 {
            continue;
        }
        if pivot != col {
            for k in 0..n {
                a.swap(col * n + k, pivot * n + k);
            }
            b.swap(col, pivot);
        }
        let d = a[col * n + col];
        for row in col + 1..n {
            let f = a[row * n + col] / d;
            if f != 0.0 {
                for k in col..n {
                    a[row * n + k] -= f * a[col * n + k];
                }
                b[row] -= f * b[col];
            }
        }
    }
    let mut x = vec![0.0; n];
    for row in (0..n).rev() {
        let mut v = b[row];
        for k in row + 1..n {
            v -= a[row * n + k] * x[k];
        }
        let d = a[row * n + row];
        x[row] = if d != 0.0 { v / d } else { 0.0 };
    }
    x
}

/// Removal effects and credited conversions/value per channel, ordered by credited conversions
/// (descending), then channel name.
pub(crate) fn markov_credit(paths: &PathCounts, order: usize) -> Result<Vec<ChannelCredit>> {
    let chain = build(paths, order);
    let (mut total_conversions, mut total_value) = (0.0, 0.0);
    for [c, v, n] in paths.paths.values() {
        if c + n > 0.0 {
            total_conversions += c;
            total_value += v;
        }
    }
    let n = chain.rows.len();
    let none = vec![false; n];
    let p = absorb(&chain, &chain.to_conversion, &none)?;
    let value = absorb(&chain, &chain.to_value, &none)?;
    let mut seen = vec![false; paths.channels.len()];
    for m in &chain.members {
        for &c in m {
            seen[c as usize] = true;
        }
    }
    let mut effects = Vec::new();
    for (channel, _) in seen.iter().enumerate().filter(|(_, s)| **s) {
        let removed: Vec<bool> = chain
            .members
            .iter()
            .map(|m| m.binary_search(&(channel as u32)).is_ok())
            .collect();
        let re = if p > 0.0 {
            (1.0 - absorb(&chain, &chain.to_conversion, &removed)? / p).clamp(0.0, 1.0)
        } else {
            0.0
        };
        let rev = if value > 0.0 {
            (1.0 - absorb(&chain, &chain.to_value, &removed)? / value).clamp(0.0, 1.0)
        } else {
            0.0
        };
        effects.push((channel, re, rev));
    }
    let sum_re: f64 = effects.iter().map(|e| e.1).sum();
    let sum_rev: f64 = effects.iter().map(|e| e.2).sum();
    let mut out: Vec<ChannelCredit> = effects
        .into_iter()
        .map(|(channel, re, rev)| ChannelCredit {
            channel: paths.channels[channel].to_string(),
            removal_effect: re,
            conversions: if sum_re > 0.0 {
                re / sum_re * total_conversions
            } else {
                0.0
            },
            conversion_value: if sum_rev > 0.0 {
                rev / sum_rev * total_value
            } else {
                0.0
            },
        })
        .collect();
    out.sort_by(|a, b| {
        b.conversions
            .total_cmp(&a.conversions)
            .then_with(|| a.channel.cmp(&b.channel))
    });
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(rows: &[(&[&str], f64, f64, f64)]) -> PathCounts {
        let mut pc = PathCounts::default();
        for (path, c, v, n) in rows {
            let text = path.join(" > ");
            let p: datafusion::arrow::array::ArrayRef =
                std::sync::Arc::new(datafusion::arrow::array::StringArray::from(vec![text]));
            let col = |x: f64| -> datafusion::arrow::array::ArrayRef {
                std::sync::Arc::new(datafusion::arrow::array::Float64Array::from(vec![x]))
            };
            pc.update(&p, [&col(*c), &col(*v), &col(*n)], ["c", "v", "n"], "")
                .unwrap();
        }
        pc.flush();
        pc
    }

    #[test]
    fn two_channel_chain_by_hand() {
        // a > b converts once, a fails once, b converts once.
        // From start: P(a)=2/3, P(b)=1/3. From a: to b 1/2, null 1/2. From b: conv 1.
        // P = 2/3·1/2 + 1/3 = 2/3. Without a: 1/3 → RE_a = 1/2. Without b: 0 → RE_b = 1.
        let pc = counts(&[
            (&["a", "b"], 1.0, 10.0, 0.0),
            (&["a"], 0.0, 0.0, 1.0),
            (&["b"], 1.0, 30.0, 0.0),
        ]);
        let out = markov_credit(&pc, 1).unwrap();
        let b = out.iter().find(|c| c.channel == "b").unwrap();
        let a = out.iter().find(|c| c.channel == "a").unwrap();
        assert!((a.removal_effect - 0.5).abs() < 1e-15, "{a:?}");
        assert!((b.removal_effect - 1.0).abs() < 1e-15, "{b:?}");
        assert!((a.conversions - 2.0 / 3.0).abs() < 1e-12);
        assert!((b.conversions - 4.0 / 3.0).abs() < 1e-12);
        // Values: mean value per conversion from b is 20; every conversion ends at b, so value
        // removal effects equal the conversion ones here.
        assert!((a.conversion_value + b.conversion_value - 40.0).abs() < 1e-12);
        assert!((a.conversion_value - 40.0 / 3.0).abs() < 1e-12);
    }

    #[test]
    fn iterative_and_dense_solvers_agree_on_a_cyclic_chain() {
        let pc = counts(&[
            (&["a", "b", "a", "b", "c"], 3.0, 3.0, 1.0),
            (&["b", "a"], 0.0, 0.0, 4.0),
            (&["c", "a", "c"], 2.0, 5.0, 2.0),
        ]);
        let chain = build(&pc, 1);
        let none = vec![false; chain.rows.len()];
        let exact = dense(&chain, &chain.to_conversion, &none)[0];
        let iterative = gauss_seidel(&chain, &chain.to_conversion, &none).unwrap();
        assert!((exact - iterative).abs() < 1e-14, "{exact} vs {iterative}");
        let removed: Vec<bool> = chain.members.iter().map(|m| m.contains(&1)).collect();
        let exact = dense(&chain, &chain.to_conversion, &removed)[0];
        let iterative = gauss_seidel(&chain, &chain.to_conversion, &removed).unwrap();
        assert!((exact - iterative).abs() < 1e-14, "{exact} vs {iterative}");
    }

    #[test]
    fn no_conversions_gives_zeros_not_nan() {
        let pc = counts(&[(&["a", "b"], 0.0, 0.0, 3.0)]);
        let out = markov_credit(&pc, 2).unwrap();
        assert_eq!(out.len(), 2);
        assert!(out
            .iter()
            .all(|c| c.conversions == 0.0 && c.removal_effect == 0.0));
    }
}
