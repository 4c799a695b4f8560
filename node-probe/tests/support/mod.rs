//! Frame and capture-file builders shared by the integration tests.
#![allow(dead_code)]

use std::net::IpAddr;
use std::path::PathBuf;

pub const SYN: u8 = 0x02;
pub const ACK: u8 = 0x10;
pub const FIN: u8 = 0x01;
pub const RST: u8 = 0x04;
pub const PSH: u8 = 0x08;

/// A TCP segment (20-byte header, no options).
pub fn tcp(sport: u16, dport: u16, seq: u32, flags: u8, payload: &[u8]) -> Vec<u8> {
    let mut t = Vec::new();
    t.extend_from_slice(&sport.to_be_bytes());
    t.extend_from_slice(&dport.to_be_bytes());
    t.extend_from_slice(&seq.to_be_bytes());
    t.extend_from_slice(&0u32.to_be_bytes());
    t.push(5 << 4);
    t.push(flags);
    t.extend_from_slice(&[0xff, 0xff, 0x12, 0x34, 0, 0]);
    t.extend_from_slice(payload);
    t
}

/// A UDP datagram.
pub fn udp(sport: u16, dport: u16, payload: &[u8]) -> Vec<u8> {
    let mut u = Vec::new();
    u.extend_from_slice(&sport.to_be_bytes());
    u.extend_from_slice(&dport.to_be_bytes());
    u.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
    u.extend_from_slice(&[0xab, 0xcd]);
    u.extend_from_slice(payload);
    u
}

/// An IPv4 packet around `l4`.
pub fn ipv4(src: [u8; 4], dst: [u8; 4], proto: u8, id: u16, l4: &[u8]) -> Vec<u8> {
    let mut p = vec![0x45, 0];
    p.extend_from_slice(&((20 + l4.len()) as u16).to_be_bytes());
    p.extend_from_slice(&id.to_be_bytes());
    p.extend_from_slice(&[0x40, 0, 64, proto, 0, 0]);
    p.extend_from_slice(&src);
    p.extend_from_slice(&dst);
    p.extend_from_slice(l4);
    p
}

/// An IPv6 packet with the given extension headers (each: next-header
/// value of *this* header's type, raw bytes including its own next/len).
pub fn ipv6(src: [u8; 16], dst: [u8; 16], first_next: u8, rest: &[u8]) -> Vec<u8> {
    let mut p = vec![0x60, 0, 0, 0];
    p.extend_from_slice(&(rest.len() as u16).to_be_bytes());
    p.push(first_next);
    p.push(64);
    p.extend_from_slice(&src);
    p.extend_from_slice(&dst);
    p.extend_from_slice(rest);
    p
}

/// An Ethernet frame (optionally VLAN-tagged) around `ip`.
pub fn ether(vlans: &[u16], ethertype: u16, ip: &[u8]) -> Vec<u8> {
    let mut f = vec![0x02, 0, 0, 0, 0, 1, 0x02, 0, 0, 0, 0, 2];
    for v in vlans {
        f.extend_from_slice(&0x8100u16.to_be_bytes());
        f.extend_from_slice(&v.to_be_bytes());
    }
    f.extend_from_slice(&ethertype.to_be_bytes());
    f.extend_from_slice(ip);
    f
}

pub fn eth4(ip: &[u8]) -> Vec<u8> {
    ether(&[], 0x0800, ip)
}

/// A classic little-endian microsecond pcap file of Ethernet frames.
pub fn pcap_file(link: u32, records: &[(i64, Vec<u8>)]) -> Vec<u8> {
    let mut f = Vec::new();
    f.extend_from_slice(&0xa1b2c3d4u32.to_le_bytes());
    f.extend_from_slice(&2u16.to_le_bytes());
    f.extend_from_slice(&4u16.to_le_bytes());
    f.extend_from_slice(&[0; 8]);
    f.extend_from_slice(&262_144u32.to_le_bytes());
    f.extend_from_slice(&link.to_le_bytes());
    for (ts, data) in records {
        f.extend_from_slice(&((ts / 1_000_000) as u32).to_le_bytes());
        f.extend_from_slice(&((ts % 1_000_000) as u32).to_le_bytes());
        f.extend_from_slice(&(data.len() as u32).to_le_bytes());
        f.extend_from_slice(&(data.len() as u32).to_le_bytes());
        f.extend_from_slice(data);
    }
    f
}

pub fn v4(a: &str) -> [u8; 4] {
    match a.parse::<IpAddr>() {
        Ok(IpAddr::V4(v)) => v.octets(),
        _ => panic!("not an IPv4 address: {a}"),
    }
}

/// The shared test capture, decompressed into a temp dir.
pub fn mixed_small() -> (tempfile::TempDir, PathBuf) {
    let xz = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/captures/mixed-small.pcap.xz"
    ));
    assert!(
        xz.exists(),
        "test capture {} is missing: it ships with the project's shared traffic captures",
        xz.display()
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("mixed-small.pcap");
    let data = std::process::Command::new("xz")
        .arg("-dc")
        .arg(&xz)
        .output()
        .expect("the xz command runs");
    assert!(data.status.success(), "xz -dc failed");
    std::fs::write(&out, data.stdout).expect("write pcap");
    (dir, out)
}
