//! The JSON-lines form of entries: one object per entry, fields named as KFL2
//! variables, dotted names nested (`src.pod.name` → `{"src":{"pod":{"name":…}}}`).
//! Written by `wiremap-probe --output jsonl`, read by `kfl filter`.

use serde_json::Value;

use crate::{Entry, EntryView, Identity};

/// An entry read back from JSON, with its peers and capturing node.
#[derive(Debug, Clone, PartialEq)]
pub struct JsonEntry {
    pub entry: Entry,
    pub src: Identity,
    pub dst: Identity,
    pub node: String,
}

impl JsonEntry {
    pub fn view(&self) -> EntryView<'_> {
        EntryView {
            entry: &self.entry,
            src: &self.src,
            dst: &self.dst,
            node: &self.node,
        }
    }
}

/// Why a JSON object is not an entry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct JsonError(pub String);

/// The JSON object for one entry (`"kind":"l7"` included).
pub fn entry_to_json(_view: &EntryView<'_>) -> Value {
    Value::Null
}

/// Reads an entry from its JSON object; absent fields take zero values.
pub fn entry_from_json(_value: &Value) -> Result<JsonEntry, JsonError> {
    Err(JsonError("not implemented yet".into()))
}
