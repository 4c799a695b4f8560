//! The relay's capture filter, compiled: which flows the probe dissects.
//! L4 accounting never looks at it.

use regex::Regex;
use wiremap_wire::{CaptureFilter, Identity, IdentityKind};

use crate::error::ProbeError;

/// Longest pod regex accepted, in bytes.
pub const MAX_POD_REGEX_LEN: usize = 1024;
/// Compiled size limit for the pod regex.
const REGEX_SIZE_LIMIT: usize = 1 << 20;

/// A compiled [`CaptureFilter`].
#[derive(Debug, Clone, Default)]
pub struct Targeting {
    pod: Option<Regex>,
    include: Vec<String>,
    exclude: Vec<String>,
    pub revision: u64,
}

impl Targeting {
    pub fn compile(f: &CaptureFilter) -> Result<Self, ProbeError> {
        let pod = if f.pod_regex.is_empty() {
            None
        } else {
            if f.pod_regex.len() > MAX_POD_REGEX_LEN {
                return Err(ProbeError::Regex {
                    pattern: f.pod_regex.chars().take(64).collect(),
                    reason: format!("longer than {MAX_POD_REGEX_LEN} bytes"),
                });
            }
            Some(
                regex::RegexBuilder::new(&f.pod_regex)
                    .size_limit(REGEX_SIZE_LIMIT)
                    .build()
                    .map_err(|e| ProbeError::Regex {
                        pattern: f.pod_regex.clone(),
                        reason: e.to_string(),
                    })?,
            )
        };
        Ok(Targeting {
            pod,
            include: f.namespaces.clone(),
            exclude: f.exclude_namespaces.clone(),
            revision: f.revision,
        })
    }

    /// A filter with no pod regex and no namespace lists targets everything,
    /// pods or not (so a probe with no cluster knowledge still dissects).
    pub fn matches_all(&self) -> bool {
        self.pod.is_none() && self.include.is_empty() && self.exclude.is_empty()
    }

    /// Whether `id` is a targeted pod.
    pub fn targets(&self, id: &Identity) -> bool {
        if id.kind != IdentityKind::POD {
            return false;
        }
        if !self.include.is_empty() && !self.include.contains(&id.namespace) {
            return false;
        }
        if self.exclude.contains(&id.namespace) {
            return false;
        }
        self.pod.as_ref().is_none_or(|r| r.is_match(&id.name))
    }

    /// Whether a flow between `a` and `b` is dissected.
    pub fn dissects(&self, a: &Identity, b: &Identity) -> bool {
        self.matches_all() || self.targets(a) || self.targets(b)
    }
}
