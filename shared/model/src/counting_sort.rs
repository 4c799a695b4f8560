//! A stable counting sort: linear in the items and the key range, where a
//! comparison sort of hundreds of thousands of small keys took tens of ms
//! in the browser. Sorting by several keys is one pass per key, least
//! significant first.

/// `items` stably sorted by `key` (every key below `buckets`), and where
/// each key's run starts: key `k`'s items are `sorted[starts[k]..starts[k + 1]]`.
pub(crate) fn counting_sort<T: Copy + Default>(
    items: &[T],
    buckets: usize,
    key: impl Fn(&T) -> usize,
) -> (Vec<T>, Vec<usize>) {
    let mut starts = vec![0usize; buckets + 1];
    for item in items {
        starts[key(item) + 1] += 1;
    }
    for k in 1..starts.len() {
        starts[k] += starts[k - 1];
    }
    let mut at = starts.clone();
    let mut sorted = vec![T::default(); items.len()];
    for item in items {
        let k = key(item);
        sorted[at[k]] = *item;
        at[k] += 1;
    }
    (sorted, starts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passes_least_key_first_sort_stably_and_lexicographically() {
        let mut z = 0x2545_f491_4f6c_dd1du64;
        let mut next = |n: u64| {
            z ^= z << 13;
            z ^= z >> 7;
            z ^= z << 17;
            (z % n) as u32
        };
        for (len, range) in [(0usize, 1u64), (1, 1), (50, 3), (1000, 40), (5000, 300)] {
            let triples: Vec<(u32, u32, u32)> = (0..len)
                .map(|_| (next(range), next(range), next(range)))
                .collect();
            let ids: Vec<u32> = (0..len as u32).collect();
            let k = |i: &u32| triples[*i as usize];
            let n = range as usize;
            let (by2, _) = counting_sort(&ids, n, |i| k(i).2 as usize);
            let (by1, _) = counting_sort(&by2, n, |i| k(i).1 as usize);
            let (order, starts) = counting_sort(&by1, n, |i| k(i).0 as usize);
            // The same as sorting by (key, index): stable, most significant last.
            let mut want = ids.clone();
            want.sort_by_key(|&i| (k(&i), i));
            assert_eq!(order, want, "{len} items below {range}");
            // Each key's run is where `starts` says.
            assert_eq!(starts.len(), n + 1);
            for key in 0..n {
                let run = &order[starts[key]..starts[key + 1]];
                assert!(run.iter().all(|i| k(i).0 as usize == key));
            }
            assert_eq!(starts[n], len);
        }
    }
}
