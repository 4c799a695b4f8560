//! Packet decoding over hand-built frames: every link type, VLANs, IPv6
//! extension headers, fragments, and every truncation of a valid frame.

mod support;

use std::net::IpAddr;

use support::*;
use wiremap_probe::decode::{decode, DecodeStats, LinkType, Skip, Transport};

fn http_syn() -> Vec<u8> {
    ipv4(
        v4("10.0.0.1"),
        v4("10.0.0.2"),
        6,
        7,
        &tcp(40000, 80, 1000, SYN, b""),
    )
}

#[test]
fn ethernet_ipv4_tcp_fields() {
    let frame = eth4(&ipv4(
        v4("10.0.0.1"),
        v4("10.0.0.2"),
        6,
        9,
        &tcp(40000, 80, 77, PSH | ACK, b"GET /"),
    ));
    let p = decode(LinkType::Ethernet, &frame).expect("decodes");
    assert_eq!(p.src, "10.0.0.1".parse::<IpAddr>().unwrap());
    assert_eq!(p.dst, "10.0.0.2".parse::<IpAddr>().unwrap());
    assert_eq!(
        (p.src_port, p.dst_port, p.ip_proto, p.ip_id),
        (40000, 80, 6, 9)
    );
    assert_eq!(p.ip_bytes, 20 + 20 + 5);
    let Transport::Tcp {
        seq,
        flags,
        payload,
        ..
    } = p.transport
    else {
        panic!("not TCP");
    };
    assert_eq!((seq, flags, payload), (77, PSH | ACK, &b"GET /"[..]));
}

#[test]
fn ethernet_padding_is_not_payload() {
    let mut frame = eth4(&http_syn());
    frame.extend_from_slice(&[0u8; 6]);
    let p = decode(LinkType::Ethernet, &frame).expect("decodes");
    let Transport::Tcp { payload, .. } = p.transport else {
        panic!("not TCP");
    };
    assert!(
        payload.is_empty(),
        "padding leaked into the payload: {payload:?}"
    );
    assert_eq!(p.ip_bytes, 40);
}

#[test]
fn vlan_and_qinq() {
    for tags in [&[5u16][..], &[5, 6]] {
        let frame = ether(
            tags,
            0x0800,
            &ipv4(v4("1.1.1.1"), v4("2.2.2.2"), 17, 1, &udp(53, 3333, b"x")),
        );
        let p = decode(LinkType::Ethernet, &frame).expect("decodes");
        assert_eq!((p.src_port, p.dst_port), (53, 3333));
        let Transport::Udp { payload } = p.transport else {
            panic!()
        };
        assert_eq!(payload, b"x");
    }
    let frame = ether(&[1, 2, 3, 4, 5], 0x0800, &http_syn());
    assert_eq!(
        decode(LinkType::Ethernet, &frame),
        Err(Skip::TooManyVlanTags)
    );
}

#[test]
fn linux_cooked_v1_v2_raw_and_loopback() {
    let ip = http_syn();
    let mut sll = vec![0, 0, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0];
    sll.extend_from_slice(&0x0800u16.to_be_bytes());
    sll.extend_from_slice(&ip);
    let mut sll2 = 0x0800u16.to_be_bytes().to_vec();
    sll2.extend_from_slice(&[0, 0, 0, 0, 0, 2, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0]);
    sll2.extend_from_slice(&ip);
    let mut null = 2u32.to_le_bytes().to_vec();
    null.extend_from_slice(&ip);
    let mut lo = 2u32.to_be_bytes().to_vec();
    lo.extend_from_slice(&ip);
    for (link, frame) in [
        (LinkType::Sll, sll),
        (LinkType::Sll2, sll2),
        (LinkType::RawIp, ip.clone()),
        (LinkType::Null, null),
        (LinkType::Loop, lo),
    ] {
        let p = decode(link, &frame).unwrap_or_else(|e| panic!("{link:?}: {e:?}"));
        assert_eq!((p.src_port, p.dst_port), (40000, 80), "{link:?}");
    }
    assert_eq!(LinkType::from_code(113), Some(LinkType::Sll));
    assert_eq!(LinkType::from_code(276), Some(LinkType::Sll2));
    assert_eq!(LinkType::from_code(9999), None);
}

#[test]
fn ipv6_extension_headers_are_walked() {
    let src = [0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
    let dst = [0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2];
    let seg = tcp(5000, 443, 1, ACK, b"hello");
    // Hop-by-hop (8 bytes) → destination options (16 bytes) → fragment
    // header (offset 0, no more fragments) → TCP.
    let mut rest = vec![60, 0, 0, 0, 0, 0, 0, 0];
    rest.extend_from_slice(&[44, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    rest.extend_from_slice(&[6, 0, 0, 0, 0, 0, 0, 9]);
    rest.extend_from_slice(&seg);
    let frame = ether(&[], 0x86dd, &ipv6(src, dst, 0, &rest));
    let p = decode(LinkType::Ethernet, &frame).expect("decodes");
    assert_eq!((p.src_port, p.dst_port, p.ip_proto), (5000, 443, 6));
    assert_eq!(p.ip_bytes as usize, 40 + rest.len());
    let Transport::Tcp { payload, .. } = p.transport else {
        panic!()
    };
    assert_eq!(payload, b"hello");

    // A non-first fragment is counted, not decoded.
    let mut frag = vec![6, 0, 0x00, 0x11, 0, 0, 0, 9];
    frag.extend_from_slice(&seg);
    let frame = ether(&[], 0x86dd, &ipv6(src, dst, 44, &frag));
    assert_eq!(decode(LinkType::Ethernet, &frame), Err(Skip::Ipv6Fragment));
    // A chain longer than the cap.
    let mut deep = Vec::new();
    for _ in 0..12 {
        deep.extend_from_slice(&[60, 0, 0, 0, 0, 0, 0, 0]);
    }
    let frame = ether(&[], 0x86dd, &ipv6(src, dst, 60, &deep));
    assert_eq!(
        decode(LinkType::Ethernet, &frame),
        Err(Skip::TooManyExtensionHeaders)
    );
}

#[test]
fn ipv4_fragments_and_odd_headers_are_counted() {
    let mut frag = http_syn();
    frag[6] = 0x20; // more fragments
    assert_eq!(decode(LinkType::RawIp, &frag), Err(Skip::Ipv4Fragment));
    let mut later = http_syn();
    later[6] = 0x00;
    later[7] = 0x10; // offset 16
    assert_eq!(decode(LinkType::RawIp, &later), Err(Skip::Ipv4Fragment));
    let mut bad_ihl = http_syn();
    bad_ihl[0] = 0x44;
    assert_eq!(decode(LinkType::RawIp, &bad_ihl), Err(Skip::BadIpv4Header));
    let icmp = ipv4(
        v4("1.1.1.1"),
        v4("2.2.2.2"),
        1,
        0,
        &[8, 0, 0, 0, 0, 0, 0, 0],
    );
    assert_eq!(decode(LinkType::RawIp, &icmp), Err(Skip::OtherIpProtocol));
    let arp = ether(&[], 0x0806, &[0; 28]);
    assert_eq!(decode(LinkType::Ethernet, &arp), Err(Skip::NotIp));
    let mut bad_tcp = http_syn();
    bad_tcp[20 + 12] = 0x20; // data offset 8 bytes
    assert_eq!(decode(LinkType::RawIp, &bad_tcp), Err(Skip::BadTcpHeader));
    assert_eq!(decode(LinkType::RawIp, &[0x90]), Err(Skip::BadIpVersion));
}

#[test]
fn every_truncation_is_an_error_or_a_shorter_packet_never_a_panic() {
    let frames = [
        (
            LinkType::Ethernet,
            eth4(&ipv4(
                v4("10.0.0.1"),
                v4("10.0.0.2"),
                6,
                1,
                &tcp(1, 2, 3, ACK, b"abcdef"),
            )),
        ),
        (
            LinkType::Ethernet,
            ether(
                &[7],
                0x0800,
                &ipv4(v4("10.0.0.1"), v4("10.0.0.2"), 17, 1, &udp(1, 2, b"abcdef")),
            ),
        ),
    ];
    let mut stats = DecodeStats::default();
    for (link, frame) in frames {
        for cut in 0..frame.len() {
            let r = decode(link, &frame[..cut]);
            stats.record(&r);
            if let Ok(p) = r {
                // Only a cut inside the payload still decodes; the IP
                // header's length is what is counted.
                let payload = match p.transport {
                    Transport::Tcp { payload, .. } | Transport::Udp { payload } => payload,
                };
                assert!(payload.len() < 6, "cut at {cut} kept the whole payload");
                assert_eq!(p.ip_bytes, 20 + if p.ip_proto == 6 { 26 } else { 14 });
            }
        }
    }
    assert!(stats.skipped(Skip::TruncatedLink) > 0);
    assert!(stats.skipped(Skip::TruncatedIpv4) > 0);
    assert!(stats.skipped(Skip::TruncatedTcp) > 0);
    assert!(stats.skipped(Skip::TruncatedUdp) > 0);
    assert!(stats.skipped(Skip::TruncatedVlan) > 0);
    assert!(stats.decoded > 0);
}
