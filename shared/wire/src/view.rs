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
