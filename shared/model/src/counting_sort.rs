//! A stable counting sort: linear in the items and the key range, where a
//! comparison sort of hundreds of thousands of small keys took tens of ms
//! in the browser. Sorting by several keys is one pass per key, least
//! significant first.

/// Items of a counting sort's pass that cost one budget unit of a map
/// computation in steps (a unit is one stored entry or counter read: a
/// pass moves an item in a few ns, reading an entry takes tens).
pub(crate) const SORT_COST: usize = 4;
/// Budget units one edge of a finished map costs to build.
pub(crate) const EDGE_COST: usize = 8;

/// `items` stably sorted by `key` (every key below `buckets`), and where
/// each key's run starts: key `k`'s items are `sorted[starts[k]..starts[k + 1]]`.
/// (The model sorts [`SortInSteps`]; this is its reference in tests.)
#[cfg(test)]
pub(crate) fn counting_sort<T: Copy + Default>(
    items: &[T],
    buckets: usize,
    key: impl Fn(&T) -> usize,
) -> (Vec<T>, Vec<usize>) {
    let mut sort = SortInSteps::new(buckets);
    while !sort.step(items, &key, usize::MAX).1 {}
    sort.finish()
}

/// [`counting_sort`] a piece at a time, for work spread over frames: each
/// [`SortInSteps::step`] counts or places at most a given number of items.
#[derive(Debug, Default)]
pub(crate) struct SortInSteps<T> {
    starts: Vec<usize>,
    at: Vec<usize>,
    sorted: Vec<T>,
    /// Next item to count, or (once `counted`) to place.
    next: usize,
    counted: bool,
}

impl<T: Copy + Default> SortInSteps<T> {
    /// A sort by keys below `buckets`.
    pub(crate) fn new(buckets: usize) -> Self {
        SortInSteps {
            starts: vec![0; buckets + 1],
            at: Vec::new(),
            sorted: Vec::new(),
            next: 0,
            counted: false,
        }
    }

    /// Counts, then places, up to `max` (at least one) more of `items` (the
    /// same items at every call) by `key`. Returns how many it handled
    /// (each item is handled twice in all) and whether the sort is done.
    pub(crate) fn step(
        &mut self,
        items: &[T],
        key: impl Fn(&T) -> usize,
        max: usize,
    ) -> (usize, bool) {
        let to = items.len().min(self.next.saturating_add(max.max(1)));
        let piece = &items[self.next..to];
        if !self.counted {
            for item in piece {
                self.starts[key(item) + 1] += 1;
            }
            self.next = to;
            if to == items.len() {
                for k in 1..self.starts.len() {
                    self.starts[k] += self.starts[k - 1];
                }
                self.at = self.starts.clone();
                self.sorted = vec![T::default(); items.len()];
                self.counted = true;
                self.next = 0;
            }
            return (piece.len(), items.is_empty());
        }
        for item in piece {
            let k = key(item);
            self.sorted[self.at[k]] = *item;
            self.at[k] += 1;
        }
        self.next = to;
        (piece.len(), to == items.len())
    }

    /// The sorted items and each key's start (after the step that said
    /// done).
    pub(crate) fn finish(self) -> (Vec<T>, Vec<usize>) {
        (self.sorted, self.starts)
    }
}

/// An edge of a map being built and what the map's order sorts it by:
/// source node, target node, then `rank` (the protocol's place). Kept
/// together: a pass reading its key through the edge's slot missed the
/// cache at every edge.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Ordered {
    pub slot: u32,
    pub source: u32,
    pub target: u32,
    pub rank: u32,
}

/// The map order of edges (by source, target, rank; each edge's triple is
/// its own, or ties keep the given order), from three stable counting
/// sorts, least significant first, each a piece at a time.
#[derive(Debug, Default)]
pub(crate) struct EdgeOrder {
    items: Vec<Ordered>,
    nodes: usize,
    pass: u8,
    sort: SortInSteps<Ordered>,
}

impl EdgeOrder {
    /// `items` to be ordered, endpoints below `nodes`, ranks below `ranks`.
    pub(crate) fn new(items: Vec<Ordered>, nodes: usize, ranks: usize) -> EdgeOrder {
        EdgeOrder {
            items,
            nodes,
            pass: 0,
            sort: SortInSteps::new(ranks),
        }
    }

    /// Sorts up to `max` more items' worth (each is handled twice per
    /// pass). Returns the work done, and the slots in map order with the
    /// step that finishes.
    pub(crate) fn step(&mut self, max: usize) -> (usize, Option<Vec<u32>>) {
        let pass = self.pass;
        let key = |e: &Ordered| match pass {
            0 => e.rank as usize,
            1 => e.target as usize,
            _ => e.source as usize,
        };
        let (work, done) = self.sort.step(&self.items, key, max);
        if !done {
            return (work, None);
        }
        let sort = std::mem::replace(&mut self.sort, SortInSteps::new(self.nodes));
        self.items = sort.finish().0;
        self.pass += 1;
        if self.pass < 3 {
            return (work, None);
        }
        let order = self.items.iter().map(|e| e.slot).collect();
        self.items = Vec::new();
        (work, Some(order))
    }
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

    #[test]
    fn a_sort_in_steps_of_any_size_equals_the_sort_at_once() {
        let mut z = 0x1234_5678_9abc_def1u64;
        for (len, buckets) in [(0usize, 1usize), (1, 1), (37, 5), (5000, 300)] {
            let items: Vec<(u32, u32)> = (0..len as u32)
                .map(|i| {
                    z ^= z << 13;
                    z ^= z >> 7;
                    z ^= z << 17;
                    ((z % buckets as u64) as u32, i)
                })
                .collect();
            let key = |it: &(u32, u32)| it.0 as usize;
            let want = counting_sort(&items, buckets, key);
            for max in [1, 2, 7, 1000, usize::MAX] {
                let mut sort = SortInSteps::new(buckets);
                let (mut handled, mut calls) = (0, 0);
                loop {
                    let (n, done) = sort.step(&items, key, max);
                    assert!(n <= max);
                    handled += n;
                    calls += 1;
                    if done {
                        break;
                    }
                    assert!(calls <= 2 * len + 2, "no progress");
                }
                assert_eq!(handled, 2 * len, "each item counted and placed once");
                assert_eq!(sort.finish(), want, "{len} items, steps of {max}");
            }
        }
    }

    #[test]
    fn edge_order_sorts_by_source_target_rank_keeping_ties_in_order() {
        let mut z = 0x0f0f_1234_5678_9abcu64;
        for (len, nodes, ranks) in [
            (0usize, 1u32, 1u32),
            (1, 1, 1),
            (300, 7, 3),
            (5000, 90, 300),
        ] {
            let items: Vec<Ordered> = (0..len as u32)
                .map(|slot| {
                    z ^= z << 13;
                    z ^= z >> 7;
                    z ^= z << 17;
                    Ordered {
                        slot,
                        source: (z % u64::from(nodes)) as u32,
                        target: ((z >> 20) % u64::from(nodes)) as u32,
                        rank: ((z >> 40) % u64::from(ranks)) as u32,
                    }
                })
                .collect();
            let mut want = items.clone();
            want.sort_by_key(|e| (e.source, e.target, e.rank, e.slot));
            let want: Vec<u32> = want.iter().map(|e| e.slot).collect();
            for max in [1, 50, usize::MAX] {
                let mut order = EdgeOrder::new(items.clone(), nodes as usize, ranks as usize);
                let got = loop {
                    if let (_, Some(o)) = order.step(max) {
                        break o;
                    }
                };
                assert_eq!(got, want, "{len} items, steps of {max}");
            }
        }
    }
}
