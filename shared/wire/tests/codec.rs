//! Golden round-trip tests of the v1 codec and its rejection of bad input.

mod samples;

use std::fmt::Write as _;

use wiremap_wire::*;

fn hex(bytes: &[u8]) -> String {
    let mut s = String::new();
    for (i, chunk) in bytes.chunks(32).enumerate() {
        if i > 0 {
            s.push('\n');
        }
        for b in chunk {
            let _ = write!(s, "{b:02x}");
        }
    }
    s
}

/// The encoded bytes of every sample frame are pinned in `golden/frames.hex`:
/// a change to the wire format shows up here and must bump VERSION.
/// Regenerate deliberately with `WIREMAP_UPDATE_GOLDEN=1`.
#[test]
fn golden_bytes_are_stable() {
    let mut text = String::new();
    for frame in samples::all_frames() {
        let bytes = encode(&frame).expect("encodes");
        let _ = writeln!(text, "# {}\n{}", frame.kind().name(), hex(&bytes));
    }
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden/frames.hex");
    if std::env::var_os("WIREMAP_UPDATE_GOLDEN").is_some() {
        std::fs::write(path, &text).expect("write golden");
    }
    let golden = std::fs::read_to_string(path).expect("golden file present");
    assert_eq!(
        text, golden,
        "wire bytes changed; see tests/golden/frames.hex"
    );
}

#[test]
fn every_kind_round_trips() {
    let frames = samples::all_frames();
    let kinds: std::collections::BTreeSet<_> = frames.iter().map(Frame::kind).collect();
    assert_eq!(kinds.len(), FrameKind::ALL.len(), "a sample per kind");
    for frame in frames {
        let bytes = encode(&frame).expect("encodes");
        let header = Header::peek(&bytes).expect("header");
        assert_eq!(header.kind, frame.kind());
        assert_eq!(header.version, VERSION);
        assert_eq!(decode(&bytes).expect("decodes"), frame);
    }
}

#[test]
fn header_errors_are_specific() {
    let good = encode(&samples::all_frames()[0]).expect("encodes");
    assert_eq!(Header::peek(&good[..3]), Err(WireError::Short { len: 3 }));
    let mut bad = good.clone();
    bad[0] = b'X';
    assert!(matches!(
        decode(&bad),
        Err(WireError::BadMagic { found: b'X', .. })
    ));
    let mut bad = good.clone();
    bad[1] = 2;
    let err = decode(&bad).expect_err("version 2 is unknown");
    assert_eq!(
        err,
        WireError::UnsupportedVersion {
            found: 2,
            supported: 1
        }
    );
    assert!(err.to_string().contains("unsupported protocol version 2"));
    let mut bad = good.clone();
    bad[2] = 99;
    assert_eq!(decode(&bad), Err(WireError::UnknownKind(99)));
    let big = vec![0u8; MAX_FRAME_LEN + 1];
    assert!(matches!(
        Header::peek(&big),
        Err(WireError::TooLarge { .. })
    ));
}

#[test]
fn body_errors_name_the_kind() {
    let good = encode(&samples::all_frames()[2]).expect("encodes");
    let cut = &good[..good.len() - 5];
    match decode(cut) {
        Err(WireError::Body { kind, .. }) => assert_eq!(kind, FrameKind::L7Batch),
        other => panic!("expected a body error, got {other:?}"),
    }
    let mut trailing = good.clone();
    trailing.push(0);
    let err = decode(&trailing).expect_err("trailing byte");
    assert!(err.to_string().contains("trailing"), "{err}");
}

/// Every truncation and many single-byte corruptions of every sample frame
/// decode to a value or an error, never a panic.
#[test]
fn corrupted_frames_never_panic() {
    let mut next = samples::xorshift(0x9e37_79b9_7f4a_7c15_u64);
    for frame in samples::all_frames() {
        let bytes = encode(&frame).expect("encodes");
        for cut in 0..bytes.len() {
            let _ = decode(&bytes[..cut]);
        }
        for _ in 0..2_000 {
            let mut b = bytes.clone();
            let flips = 1 + next() % 4;
            for _ in 0..flips {
                let i = (next() % b.len() as u64) as usize;
                b[i] = next() as u8;
            }
            let _ = decode(&b);
        }
    }
}
