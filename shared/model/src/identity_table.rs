//! One interned identity table per store: batches carry their own small
//! tables, the store keeps each distinct identity once and entries point
//! into it with a `u32`.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};

use wiremap_wire::Identity;

/// Interned identities, bounded by `cap` (plus one reserved overflow slot).
#[derive(Debug, Clone)]
pub(crate) struct IdentityTable {
    items: Vec<Identity>,
    index: HashMap<Identity, u32>,
    cap: usize,
    overflow_slot: Option<u32>,
    /// Identities that found the table full and were mapped to the overflow slot.
    pub(crate) overflowed: u64,
    /// Identities added since the last compaction.
    added_since_compaction: usize,
}

impl IdentityTable {
    pub(crate) fn new(cap: usize) -> Self {
        IdentityTable {
            items: Vec::new(),
            index: HashMap::new(),
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
        if let Some(&i) = self.index.get(identity) {
            return i;
        }
        if self.items.len() >= self.cap {
            self.overflowed += 1;
            return self.overflow_index();
        }
        self.push(identity.clone())
    }

    /// [`IdentityTable::intern`] of an identity the caller gives away,
    /// tried first at `hint` (where the same sender's identity at this
    /// place was last time): an equal identity there is found without
    /// hashing, a new one is stored without a copy.
    pub(crate) fn intern_owned(&mut self, identity: Identity, hint: Option<u32>) -> u32 {
        if let Some(h) = hint.filter(|&h| self.items.get(h as usize) == Some(&identity)) {
            return h;
        }
        if let Some(&i) = self.index.get(&identity) {
            return i;
        }
        if self.items.len() >= self.cap {
            self.overflowed += 1;
            return self.overflow_index();
        }
        self.push(identity)
    }

    fn push(&mut self, identity: Identity) -> u32 {
        self.added_since_compaction += 1;
        let i = self.items.len() as u32;
        self.index.insert(identity.clone(), i);
        self.items.push(identity);
        i
    }

    fn overflow_index(&mut self) -> u32 {
        if let Some(i) = self.overflow_slot {
            return i;
        }
        let mut id = Identity::external(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
        id.name = "(identity table full)".to_string();
        let i = self.push(id);
        self.overflow_slot = Some(i);
        i
    }

    /// Keeps only identities with `live[i]` set; returns the old → new index
    /// map (`u32::MAX` for dropped ones).
    pub(crate) fn compact(&mut self, live: &[bool]) -> Vec<u32> {
        let old = std::mem::take(&mut self.items);
        self.index.clear();
        let overflow = self.overflow_slot.take();
        let mut remap = vec![u32::MAX; old.len()];
        for (i, identity) in old.into_iter().enumerate() {
            if live.get(i).copied().unwrap_or(false) {
                let is_overflow = overflow == Some(i as u32);
                let new = self.push(identity);
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
