//! Every fixture in tests/fixtures is fed whole, split at every point of
//! every block, byte by byte, out of order and with every segment sent
//! twice: the entries must be identical, and match the fixture's summary.

mod common;

use std::path::Path;

use common::conversation::{parse, run, whole, Conversation};
use common::summary::summary;
use wiremap_wire::Entry;

fn fixtures() -> Vec<(String, Conversation)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("fixture dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "conv"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no fixtures found");
    files
        .into_iter()
        .map(|p| {
            let text = std::fs::read_to_string(&p).expect("read fixture");
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                parse(&text),
            )
        })
        .collect()
}

fn check_same(name: &str, how: &str, base: &[Entry], got: &[Entry]) {
    assert_eq!(base.len(), got.len(), "{name}: {how}: entry count differs");
    for (a, b) in base.iter().zip(got) {
        assert_eq!(a, b, "{name}: {how}: entry differs");
    }
}

#[test]
fn fixtures_match_their_expected_entries() {
    let mut failures = String::new();
    for (name, c) in fixtures() {
        let got: Vec<String> = run(&c, &whole, false).iter().map(summary).collect();
        if got != c.expected {
            failures.push_str(&format!(
                "{name}: entries differ\n--- expected\n{}\n--- got\n{}\n",
                c.expected.join("\n"),
                got.join("\n")
            ));
        }
    }
    assert!(failures.is_empty(), "{failures}");
}

#[test]
fn every_split_point_gives_identical_entries() {
    for (name, c) in fixtures() {
        if c.udp {
            continue;
        }
        let base = run(&c, &whole, false);
        for b in 0..c.blocks.len() {
            for k in 1..c.blocks[b].bytes.len() {
                let cut = move |i: usize, len: usize| {
                    if i == b {
                        vec![(0, k), (k, len)]
                    } else {
                        vec![(0, len)]
                    }
                };
                let got = run(&c, &cut, false);
                check_same(&name, &format!("block {b} split at {k}"), &base, &got);
            }
        }
    }
}

#[test]
fn byte_by_byte_reordered_and_duplicated_give_identical_entries() {
    for (name, c) in fixtures() {
        if c.udp {
            continue;
        }
        let base = run(&c, &whole, false);
        let bytes = |_: usize, len: usize| (0..len).map(|i| (i, i + 1)).collect::<Vec<_>>();
        check_same(&name, "byte by byte", &base, &run(&c, &bytes, false));
        let reversed = |_: usize, len: usize| {
            let t = len / 3;
            vec![(2 * t, len), (t, 2 * t), (0, t)]
                .into_iter()
                .filter(|(a, b)| a < b)
                .collect::<Vec<_>>()
        };
        if c.syn {
            check_same(&name, "reversed thirds", &base, &run(&c, &reversed, false));
        }
        check_same(&name, "duplicated", &base, &run(&c, &whole, true));
        let overlapping = |_: usize, len: usize| {
            let h = len / 2;
            vec![(0, (h + 3).min(len)), (h.saturating_sub(2), len)]
                .into_iter()
                .filter(|(a, b)| a < b)
                .collect::<Vec<_>>()
        };
        check_same(
            &name,
            "overlapping halves",
            &base,
            &run(&c, &overlapping, false),
        );
    }
}
