//! Validation of capture filters sent by viewers, and their state file.

use std::path::Path;

use wiremap_wire::{CaptureFilter, Frame};

use crate::RelayError;

/// Longest pod-name regex accepted, in bytes.
pub const MAX_REGEX_LEN: usize = 1024;
/// Compiled-program size limit for the regex (the `regex` crate's `size_limit`).
pub const MAX_REGEX_PROGRAM: usize = 1 << 20;
/// Most namespaces in the include or exclude list.
pub const MAX_NAMESPACES: usize = 256;
/// Longest namespace name (a Kubernetes DNS label).
pub const MAX_NAMESPACE_LEN: usize = 63;

/// Decodes and validates a CaptureFilter frame from a viewer. The returned
/// filter still carries the viewer's revision; the hub assigns its own.
pub fn parse(frame: &[u8]) -> Result<CaptureFilter, String> {
    match wiremap_wire::decode(frame) {
        Ok(Frame::CaptureFilter(f)) => validate(&f).map(|()| f),
        Ok(other) => Err(format!(
            "expected a capture filter, got {}",
            other.kind().name()
        )),
        Err(e) => Err(format!("malformed capture filter: {e}")),
    }
}

/// Checks sizes and that the regex compiles.
pub fn validate(f: &CaptureFilter) -> Result<(), String> {
    if f.pod_regex.len() > MAX_REGEX_LEN {
        return Err(format!(
            "pod regex is {} bytes, the limit is {MAX_REGEX_LEN}",
            f.pod_regex.len()
        ));
    }
    regex::RegexBuilder::new(&f.pod_regex)
        .size_limit(MAX_REGEX_PROGRAM)
        .build()
        .map_err(|e| format!("pod regex does not compile: {e}"))?;
    for (what, list) in [
        ("namespaces", &f.namespaces),
        ("exclude_namespaces", &f.exclude_namespaces),
    ] {
        if list.len() > MAX_NAMESPACES {
            return Err(format!(
                "{what} has {} names, the limit is {MAX_NAMESPACES}",
                list.len()
            ));
        }
        for ns in list {
            let ok = !ns.is_empty()
                && ns.len() <= MAX_NAMESPACE_LEN
                && ns
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
            if !ok {
                return Err(format!("{what}: {ns:?} is not a valid namespace name"));
            }
        }
    }
    Ok(())
}

/// Loads the persisted filter; a missing file means none.
pub fn load(path: &Path) -> Result<Option<CaptureFilter>, RelayError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(RelayError::StateRead {
                path: path.to_owned(),
                source,
            })
        }
    };
    let invalid = |reason: String| RelayError::StateInvalid {
        path: path.to_owned(),
        reason,
    };
    let f: CaptureFilter = serde_json::from_str(&text).map_err(|e| invalid(e.to_string()))?;
    validate(&f).map_err(invalid)?;
    Ok(Some(f))
}

/// Persists the filter atomically (write a sibling file, then rename).
pub fn save(path: &Path, f: &CaptureFilter) -> Result<(), RelayError> {
    let write = |source| RelayError::StateWrite {
        path: path.to_owned(),
        source,
    };
    let text = serde_json::to_string_pretty(f).map_err(|e| write(std::io::Error::other(e)))?;
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    std::fs::write(&tmp, text).map_err(write)?;
    std::fs::rename(&tmp, path).map_err(write)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filter(re: &str, ns: &[&str]) -> CaptureFilter {
        CaptureFilter {
            pod_regex: re.into(),
            namespaces: ns.iter().map(|s| s.to_string()).collect(),
            exclude_namespaces: vec![],
            revision: 0,
        }
    }

    #[test]
    fn accepts_good_and_rejects_bad_filters() {
        assert!(validate(&filter("^front.*", &["shop", "kube-system"])).is_ok());
        assert!(validate(&filter("", &[])).is_ok());
        assert!(validate(&filter("(unclosed", &[]))
            .unwrap_err()
            .contains("compile"));
        assert!(validate(&filter(&"a".repeat(MAX_REGEX_LEN + 1), &[])).is_err());
        assert!(validate(&filter("x", &["Bad_NS"])).is_err());
        let many: Vec<String> = (0..=MAX_NAMESPACES).map(|i| format!("ns{i}")).collect();
        let f = CaptureFilter {
            namespaces: many,
            ..filter("", &[])
        };
        assert!(validate(&f).is_err());
        // a regex whose compiled program exceeds the size limit
        assert!(validate(&filter(r"\w{1000}\w{1000}\w{1000}", &[])).is_err());
    }

    #[test]
    fn parse_rejects_other_frames_and_garbage() {
        let hello = wiremap_wire::encode(&Frame::Hello(wiremap_wire::Hello {
            node: "n".into(),
            probe_version: "1".into(),
            epoch: 1,
        }))
        .unwrap();
        assert!(parse(&hello).is_err());
        assert!(parse(&[0x57, 1, 6, 0, 0xff, 0xff]).is_err());
        let good = wiremap_wire::encode(&Frame::CaptureFilter(filter("a", &[]))).unwrap();
        assert_eq!(parse(&good).unwrap().pod_regex, "a");
    }

    #[test]
    fn state_file_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        assert_eq!(load(&path).unwrap(), None);
        let f = CaptureFilter {
            revision: 7,
            ..filter("^api", &["shop"])
        };
        save(&path, &f).unwrap();
        assert_eq!(load(&path).unwrap(), Some(f));
        std::fs::write(&path, "{not json").unwrap();
        assert!(load(&path).is_err());
    }
}
