//! Writes seed inputs for `frames_to_map` into `corpus/frames_to_map/`:
//! valid L7 batches and L4 snapshots (including a restart) framed as the
//! target expects.

use std::net::{IpAddr, Ipv4Addr};

use wiremap_wire::{
    encode, Detail, Entry, Frame, Identity, IdentityKind, L4Counter, L4Snapshot, L7Batch, Peer,
    Protocol,
};

fn identity(i: u8) -> Identity {
    let mut id = Identity::external(IpAddr::V4(Ipv4Addr::new(10, 0, 0, i)));
    if i % 3 != 0 {
        id.kind = IdentityKind::POD;
        id.name = format!("pod-{i}");
        id.namespace = format!("ns-{}", i % 2);
        id.node = format!("node-{}", i % 2);
        id.workload = format!("w-{}", i % 4);
    }
    id
}

fn l7(seq: u64) -> Frame {
    let entries = (0..6u8)
        .map(|i| Entry {
            id: u64::from(i),
            timestamp_us: 1_000_000 * i64::from(i),
            elapsed_us: 1000 * i64::from(i),
            protocol: Protocol::KNOWN[usize::from(i) % 8],
            src: Peer {
                ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
                port: 1,
                identity: u32::from(i % 4),
            },
            dst: Peer {
                ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
                port: 2,
                identity: u32::from((i + 1) % 5),
            },
            conn_id: 1,
            transport_udp: false,
            request_size: 100 * u64::from(i),
            response_size: 1000,
            status_code: 200,
            error: i == 3,
            has_response: true,
            detail: Detail::None,
        })
        .collect();
    Frame::L7Batch(L7Batch {
        node: "node-0".into(),
        epoch: 1,
        seq,
        identities: (0..5).map(identity).collect(),
        entries,
    })
}

fn l4(epoch: u64, seq: u64, scale: u64) -> Frame {
    let counters = (0..4u32)
        .map(|i| L4Counter {
            client: i,
            server: (i + 1) % 5,
            server_port: 80,
            ip_proto: 6,
            bytes_to_server: scale * 100,
            bytes_to_client: scale * 1000,
            packets_to_server: scale,
            packets_to_client: scale,
            flows: 1,
            open_flows: 1,
        })
        .collect();
    Frame::L4Snapshot(L4Snapshot {
        node: "node-0".into(),
        epoch,
        seq,
        taken_at_us: 1_000_000 * seq as i64,
        identities: (0..5).map(identity).collect(),
        counters,
    })
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::path::Path::new("corpus/frames_to_map");
    std::fs::create_dir_all(dir)?;
    let seeds: Vec<(u8, Vec<Frame>)> = vec![
        (0b0011_0000, vec![l7(1), l7(2)]),
        (0b0011_1001, vec![l4(1, 1, 1), l4(1, 2, 5), l4(2, 1, 1)]),
        (0b1111_0110, vec![l7(1), l4(1, 1, 3), l7(2), l4(1, 2, 4)]),
    ];
    for (n, (bits, frames)) in seeds.into_iter().enumerate() {
        let mut out = vec![bits];
        for f in &frames {
            let bytes = encode(f)?;
            out.extend_from_slice(&u16::try_from(bytes.len())?.to_le_bytes());
            out.extend_from_slice(&bytes);
        }
        std::fs::write(dir.join(format!("seed-{n}")), out)?;
    }
    Ok(())
}
