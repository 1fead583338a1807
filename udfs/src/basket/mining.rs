//! Exact frequent-itemset mining and rule generation over (basket, item) pairs.
//!
//! Singletons and pairs are counted directly (one pass over the baskets into a triangular pair
//! table), which is where nearly all of the work is for retail data; larger itemsets are grown
//! depth-first from frequent pairs by intersecting sorted basket-id lists (Eclat). The result is
//! exact: every itemset whose basket count reaches `ceil(min_support × baskets)`, as mlxtend's
//! `fpgrowth` defines it.

use std::collections::HashMap;

use datafusion::error::Result;

use crate::SqlError;

/// Above this many frequent itemsets the result is an error rather than an out-of-memory.
const MAX_ITEMSETS: usize = 5_000_000;
/// Rules enumerate every split of an itemset; beyond this size that is 2^k.
const MAX_RULE_ITEMSET: usize = 20;
/// Dense pair table limit (frequent items); above it pairs are counted by list intersection.
const MAX_DENSE_ITEMS: usize = 8192;

/// Frequent itemsets over dense item ids (`items` sorted ascending), with basket counts.
#[derive(Debug, Default)]
pub(crate) struct Mined {
    pub baskets: usize,
    pub itemsets: Vec<(Vec<u32>, u32)>,
}

/// The smallest basket count that is frequent, as mlxtend computes it.
pub(crate) fn min_count(min_support: f64, baskets: usize) -> u32 {
    ((min_support * baskets as f64).ceil() as u32).max(1)
}

fn too_many() -> datafusion::error::DataFusionError {
    SqlError::with_code(
        "54000",
        format!(
            "more than {MAX_ITEMSETS} frequent itemsets: raise min_support or pass a max_len \
             (e.g. 3) to limit itemset size"
        ),
    )
}

/// Mines `pairs` of (basket id, item id); duplicates are allowed and count once.
pub(crate) fn mine(
    pairs: &mut Vec<(u32, u32)>,
    items: usize,
    min_support: f64,
    max_len: Option<usize>,
) -> Result<Mined> {
    pairs.sort_unstable();
    pairs.dedup();
    let mut baskets = 0usize;
    let mut last = None;
    for &(b, _) in pairs.iter() {
        if last != Some(b) {
            baskets += 1;
            last = Some(b);
        }
    }
    let mut mined = Mined {
        baskets,
        itemsets: Vec::new(),
    };
    if baskets == 0 {
        return Ok(mined);
    }
    // mlxtend keeps an itemset when count >= ceil(min_support × n) and count / n >= min_support;
    // the second test can only matter through rounding, so fold it into the count threshold.
    let mut min = min_count(min_support, baskets);
    while (f64::from(min) / baskets as f64) < min_support {
        min += 1;
    }
    let max_len = max_len.unwrap_or(usize::MAX);

    let mut counts = vec![0u32; items];
    for &(_, i) in pairs.iter() {
        counts[i as usize] += 1;
    }
    // Frequent items get dense ranks; everything else is dropped from here on.
    let frequent: Vec<u32> = (0..items as u32)
        .filter(|&i| counts[i as usize] >= min)
        .collect();
    let mut rank = vec![u32::MAX; items];
    for (r, &i) in frequent.iter().enumerate() {
        rank[i as usize] = r as u32;
        mined.itemsets.push((vec![i], counts[i as usize]));
    }
    if max_len < 2 || frequent.len() < 2 {
        return Ok(mined);
    }

    // Basket-id lists per frequent item (pairs are sorted by basket, so each list is sorted).
    let f = frequent.len();
    let mut tids: Vec<Vec<u32>> = frequent
        .iter()
        .map(|&i| Vec::with_capacity(counts[i as usize] as usize))
        .collect();
    for &(b, i) in pairs.iter() {
        let r = rank[i as usize];
        if r != u32::MAX {
            tids[r as usize].push(b);
        }
    }

    let pair_count: Box<dyn Fn(usize, usize) -> u32> = if f <= MAX_DENSE_ITEMS {
        // Triangular table of pair counts, filled basket by basket.
        let index = move |a: usize, b: usize| a * f - a * (a + 1) / 2 + (b - a - 1);
        let mut table = vec![0u32; f * (f - 1) / 2];
        let mut basket_items: Vec<usize> = Vec::new();
        let mut i = 0;
        while i < pairs.len() {
            let b = pairs[i].0;
            basket_items.clear();
            while i < pairs.len() && pairs[i].0 == b {
                let r = rank[pairs[i].1 as usize];
                if r != u32::MAX {
                    basket_items.push(r as usize);
                }
                i += 1;
            }
            basket_items.sort_unstable();
            for x in 0..basket_items.len() {
                for y in x + 1..basket_items.len() {
                    table[index(basket_items[x], basket_items[y])] += 1;
                }
            }
        }
        Box::new(move |a, b| table[index(a, b)])
    } else {
        let tids = tids.clone();
        Box::new(move |a, b| intersect_len(&tids[a], &tids[b]) as u32)
    };

    let mut scratch = Vec::new();
    for a in 0..f {
        let extensions: Vec<usize> = (a + 1..f).filter(|&b| pair_count(a, b) >= min).collect();
        for &b in &extensions {
            mined
                .itemsets
                .push((vec![frequent[a], frequent[b]], pair_count(a, b)));
        }
        if mined.itemsets.len() > MAX_ITEMSETS {
            return Err(too_many());
        }
        if max_len >= 3 && extensions.len() >= 2 {
            let candidates: Vec<(u32, Vec<u32>)> = extensions
                .iter()
                .map(|&b| {
                    intersect(&tids[a], &tids[b], &mut scratch);
                    (frequent[b], scratch.clone())
                })
                .collect();
            let mut prefix = vec![frequent[a]];
            grow(&mut prefix, &candidates, min, max_len, &mut mined.itemsets)?;
        }
    }
    for (set, _) in mined.itemsets.iter_mut() {
        set.sort_unstable();
    }
    Ok(mined)
}

/// Eclat step: `prefix` + each candidate is frequent (its list is the prefix+candidate
/// baskets); extends with later candidates.
fn grow(
    prefix: &mut Vec<u32>,
    candidates: &[(u32, Vec<u32>)],
    min: u32,
    max_len: usize,
    out: &mut Vec<(Vec<u32>, u32)>,
) -> Result<()> {
    // Sets of size prefix+1 were already emitted by the caller; here we build size prefix+2.
    if prefix.len() + 2 > max_len {
        return Ok(());
    }
    let mut scratch = Vec::new();
    for i in 0..candidates.len() {
        let (item, tids) = &candidates[i];
        let mut next = Vec::new();
        for (other, other_tids) in &candidates[i + 1..] {
            intersect(tids, other_tids, &mut scratch);
            if scratch.len() as u32 >= min {
                let mut set = prefix.clone();
                set.push(*item);
                set.push(*other);
                out.push((set, scratch.len() as u32));
                next.push((*other, scratch.clone()));
            }
        }
        if out.len() > MAX_ITEMSETS {
            return Err(too_many());
        }
        if next.len() >= 2 {
            prefix.push(*item);
            grow(prefix, &next, min, max_len, out)?;
            prefix.pop();
        }
    }
    Ok(())
}

fn intersect(a: &[u32], b: &[u32], out: &mut Vec<u32>) {
    out.clear();
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                out.push(a[i]);
                i += 1;
                j += 1;
            }
        }
    }
}

fn intersect_len(a: &[u32], b: &[u32]) -> usize {
    let (mut i, mut j, mut n) = (0, 0, 0);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                n += 1;
                i += 1;
                j += 1;
            }
        }
    }
    n
}

/// One association rule with mlxtend's metrics.
#[derive(Debug, Clone)]
pub(crate) struct Rule {
    pub antecedent: Vec<u32>,
    pub consequent: Vec<u32>,
    pub support: f64,
    pub confidence: f64,
    pub lift: f64,
    pub leverage: f64,
    pub conviction: f64,
    pub count: u32,
}

/// Every rule A → C with A ∪ C frequent, A and C non-empty and disjoint, and confidence at
/// least `min_confidence`. Metrics are computed exactly as mlxtend's `association_rules`.
pub(crate) fn rules(mined: &Mined, min_confidence: f64) -> Result<Vec<Rule>> {
    let n = mined.baskets as f64;
    let support: HashMap<&[u32], u32> = mined
        .itemsets
        .iter()
        .map(|(s, c)| (s.as_slice(), *c))
        .collect();
    let mut out = Vec::new();
    let (mut a, mut c) = (Vec::new(), Vec::new());
    for (set, count) in mined.itemsets.iter().filter(|(s, _)| s.len() >= 2) {
        let k = set.len();
        if k > MAX_RULE_ITEMSET {
            return Err(SqlError::with_code(
                "54000",
                format!("a frequent itemset has {k} items, too many to enumerate rules (2^{k}); pass max_len (e.g. 4)"),
            ));
        }
        let s_ac = f64::from(*count) / n;
        for mask in 1..(1u32 << k) - 1 {
            a.clear();
            c.clear();
            for (i, &item) in set.iter().enumerate() {
                if mask & (1 << i) != 0 {
                    a.push(item)
                } else {
                    c.push(item)
                }
            }
            // Subsets of a frequent itemset are frequent, so both lookups succeed.
            let (Some(&ca), Some(&cc)) = (support.get(a.as_slice()), support.get(c.as_slice()))
            else {
                continue;
            };
            let (s_a, s_c) = (f64::from(ca) / n, f64::from(cc) / n);
            // mlxtend 0.25 scales both supports back by the basket count; doing the same keeps
            // thresholds such as confidence >= 0.4 agreeing to the last bit.
            let confidence = (s_ac * n) / (s_a * n);
            if confidence < min_confidence {
                continue;
            }
            out.push(Rule {
                antecedent: a.clone(),
                consequent: c.clone(),
                support: s_ac,
                confidence,
                lift: confidence / s_c,
                leverage: s_ac - s_a * s_c,
                conviction: if confidence < 1.0 {
                    (1.0 - s_c) / (1.0 - confidence)
                } else {
                    f64::INFINITY
                },
                count: *count,
            });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn brute(pairs: &[(u32, u32)], items: usize, min_support: f64) -> Vec<(Vec<u32>, u32)> {
        let mut baskets: std::collections::BTreeMap<u32, std::collections::BTreeSet<u32>> =
            Default::default();
        for &(b, i) in pairs {
            baskets.entry(b).or_default().insert(i);
        }
        let min = min_count(min_support, baskets.len());
        let mut out = vec![];
        for mask in 1u32..(1 << items) {
            let set: Vec<u32> = (0..items as u32).filter(|i| mask & (1 << i) != 0).collect();
            let c = baskets
                .values()
                .filter(|b| set.iter().all(|i| b.contains(i)))
                .count() as u32;
            if c >= min {
                out.push((set, c));
            }
        }
        out.sort();
        out
    }

    #[test]
    fn matches_brute_force_on_small_random_sets() {
        let mut seed = 7u64;
        let mut next = || {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 33) as u32
        };
        for round in 0..40 {
            let items = 3 + round % 8;
            let mut pairs: Vec<(u32, u32)> = (0..200)
                .map(|_| (next() % 40, next() % items as u32))
                .collect();
            for min_support in [0.05, 0.1, 0.3] {
                let mut got = mine(&mut pairs.clone(), items, min_support, None)
                    .unwrap()
                    .itemsets;
                got.sort();
                assert_eq!(
                    got,
                    brute(&pairs, items, min_support),
                    "round {round} support {min_support}"
                );
                let limited = mine(&mut pairs, items, min_support, Some(2))
                    .unwrap()
                    .itemsets;
                assert!(limited.iter().all(|(s, _)| s.len() <= 2));
            }
        }
    }

    #[test]
    fn rule_metrics_and_certain_rules() {
        // Baskets: {0,1} x3, {0} x1, {2} x1 → 0→1 has confidence 3/4; 1→0 is certain.
        let mut pairs = vec![
            (0, 0),
            (0, 1),
            (1, 0),
            (1, 1),
            (2, 0),
            (2, 1),
            (3, 0),
            (4, 2),
        ];
        let mined = mine(&mut pairs, 3, 0.2, None).unwrap();
        let rules = rules(&mined, 0.0).unwrap();
        let r01 = rules
            .iter()
            .find(|r| r.antecedent == [0] && r.consequent == [1])
            .unwrap();
        assert_eq!((r01.count, r01.support), (3, 0.6));
        assert!((r01.confidence - 0.75).abs() < 1e-15);
        assert!((r01.lift - 0.75 / 0.6).abs() < 1e-15);
        assert!((r01.leverage - (0.6 - 0.8 * 0.6)).abs() < 1e-15);
        assert!((r01.conviction - (1.0 - 0.6) / 0.25).abs() < 1e-12);
        let r10 = rules.iter().find(|r| r.antecedent == [1]).unwrap();
        assert_eq!(r10.conviction, f64::INFINITY);
        assert_eq!(mine(&mut vec![], 3, 0.1, None).unwrap().itemsets, vec![]);
    }
}
