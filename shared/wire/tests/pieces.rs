//! Decoding a frame a piece at a time gives what decoding it at once
//! gives: the same frame, or the same error, for every input.

mod samples;

use wiremap_wire::*;

/// Steps `bytes` through a decoder `items` at a time: the result and the
/// number of steps it took.
fn in_pieces(bytes: &[u8], items: usize) -> (Result<Frame, WireError>, usize) {
    let mut d = FrameDecoder::new(bytes.to_vec());
    let mut steps = 0;
    loop {
        steps += 1;
        assert!(steps < 1_000_000, "a decoder that never ends");
        if let Some(r) = d.step(items) {
            return (r, steps);
        }
    }
}

/// An L4 snapshot of `n` pods talking in a ring.
fn big_snapshot(n: u32) -> Frame {
    let identities = (0..n)
        .map(|i| {
            samples::pod(
                (0x0af4_0000 + i).to_be_bytes(),
                &format!("pod-{i}"),
                &format!("ns-{}", i % 20),
                &format!("node-{}", i % 7),
            )
        })
        .collect();
    let counters = (0..n)
        .map(|i| L4Counter {
            client: i,
            server: (i + 1) % n,
            server_port: 8080,
            ip_proto: 6,
            bytes_to_server: 1_000 + u64::from(i),
            bytes_to_client: 50_000,
            packets_to_server: 10,
            packets_to_client: 40,
            flows: 3,
            open_flows: 1,
        })
        .collect();
    Frame::L4Snapshot(L4Snapshot {
        node: "node-0".into(),
        epoch: 1_764_000_000_000_000,
        seq: 42,
        taken_at_us: 1_764_000_001_000_000,
        identities,
        counters,
    })
}

#[test]
fn every_kind_decodes_in_pieces_as_at_once() {
    let mut frames = samples::all_frames();
    frames.push(big_snapshot(3_000));
    for frame in frames {
        let bytes = encode(&frame).expect("encodes");
        for items in [0, 1, 2, 7, 1_000, usize::MAX] {
            let (got, _) = in_pieces(&bytes, items);
            assert_eq!(got.as_ref(), Ok(&frame), "{:?} by {items}", frame.kind());
        }
    }
}

#[test]
fn a_big_snapshot_takes_a_step_per_budget_of_items() {
    let frame = big_snapshot(10_000);
    let bytes = encode(&frame).expect("encodes");
    assert!(bytes.len() > 256 << 10, "{} bytes", bytes.len());
    // 20,000 items (identities and counters), 1,000 a step.
    let (got, steps) = in_pieces(&bytes, 1_000);
    assert_eq!(got, Ok(frame));
    assert_eq!(steps, 20);
}

#[test]
fn a_spent_decoder_says_so() {
    let bytes = encode(&samples::all_frames()[1]).expect("encodes");
    let mut d = FrameDecoder::new(bytes);
    assert!(!d.is_empty());
    while d.step(usize::MAX).is_none() {}
    let err = d.step(usize::MAX).expect("a result").expect_err("spent");
    assert!(err.to_string().contains("decoded already"), "{err}");
}

/// Every truncation, many corruptions, trailing bytes, huge lengths and a
/// bad header give the error decoding at once gives.
#[test]
fn bad_frames_give_the_same_error_in_pieces() {
    let mut next = samples::xorshift(0x2545_f491_4f6c_dd1d_u64);
    let mut frames = samples::all_frames();
    frames.push(big_snapshot(40));
    let mut errors = 0;
    for frame in frames {
        let bytes = encode(&frame).expect("encodes");
        let mut bad: Vec<Vec<u8>> = (0..bytes.len()).map(|cut| bytes[..cut].to_vec()).collect();
        let mut trailing = bytes.clone();
        trailing.extend_from_slice(&[0, 1]);
        bad.push(trailing);
        for _ in 0..2_000 {
            let mut b = bytes.clone();
            for _ in 0..1 + next() % 4 {
                let i = (next() % b.len() as u64) as usize;
                b[i] = next() as u8;
            }
            bad.push(b);
        }
        for b in bad {
            let at_once = decode(&b);
            errors += usize::from(at_once.is_err());
            for items in [1, 3, 64] {
                assert_eq!(
                    in_pieces(&b, items).0,
                    at_once,
                    "{:?} by {items}",
                    frame.kind()
                );
            }
        }
    }
    assert!(errors > 10_000, "{errors} bad frames");
    // A sequence length far beyond the frame is refused, not reserved for.
    let mut huge = vec![
        MAGIC,
        VERSION,
        FrameKind::L4Snapshot as u8,
        0,
        1,
        b'n',
        1,
        2,
        3,
    ];
    huge.extend_from_slice(&[0xff, 0xff, 0xff, 0xff, 0x0f]);
    assert_eq!(in_pieces(&huge, 8).0, decode(&huge));
    assert!(decode(&huge).is_err());
}
