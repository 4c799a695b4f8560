//! pcap and pcapng files built byte by byte: both byte orders, nanosecond
//! and custom resolutions, several interfaces, and broken files.

mod support;

use std::io::Cursor;

use support::*;
use wiremap_probe::decode::LinkType;
use wiremap_probe::pcap::{
    Capture, CaptureReader, ChunkInput, Input, SliceReader, MAX_RECORD_LEN, READ_CHUNK,
};
use wiremap_probe::ProbeError;

fn frame() -> Vec<u8> {
    eth4(&ipv4(
        v4("10.0.0.1"),
        v4("10.0.0.2"),
        6,
        1,
        &tcp(1234, 80, 5, SYN, b""),
    ))
}

/// (timestamp µs, link type, frame bytes) of one record.
type Record = (i64, Option<LinkType>, Vec<u8>);

fn records<I: Input>(r: Result<Capture<I>, ProbeError>) -> Result<Vec<Record>, ProbeError> {
    let mut r = r?;
    let mut v = Vec::new();
    while let Some(rec) = r.next_record()? {
        v.push((rec.ts_us, rec.link, rec.data.to_vec()));
    }
    Ok(v)
}

/// The records of a file read three ways: through `Read`, in place from
/// memory, and from a file in chunks. All must agree, records and errors
/// alike.
fn all(bytes: Vec<u8>) -> Result<Vec<Record>, ProbeError> {
    let read = records(CaptureReader::new(Cursor::new(bytes.clone())));
    let slice = records(SliceReader::from_slice(&bytes));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.pcap");
    std::fs::write(&path, &bytes).unwrap();
    let show = |r: &Result<Vec<Record>, ProbeError>| match r {
        Ok(v) => format!("{v:?}"),
        Err(e) => format!("error: {e}"),
    };
    assert_eq!(show(&slice), show(&read), "in memory vs read");
    // Read in chunks, with chunks smaller than a record header, than a
    // record, what `--pcap` reads, and larger than the file.
    for capacity in [1, 7, 100, 4096, READ_CHUNK, 1 << 20] {
        let file = std::fs::File::open(&path).unwrap();
        let chunked = records(Capture::with_input(ChunkInput::with_capacity(
            capacity, file,
        )));
        assert_eq!(show(&chunked), show(&read), "chunks of {capacity} vs read");
    }
    read
}

#[test]
fn a_capture_of_several_chunks_reads_like_read() {
    // Enough large records (odd sizes, so they straddle chunk ends at
    // different offsets) to cross several of `--pcap`'s chunks.
    let n = 3 * READ_CHUNK / 60_000 + 7;
    let recs: Vec<(i64, Vec<u8>)> = (0..n)
        .map(|i| (i as i64 * 10, vec![i as u8; 60_001 + i % 5]))
        .collect();
    let file = pcap_file(1, &recs);
    assert!(file.len() > 4 * READ_CHUNK, "{} bytes", file.len());
    let got = all(file).unwrap();
    assert_eq!(got.len(), n);
    assert_eq!(got[n - 1].0, (n as i64 - 1) * 10);
    assert_eq!(got[n - 1].2, recs[n - 1].1);
}

#[test]
fn pcap_little_endian_microseconds() {
    let f = frame();
    let recs = all(pcap_file(
        1,
        &[
            (1_700_000_000_123_456, f.clone()),
            (1_700_000_001_000_000, f.clone()),
        ],
    ))
    .unwrap();
    assert_eq!(recs.len(), 2);
    assert_eq!(
        recs[0],
        (1_700_000_000_123_456, Some(LinkType::Ethernet), f)
    );
    assert_eq!(recs[1].0, 1_700_000_001_000_000);
}

#[test]
fn pcap_big_endian_nanoseconds_and_unknown_link() {
    let f = frame();
    let mut b = Vec::new();
    b.extend_from_slice(&0xa1b23c4du32.to_be_bytes());
    b.extend_from_slice(&[0, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff]);
    b.extend_from_slice(&147u32.to_be_bytes()); // a user DLT: not decodable
    b.extend_from_slice(&10u32.to_be_bytes());
    b.extend_from_slice(&999_999_999u32.to_be_bytes());
    b.extend_from_slice(&(f.len() as u32).to_be_bytes());
    b.extend_from_slice(&(f.len() as u32).to_be_bytes());
    b.extend_from_slice(&f);
    let recs = all(b).unwrap();
    assert_eq!(recs, vec![(10_999_999, None, f)]);
}

fn block(kind: u32, body: &[u8]) -> Vec<u8> {
    let mut padded = body.to_vec();
    while !padded.len().is_multiple_of(4) {
        padded.push(0);
    }
    let len = (12 + padded.len()) as u32;
    let mut b = kind.to_le_bytes().to_vec();
    b.extend_from_slice(&len.to_le_bytes());
    b.extend_from_slice(&padded);
    b.extend_from_slice(&len.to_le_bytes());
    b
}

fn shb() -> Vec<u8> {
    let mut body = 0x1A2B3C4Du32.to_le_bytes().to_vec();
    body.extend_from_slice(&[1, 0, 0, 0]);
    body.extend_from_slice(&(-1i64).to_le_bytes());
    block(0x0A0D0D0A, &body)
}

fn idb(link: u16, tsresol: Option<u8>) -> Vec<u8> {
    let mut body = link.to_le_bytes().to_vec();
    body.extend_from_slice(&[0, 0]);
    body.extend_from_slice(&0u32.to_le_bytes());
    if let Some(r) = tsresol {
        body.extend_from_slice(&9u16.to_le_bytes());
        body.extend_from_slice(&1u16.to_le_bytes());
        body.extend_from_slice(&[r, 0, 0, 0]);
        body.extend_from_slice(&[0, 0, 0, 0]);
    }
    block(1, &body)
}

fn epb(iface: u32, ts: u64, data: &[u8]) -> Vec<u8> {
    let mut body = iface.to_le_bytes().to_vec();
    body.extend_from_slice(&((ts >> 32) as u32).to_le_bytes());
    body.extend_from_slice(&(ts as u32).to_le_bytes());
    body.extend_from_slice(&(data.len() as u32).to_le_bytes());
    body.extend_from_slice(&(data.len() as u32).to_le_bytes());
    body.extend_from_slice(data);
    block(6, &body)
}

#[test]
fn pcapng_interfaces_resolutions_and_skipped_blocks() {
    let f = frame();
    let mut raw = f.clone();
    raw.drain(..14);
    let mut b = shb();
    b.extend(idb(1, None)); // µs
    b.extend(idb(101, Some(9))); // raw IP, ns
    b.extend(block(5, &[0; 12])); // interface statistics: skipped
    b.extend(epb(0, 1_500_000, &f));
    b.extend(epb(1, 2_000_000_000, &raw));
    // A second section starts over with its own interfaces.
    b.extend(shb());
    b.extend(idb(113, Some(0x80 | 10))); // SLL, 2^-10 s
    let mut sll = vec![0u8; 14];
    sll.extend_from_slice(&0x0800u16.to_be_bytes());
    sll.extend_from_slice(&raw);
    b.extend(epb(0, 2048, &sll));
    // Every truncation reads the same way in place as through `Read`.
    for cut in 0..b.len() {
        let _ = all(b[..cut].to_vec());
    }
    let recs = all(b).unwrap();
    assert_eq!(recs.len(), 3);
    assert_eq!(recs[0], (1_500_000, Some(LinkType::Ethernet), f));
    assert_eq!(recs[1], (2_000_000, Some(LinkType::RawIp), raw));
    assert_eq!((recs[2].0, recs[2].1), (2_000_000, Some(LinkType::Sll)));
}

#[test]
fn broken_files_are_errors_not_panics() {
    let f = frame();
    assert!(matches!(
        all(b"nope".to_vec()),
        Err(ProbeError::BadMagic(_))
    ));
    assert!(matches!(all(vec![]), Err(ProbeError::Truncated(_))));
    let good = pcap_file(1, &[(1, f.clone())]);
    for cut in 1..good.len() {
        // Every cut short of a record boundary is an error; the boundary
        // after the file header gives zero records.
        let r = all(good[..cut].to_vec());
        if cut == 24 {
            assert_eq!(r.unwrap().len(), 0);
        } else {
            assert!(r.is_err(), "cut at {cut} was accepted");
        }
    }
    let mut huge = pcap_file(1, &[]);
    huge.extend_from_slice(&[0; 8]);
    huge.extend_from_slice(&((MAX_RECORD_LEN + 1) as u32).to_le_bytes());
    huge.extend_from_slice(&[0; 4]);
    assert!(matches!(all(huge), Err(ProbeError::RecordTooLarge { .. })));
    // pcapng: a packet naming an interface that was never described.
    let mut b = shb();
    b.extend(epb(3, 0, &f));
    assert!(matches!(all(b), Err(ProbeError::BadBlock(_))));
    // pcapng: a block length that is not a multiple of 4.
    let mut b = shb();
    b.extend_from_slice(&6u32.to_le_bytes());
    b.extend_from_slice(&13u32.to_le_bytes());
    b.extend_from_slice(&[0; 5]);
    assert!(matches!(all(b), Err(ProbeError::BadBlock(_))));
}
