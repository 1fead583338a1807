//! The k-means kernel shared by `kmeans_cluster`, `kmeans_centroids` and the choice of k:
//! z-score standardisation, greedy k-means++ seeding (as scikit-learn does it), Lloyd iterations
//! on both cores, several restarts keeping the lowest inertia, and a numbering of the clusters
//! that does not depend on row order.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng as StdRng;

/// How a model is fitted.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Options {
    pub standardize: bool,
    pub n_init: usize,
    pub max_iter: usize,
    pub seed: u64,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            standardize: true,
            n_init: 4,
            max_iter: 300,
            seed: 0,
        }
    }
}

/// Largest k the automatic choice considers, and how many points the silhouette looks at.
pub(crate) const AUTO_K_MAX: usize = 8;
const SILHOUETTE_SAMPLE: usize = 2000;

/// A fitted model. Points are rows of `dim` values; `labels[i]` is row i's cluster.
#[derive(Debug, Clone)]
pub(crate) struct Fit {
    pub k: usize,
    pub labels: Vec<u32>,
    pub sizes: Vec<u64>,
    /// Per cluster, the centroid in the original units.
    pub centroids: Vec<Vec<f64>>,
    /// Per cluster, the sum of squared distances in the space the fit used (standardised).
    pub inertia: Vec<f64>,
}

/// Column means and (population) standard deviations; a constant column gets scale 1.
pub(crate) fn column_stats(points: &[f64], dim: usize) -> (Vec<f64>, Vec<f64>) {
    let n = (points.len() / dim.max(1)) as f64;
    let mut mean = vec![0.0; dim];
    for row in points.chunks_exact(dim) {
        for (m, x) in mean.iter_mut().zip(row) {
            *m += x;
        }
    }
    mean.iter_mut().for_each(|m| *m /= n);
    let mut var = vec![0.0; dim];
    for row in points.chunks_exact(dim) {
        for ((v, x), m) in var.iter_mut().zip(row).zip(&mean) {
            *v += (x - m) * (x - m);
        }
    }
    let scale = var
        .iter()
        .map(|v| {
            let s = (v / n).sqrt();
            if s > 0.0 && s.is_finite() {
                s
            } else {
                1.0
            }
        })
        .collect();
    (mean, scale)
}

fn dist2(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum()
}

/// Greedy k-means++ (scikit-learn's `_kmeans_plusplus`): each new centre is the best of
/// 2 + ln(k) candidates drawn with probability proportional to the squared distance.
fn seed_centres(x: &[f64], dim: usize, k: usize, rng: &mut StdRng) -> Vec<f64> {
    let n = x.len() / dim;
    let trials = 2 + (k as f64).ln() as usize;
    let mut centres = Vec::with_capacity(k * dim);
    let first = rng.random_range(0..n);
    centres.extend_from_slice(&x[first * dim..(first + 1) * dim]);
    let mut closest: Vec<f64> = x
        .chunks_exact(dim)
        .map(|p| dist2(p, &centres[..dim]))
        .collect();
    let mut pot: f64 = closest.iter().sum();
    for _ in 1..k {
        let mut best: Option<(f64, usize, Vec<f64>)> = None;
        for _ in 0..trials {
            let candidate = if pot > 0.0 {
                let target = rng.random::<f64>() * pot;
                let mut acc = 0.0;
                let mut pick = n - 1;
                for (i, d) in closest.iter().enumerate() {
                    acc += d;
                    if acc > target {
                        pick = i;
                        break;
                    }
                }
                pick
            } else {
                rng.random_range(0..n)
            };
            let c = &x[candidate * dim..(candidate + 1) * dim];
            let mut next = vec![0.0; n];
            let next_pot = closer(x, dim, c, &closest, &mut next);
            if best.as_ref().is_none_or(|b| next_pot < b.0) {
                best = Some((next_pot, candidate, next));
            }
        }
        let Some((next_pot, candidate, next)) = best else {
            break;
        };
        centres.extend_from_slice(&x[candidate * dim..(candidate + 1) * dim]);
        closest = next;
        pot = next_pot;
    }
    centres
}

/// `out[i] = min(closest[i], |x_i − c|²)` on all cores; returns the sum.
fn closer(x: &[f64], dim: usize, c: &[f64], closest: &[f64], out: &mut [f64]) -> f64 {
    let work = |xs: &[f64], cl: &[f64], o: &mut [f64]| -> f64 {
        let mut sum = 0.0;
        for ((p, d), o) in xs.chunks_exact(dim).zip(cl).zip(o.iter_mut()) {
            *o = dist2(p, c).min(*d);
            sum += *o;
        }
        sum
    };
    let n = out.len();
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(8);
    let chunk = n.div_ceil(threads).max(4096);
    if n <= chunk {
        return work(x, closest, out);
    }
    std::thread::scope(|s| {
        let handles: Vec<_> = x
            .chunks(chunk * dim)
            .zip(closest.chunks(chunk))
            .zip(out.chunks_mut(chunk))
            .map(|((xs, cl), o)| s.spawn(move || work(xs, cl, o)))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or(f64::NAN))
            .sum()
    })
}

/// Assigns every point to its nearest centre (ties to the lower index), on all cores.
/// Returns the number of changed labels and the inertia.
fn assign(x: &[f64], dim: usize, centres: &[f64], labels: &mut [u32]) -> (usize, f64) {
    let k = centres.len() / dim;
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(8);
    let n = labels.len();
    let chunk = n.div_ceil(threads).max(1024);
    let work = |xs: &[f64], ls: &mut [u32]| -> (usize, f64) {
        let (mut changed, mut inertia) = (0usize, 0.0f64);
        for (p, l) in xs.chunks_exact(dim).zip(ls.iter_mut()) {
            let (mut best, mut best_d) = (0u32, f64::INFINITY);
            for c in 0..k {
                let d = dist2(p, &centres[c * dim..(c + 1) * dim]);
                if d < best_d {
                    best_d = d;
                    best = c as u32;
                }
            }
            if *l != best {
                changed += 1;
                *l = best;
            }
            inertia += best_d;
        }
        (changed, inertia)
    };
    if n <= chunk {
        return work(x, labels);
    }
    std::thread::scope(|s| {
        let handles: Vec<_> = x
            .chunks(chunk * dim)
            .zip(labels.chunks_mut(chunk))
            .map(|(xs, ls)| s.spawn(move || work(xs, ls)))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or((0, f64::NAN)))
            .fold((0, 0.0), |a, b| (a.0 + b.0, a.1 + b.1))
    })
}

/// Lloyd iterations from `centres` until no label changes or the centres move less than `tol`
/// in total squared distance (scikit-learn's rule). Returns (labels, centres, inertia).
fn lloyd(
    x: &[f64],
    dim: usize,
    mut centres: Vec<f64>,
    max_iter: usize,
    tol: f64,
) -> (Vec<u32>, Vec<f64>, f64) {
    let n = x.len() / dim;
    let k = centres.len() / dim;
    let mut labels = vec![u32::MAX; n];
    let mut inertia = f64::INFINITY;
    let mut previous = centres.clone();
    for iteration in 0..max_iter {
        let (changed, total) = assign(x, dim, &centres, &mut labels);
        inertia = total;
        let shift = if iteration == 0 {
            f64::INFINITY
        } else {
            dist2(&previous, &centres)
        };
        if changed == 0 || shift <= tol {
            break;
        }
        previous.copy_from_slice(&centres);
        let mut sums = vec![0.0; k * dim];
        let mut counts = vec![0u64; k];
        for (p, &l) in x.chunks_exact(dim).zip(&labels) {
            counts[l as usize] += 1;
            for (s, v) in sums[l as usize * dim..(l as usize + 1) * dim]
                .iter_mut()
                .zip(p)
            {
                *s += v;
            }
        }
        for c in 0..k {
            if counts[c] == 0 {
                // An empty cluster takes the point farthest from its centre.
                let far = x
                    .chunks_exact(dim)
                    .zip(&labels)
                    .enumerate()
                    .map(|(i, (p, &l))| {
                        (
                            i,
                            dist2(p, &centres[l as usize * dim..(l as usize + 1) * dim]),
                        )
                    })
                    .max_by(|a, b| a.1.total_cmp(&b.1).then(b.0.cmp(&a.0)))
                    .map_or(0, |(i, _)| i);
                centres[c * dim..(c + 1) * dim].copy_from_slice(&x[far * dim..(far + 1) * dim]);
                labels[far] = c as u32;
            } else {
                for (dst, s) in centres[c * dim..(c + 1) * dim]
                    .iter_mut()
                    .zip(&sums[c * dim..(c + 1) * dim])
                {
                    *dst = s / counts[c] as f64;
                }
            }
        }
    }
    (labels, centres, inertia)
}

/// Fits k clusters to `points` (rows of `dim` values, no NULLs). `k` is capped at the number of
/// distinct points. The result does not depend on the order of the rows.
pub(crate) fn fit(points: &[f64], dim: usize, k: usize, options: &Options) -> Fit {
    let n = points.len() / dim.max(1);
    if n == 0 || dim == 0 {
        return Fit {
            k: 0,
            labels: vec![],
            sizes: vec![],
            centroids: vec![],
            inertia: vec![],
        };
    }
    // Canonical row order so seeding, sums (and so the result) do not depend on the input order.
    let mut order: Vec<usize> = (0..n).collect();
    let row = |i: usize| &points[i * dim..(i + 1) * dim];
    order.sort_by(|&a, &b| {
        row(a)
            .iter()
            .zip(row(b))
            .map(|(x, y)| x.total_cmp(y))
            .find(|o| o.is_ne())
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    let mut x: Vec<f64> = Vec::with_capacity(n * dim);
    let mut distinct = 0usize;
    for (j, &i) in order.iter().enumerate() {
        if j == 0 || row(i) != row(order[j - 1]) {
            distinct += 1;
        }
        x.extend_from_slice(row(i));
    }
    let (mean, scale) = if options.standardize {
        column_stats(&x, dim)
    } else {
        (vec![0.0; dim], vec![1.0; dim])
    };
    for p in x.chunks_exact_mut(dim) {
        for ((v, m), s) in p.iter_mut().zip(&mean).zip(&scale) {
            *v = (*v - m) / s;
        }
    }
    let k = k.clamp(1, distinct);
    // scikit-learn's tolerance: 1e-4 × the mean feature variance of the data clustered.
    let (_, spread) = column_stats(&x, dim);
    let tol = 1e-4 * spread.iter().map(|s| s * s).sum::<f64>() / dim as f64;
    let mut best: Option<(Vec<u32>, Vec<f64>, f64)> = None;
    for restart in 0..options.n_init.max(1) {
        let mut rng = StdRng::seed_from_u64(options.seed.wrapping_add(restart as u64));
        let centres = seed_centres(&x, dim, k, &mut rng);
        let run = lloyd(&x, dim, centres, options.max_iter, tol);
        if best.as_ref().is_none_or(|b| run.2 < b.2) {
            best = Some(run);
        }
    }
    let Some((sorted_labels, _, _)) = best else {
        return Fit {
            k: 0,
            labels: vec![],
            sizes: vec![],
            centroids: vec![],
            inertia: vec![],
        };
    };
    // Per-cluster size, mean (standardised) and inertia; then renumber by size, largest first.
    let mut sizes = vec![0u64; k];
    let mut sums = vec![0.0; k * dim];
    for (p, &l) in x.chunks_exact(dim).zip(&sorted_labels) {
        sizes[l as usize] += 1;
        for (s, v) in sums[l as usize * dim..(l as usize + 1) * dim]
            .iter_mut()
            .zip(p)
        {
            *s += v;
        }
    }
    let centre = |c: usize| -> Vec<f64> {
        sums[c * dim..(c + 1) * dim]
            .iter()
            .map(|s| s / sizes[c].max(1) as f64)
            .collect()
    };
    let centres: Vec<Vec<f64>> = (0..k).map(centre).collect();
    let mut inertia = vec![0.0; k];
    for (p, &l) in x.chunks_exact(dim).zip(&sorted_labels) {
        inertia[l as usize] += dist2(p, &centres[l as usize]);
    }
    let mut rank: Vec<usize> = (0..k).collect();
    rank.sort_by(|&a, &b| {
        sizes[b].cmp(&sizes[a]).then_with(|| {
            centres[a]
                .iter()
                .zip(&centres[b])
                .map(|(x, y)| x.total_cmp(y))
                .find(|o| o.is_ne())
                .unwrap_or(std::cmp::Ordering::Equal)
        })
    });
    let mut new_id = vec![0u32; k];
    for (new, &old) in rank.iter().enumerate() {
        new_id[old] = new as u32;
    }
    let mut labels = vec![0u32; n];
    for (j, &i) in order.iter().enumerate() {
        labels[i] = new_id[sorted_labels[j] as usize];
    }
    let original = |c: &Vec<f64>| -> Vec<f64> {
        c.iter()
            .zip(&mean)
            .zip(&scale)
            .map(|((v, m), s)| v * s + m)
            .collect()
    };
    Fit {
        k,
        labels,
        sizes: rank.iter().map(|&c| sizes[c]).collect(),
        centroids: rank.iter().map(|&c| original(&centres[c])).collect(),
        inertia: rank.iter().map(|&c| inertia[c]).collect(),
    }
}

/// Mean silhouette (Euclidean, in the fit's space) of `labels` over an evenly spaced sample of at
/// most 2000 points taken in canonical order.
fn silhouette(x: &[f64], dim: usize, labels: &[u32], k: usize) -> f64 {
    let n = labels.len();
    let step = n.div_ceil(SILHOUETTE_SAMPLE).max(1);
    let sample: Vec<usize> = (0..n).step_by(step).collect();
    let mut total = 0.0;
    for &i in &sample {
        let mut sum = vec![0.0; k];
        let mut count = vec![0usize; k];
        for &j in &sample {
            if i != j {
                let l = labels[j] as usize;
                sum[l] += dist2(&x[i * dim..(i + 1) * dim], &x[j * dim..(j + 1) * dim]).sqrt();
                count[l] += 1;
            }
        }
        let own = labels[i] as usize;
        if count[own] == 0 {
            continue; // a singleton's silhouette is 0
        }
        let a = sum[own] / count[own] as f64;
        let b = (0..k)
            .filter(|&c| c != own && count[c] > 0)
            .map(|c| sum[c] / count[c] as f64)
            .fold(f64::INFINITY, f64::min);
        if b.is_finite() {
            total += (b - a) / a.max(b);
        }
    }
    total / sample.len() as f64
}

/// Chooses k in 2..=8 by the highest mean silhouette; returns the fit and the scores per k.
pub(crate) fn fit_auto(points: &[f64], dim: usize, options: &Options) -> (Fit, Vec<(usize, f64)>) {
    let n = points.len() / dim.max(1);
    // Silhouettes are computed in the fit's space over rows in canonical order.
    let mut order: Vec<usize> = (0..n).collect();
    let row = |i: usize| &points[i * dim..(i + 1) * dim];
    order.sort_by(|&a, &b| {
        row(a)
            .iter()
            .zip(row(b))
            .map(|(x, y)| x.total_cmp(y))
            .find(|o| o.is_ne())
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    let mut x: Vec<f64> = order.iter().flat_map(|&i| row(i).iter().copied()).collect();
    let (mean, scale) = if options.standardize {
        column_stats(&x, dim)
    } else {
        (vec![0.0; dim], vec![1.0; dim])
    };
    for p in x.chunks_exact_mut(dim) {
        for ((v, m), s) in p.iter_mut().zip(&mean).zip(&scale) {
            *v = (*v - m) / s;
        }
    }
    let mut scores = Vec::new();
    let mut best: Option<(f64, Fit)> = None;
    for k in 2..=AUTO_K_MAX {
        let f = fit(points, dim, k, options);
        if f.k < k {
            break; // fewer distinct points than k
        }
        let sorted_labels: Vec<u32> = order.iter().map(|&i| f.labels[i]).collect();
        let s = silhouette(&x, dim, &sorted_labels, f.k);
        scores.push((k, s));
        if best.as_ref().is_none_or(|b| s > b.0) {
            best = Some((s, f));
        }
    }
    match best {
        Some((_, f)) => (f, scores),
        None => (fit(points, dim, 1, options), scores),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blobs() -> Vec<f64> {
        let centres = [[0.0, 0.0], [10.0, 10.0], [0.0, 10.0]];
        let mut rng = StdRng::seed_from_u64(3);
        let mut out = vec![];
        for (i, c) in centres.iter().enumerate() {
            for _ in 0..(50 + 10 * i) {
                out.push(c[0] + rng.random::<f64>() - 0.5);
                out.push(c[1] + rng.random::<f64>() - 0.5);
            }
        }
        out
    }

    #[test]
    fn finds_separated_blobs_and_numbers_by_size() {
        let x = blobs();
        let f = fit(&x, 2, 3, &Options::default());
        assert_eq!(f.sizes, vec![70, 60, 50]);
        // The largest cluster is the one around (0, 10).
        assert!((f.centroids[0][0] - 0.0).abs() < 0.5 && (f.centroids[0][1] - 10.0).abs() < 0.5);
    }

    #[test]
    fn row_order_does_not_matter() {
        let x = blobs();
        let f = fit(&x, 2, 3, &Options::default());
        let n = x.len() / 2;
        let rev: Vec<f64> = (0..n)
            .rev()
            .flat_map(|i| [x[2 * i], x[2 * i + 1]])
            .collect();
        let g = fit(&rev, 2, 3, &Options::default());
        let g_labels: Vec<u32> = (0..n).map(|i| g.labels[n - 1 - i]).collect();
        assert_eq!(f.labels, g_labels);
        assert_eq!(f.inertia, g.inertia);
    }

    #[test]
    fn edge_cases() {
        // k larger than the distinct points; a constant column; k = 1.
        let x = [1.0, 5.0, 1.0, 5.0, 2.0, 5.0];
        let f = fit(&x, 2, 10, &Options::default());
        assert_eq!(f.k, 2);
        assert_eq!(f.sizes, vec![2, 1]);
        let one = fit(&x, 2, 1, &Options::default());
        assert_eq!(one.labels, vec![0, 0, 0]);
        assert!(fit(&[], 2, 3, &Options::default()).labels.is_empty());
    }

    #[test]
    fn auto_k_prefers_the_real_clusters() {
        let (f, scores) = fit_auto(&blobs(), 2, &Options::default());
        assert_eq!(f.k, 3, "{scores:?}");
    }
}
