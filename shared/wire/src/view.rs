//! An entry together with its resolved peers: what filters and the map read.

use crate::{Entry, Identity};

/// An [`Entry`] with its source and destination identities resolved and the
/// name of the node whose probe captured it.
#[derive(Debug, Clone, Copy)]
pub struct EntryView<'a> {
    pub entry: &'a Entry,
    pub src: &'a Identity,
    pub dst: &'a Identity,
    /// Node whose probe captured the entry ("local" side is on this node).
    pub node: &'a str,
}

impl<'a> EntryView<'a> {
    /// The peer on the capturing node (KFL2 "local"), falling back to src.
    pub fn local(&self) -> &'a Identity {
        if self.dst.node == self.node && self.src.node != self.node {
            self.dst
        } else {
            self.src
        }
    }

    /// The other peer (KFL2 "remote").
    pub fn remote(&self) -> &'a Identity {
        if std::ptr::eq(self.local(), self.src) {
            self.dst
        } else {
            self.src
        }
    }
}

/// A block of entries a filter reads, each made into an [`EntryView`] only
/// when a test needs more than the entry itself (a protocol flag or a
/// status code does not): building every view up front (two identity
/// lookups and the node name each) cost more than the filter's own tests.
pub trait EntryBlock {
    /// Entries in the block.
    fn len(&self) -> usize;

    /// Entry `i` (`i < len()`).
    fn entry(&self, i: usize) -> &Entry;

    /// Entry `i` with its peers and node (`i < len()`).
    fn view(&self, i: usize) -> EntryView<'_>;

    fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Views made in advance.
impl EntryBlock for [EntryView<'_>] {
    fn len(&self) -> usize {
        <[EntryView<'_>]>::len(self)
    }

    #[inline]
    fn entry(&self, i: usize) -> &Entry {
        self[i].entry
    }

    #[inline]
    fn view(&self, i: usize) -> EntryView<'_> {
        self[i]
    }
}
