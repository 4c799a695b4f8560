//! The quality figure, computed the same way for every engine from its
//! final positions: mean edge length / mean distance of random node pairs
//! (lower is better: linked nodes closer than unrelated ones; scale-free,
//! so engines with different natural scales compare).

use crate::graphs::Rng;

/// Random pairs sampled for the denominator.
pub const QUALITY_PAIRS: usize = 20_000;

/// `None` when a position is not finite, the graph has no edges or fewer
/// than two nodes, or all nodes sit on one point.
pub fn quality(edges: &[(u32, u32)], xy: &[(f64, f64)]) -> Option<f64> {
    let n = xy.len();
    if n < 2 || edges.is_empty() || xy.iter().any(|p| !p.0.is_finite() || !p.1.is_finite()) {
        return None;
    }
    let dist =
        |a: usize, b: usize| ((xy[a].0 - xy[b].0).powi(2) + (xy[a].1 - xy[b].1).powi(2)).sqrt();
    let mut edge_sum = 0.0;
    for &(a, b) in edges {
        let (a, b) = (a as usize, b as usize);
        if a >= n || b >= n {
            return None;
        }
        edge_sum += dist(a, b);
    }
    let mut rng = Rng(99);
    let mut pair_sum = 0.0;
    let mut pairs = 0usize;
    while pairs < QUALITY_PAIRS {
        let (a, b) = (rng.below(n), rng.below(n));
        if a != b {
            pair_sum += dist(a, b);
            pairs += 1;
        }
    }
    (pair_sum > 0.0).then(|| (edge_sum / edges.len() as f64) / (pair_sum / pairs as f64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_laid_out_in_order_beats_a_shuffled_one() {
        let edges: Vec<(u32, u32)> = (0..99).map(|i| (i, i + 1)).collect();
        let ordered: Vec<(f64, f64)> = (0..100).map(|i| (i as f64, 0.0)).collect();
        let shuffled: Vec<(f64, f64)> = (0..100).map(|i| (((i * 37) % 100) as f64, 0.0)).collect();
        let (a, b) = (
            quality(&edges, &ordered).unwrap(),
            quality(&edges, &shuffled).unwrap(),
        );
        assert!(a < 0.1 && b > 0.5, "{a} {b}");
        // Scale-free.
        let scaled: Vec<(f64, f64)> = ordered.iter().map(|p| (p.0 * 7.0, 0.0)).collect();
        assert!((quality(&edges, &scaled).unwrap() - a).abs() < 1e-12);
    }

    #[test]
    fn bad_positions_have_no_quality() {
        assert_eq!(quality(&[(0, 1)], &[(0.0, 0.0), (f64::NAN, 1.0)]), None);
        assert_eq!(quality(&[(0, 1)], &[(1.0, 1.0), (1.0, 1.0)]), None);
        assert_eq!(quality(&[(0, 5)], &[(0.0, 0.0), (1.0, 1.0)]), None);
        assert_eq!(quality(&[], &[(0.0, 0.0), (1.0, 1.0)]), None);
    }
}
