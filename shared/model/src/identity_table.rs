//! One interned identity table per store: batches carry their own small
//! tables, the store keeps each distinct identity once and entries point
//! into it with a `u32`.

use std::hash::{Hash, Hasher};
use std::net::{IpAddr, Ipv4Addr};

use wiremap_wire::Identity;

use crate::fx_hash::{FxHashMap, FxHasher};

/// No item ([`IdentityTable::same_hash`]).
const NONE: u32 = u32::MAX;

fn hash_of(identity: &Identity) -> u64 {
    let mut h = FxHasher::default();
    identity.hash(&mut h);
    h.finish()
}

/// Interned identities, bounded by `cap` (plus one reserved overflow slot).
#[derive(Debug, Clone)]
pub(crate) struct IdentityTable {
    items: Vec<Identity>,
    /// The last item of each identity hash, and for each item the one
    /// before it with the same hash ([`NONE`]): identities are found by
    /// their hash without a second copy of each kept as a key (storing
    /// 10,000 new identities took 32 ms in Chromium with copied keys and
    /// SipHash).
    heads: FxHashMap<u64, u32>,
    same_hash: Vec<u32>,
    /// [`hash_of`] (tests give one with collisions).
    hash: fn(&Identity) -> u64,
    cap: usize,
    overflow_slot: Option<u32>,
    /// Identities that found the table full and were mapped to the overflow slot.
    pub(crate) overflowed: u64,
    /// Identities added since the last compaction.
    added_since_compaction: usize,
}

impl IdentityTable {
    pub(crate) fn new(cap: usize) -> Self {
        IdentityTable::with_hash(cap, hash_of)
    }

    fn with_hash(cap: usize, hash: fn(&Identity) -> u64) -> Self {
        IdentityTable {
            hash,
            items: Vec::new(),
            heads: FxHashMap::default(),
            same_hash: Vec::new(),
            cap: cap.max(1),
            overflow_slot: None,
            overflowed: 0,
            added_since_compaction: 0,
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.items.len()
    }

    pub(crate) fn cap(&self) -> usize {
        self.cap
    }

    pub(crate) fn items(&self) -> &[Identity] {
        &self.items
    }

    /// The identity at `index`; indices handed out by this table are valid.
    pub(crate) fn get(&self, index: u32) -> &Identity {
        &self.items[index as usize]
    }

    /// No room for `n` more identities, and enough added since the last
    /// compaction (a quarter of the cap) that compacting again is worth its
    /// O(entries) cost: compaction stays amortised even when the live set
    /// itself exceeds the cap.
    pub(crate) fn should_compact(&self, n: usize) -> bool {
        self.items.len().saturating_add(n) > self.cap
            && self.added_since_compaction >= (self.cap / 4).max(1)
    }

    /// The index of `identity`, adding it when new. When the table is full
    /// the identity maps to a shared "overflow" external identity (counted).
    pub(crate) fn intern(&mut self, identity: &Identity) -> u32 {
        let hash = (self.hash)(identity);
        if let Some(i) = self.find(identity, hash) {
            return i;
        }
        if self.items.len() >= self.cap {
            self.overflowed += 1;
            return self.overflow_index();
        }
        self.push(identity.clone(), hash)
    }

    fn find(&self, identity: &Identity, hash: u64) -> Option<u32> {
        let mut i = *self.heads.get(&hash)?;
        while i != NONE {
            if self.items[i as usize] == *identity {
                return Some(i);
            }
            i = self.same_hash[i as usize];
        }
        None
    }

    /// Room for `n` more identities without the index growing meanwhile.
    pub(crate) fn reserve(&mut self, n: usize) {
        let n = n.min(self.cap.saturating_sub(self.items.len()) + 1);
        self.heads.reserve(n);
        self.same_hash.reserve(n);
        self.items.reserve(n);
    }

    /// [`IdentityTable::intern`] of an identity the caller gives away,
    /// tried first at `hint` (where the same sender's identity at this
    /// place was last time): an equal identity there is found without
    /// hashing, a new one is stored without a copy.
    pub(crate) fn intern_owned(&mut self, identity: Identity, hint: Option<u32>) -> u32 {
        if let Some(h) = hint.filter(|&h| self.items.get(h as usize) == Some(&identity)) {
            return h;
        }
        let hash = (self.hash)(&identity);
        if let Some(i) = self.find(&identity, hash) {
            return i;
        }
        if self.items.len() >= self.cap {
            self.overflowed += 1;
            return self.overflow_index();
        }
        self.push(identity, hash)
    }

    fn push(&mut self, identity: Identity, hash: u64) -> u32 {
        self.added_since_compaction += 1;
        let i = self.items.len() as u32;
        let before = self.heads.insert(hash, i).unwrap_or(NONE);
        self.same_hash.push(before);
        self.items.push(identity);
        i
    }

    fn overflow_index(&mut self) -> u32 {
        if let Some(i) = self.overflow_slot {
            return i;
        }
        let mut id = Identity::external(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
        id.name = "(identity table full)".to_string();
        let hash = (self.hash)(&id);
        let i = self.push(id, hash);
        self.overflow_slot = Some(i);
        i
    }

    /// Keeps only identities with `live[i]` set; returns the old → new index
    /// map (`u32::MAX` for dropped ones).
    pub(crate) fn compact(&mut self, live: &[bool]) -> Vec<u32> {
        let old = std::mem::take(&mut self.items);
        self.heads.clear();
        self.same_hash.clear();
        let overflow = self.overflow_slot.take();
        let mut remap = vec![u32::MAX; old.len()];
        for (i, identity) in old.into_iter().enumerate() {
            if live.get(i).copied().unwrap_or(false) {
                let is_overflow = overflow == Some(i as u32);
                let hash = (self.hash)(&identity);
                let new = self.push(identity, hash);
                if is_overflow {
                    self.overflow_slot = Some(new);
                }
                remap[i] = new;
            }
        }
        self.added_since_compaction = 0;
        remap
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(i: u32) -> Identity {
        let mut id = Identity::external(IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + i)));
        id.name = format!("pod-{i}");
        id.namespace = format!("ns-{}", i % 7);
        id
    }

    /// Every identity found at its index, equal ones interned once, with
    /// hints right, wrong or out of range, before and after a compaction,
    /// whether hashes are distinct or all the same (one long chain) or in
    /// a few buckets.
    #[test]
    fn identities_are_found_by_hash_chains() {
        let hashes: [fn(&Identity) -> u64; 3] =
            [hash_of, |_| 7, |i| u64::from(i.name.len() as u32 % 3)];
        for hash in hashes {
            let mut t = IdentityTable::with_hash(10_000, hash);
            t.reserve(300);
            for i in 0..300 {
                assert_eq!(t.intern(&id(i)), i);
            }
            for i in (0..300).rev() {
                assert_eq!(t.intern(&id(i)), i);
                assert_eq!(t.intern_owned(id(i), Some(i)), i);
                assert_eq!(t.intern_owned(id(i), Some((i + 1) % 300)), i);
                assert_eq!(t.intern_owned(id(i), Some(u32::MAX - 3)), i);
                assert_eq!(t.intern_owned(id(i), None), i);
            }
            assert_eq!(t.len(), 300);
            // Keep the odd ones: they move to i / 2, the even ones are new.
            let live: Vec<bool> = (0..300).map(|i| i % 2 == 1).collect();
            let remap = t.compact(&live);
            assert_eq!(t.len(), 150);
            for i in 0..300u32 {
                let expect = if i % 2 == 1 { i / 2 } else { u32::MAX };
                assert_eq!(remap[i as usize], expect);
            }
            for i in (1..300).step_by(2) {
                assert_eq!(t.intern(&id(i)), i / 2);
            }
            assert_eq!(t.intern(&id(0)), 150);
            assert_eq!(t.get(150), &id(0));
        }
    }

    #[test]
    fn a_full_table_maps_new_identities_to_the_overflow_slot() {
        let mut t = IdentityTable::with_hash(3, |_| 1);
        for i in 0..3 {
            assert_eq!(t.intern(&id(i)), i);
        }
        let over = t.intern(&id(3));
        assert_eq!(over, 3);
        assert_eq!(t.intern_owned(id(4), None), over);
        assert_eq!(t.overflowed, 2);
        assert_eq!(t.intern(&id(1)), 1);
        assert_eq!(t.get(over).name, "(identity table full)");
    }
}
