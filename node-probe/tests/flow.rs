//! The flow table and the duplicate filter, packet by packet.

mod support;

use support::*;
use wiremap_probe::decode::{decode, LinkType, Packet};
use wiremap_probe::dedupe::Dedupe;
use wiremap_probe::flow::{Direction, EndReason, Flow, FlowConfig, FlowTable};

fn pkt(frame: &[u8]) -> Packet<'_> {
    decode(LinkType::RawIp, frame).expect("test frame decodes")
}

fn t(src: &str, sp: u16, dst: &str, dp: u16, seq: u32, flags: u8, data: &[u8]) -> Vec<u8> {
    ipv4(
        v4(src),
        v4(dst),
        6,
        seq as u16,
        &tcp(sp, dp, seq, flags, data),
    )
}

fn u(src: &str, sp: u16, dst: &str, dp: u16, data: &[u8]) -> Vec<u8> {
    ipv4(v4(src), v4(dst), 17, 0, &udp(sp, dp, data))
}

fn first(table: &mut FlowTable, frame: &[u8]) -> (u16, u16) {
    let mut ended = Vec::new();
    let (f, _, new) = table.observe(0, &pkt(frame), &mut ended);
    assert!(new);
    (f.client.port, f.server.port)
}

#[test]
fn who_is_the_client() {
    let mut tb = FlowTable::new(FlowConfig::default());
    // SYN sender.
    assert_eq!(
        first(&mut tb, &t("10.0.0.1", 5555, "10.0.0.2", 6666, 1, SYN, b"")),
        (5555, 6666)
    );
    // A SYN-ACK seen first: its receiver.
    assert_eq!(
        first(
            &mut tb,
            &t("10.0.0.2", 7777, "10.0.0.1", 8888, 1, SYN | ACK, b"")
        ),
        (8888, 7777)
    );
    // Mid-stream: the well-known port is the server, whoever speaks first.
    assert_eq!(
        first(&mut tb, &t("10.0.0.2", 80, "10.0.0.1", 40000, 1, ACK, b"x")),
        (40000, 80)
    );
    // Mid-stream: an ephemeral port is the client.
    assert_eq!(
        first(
            &mut tb,
            &t("10.0.0.2", 8080, "10.0.0.1", 45000, 1, ACK, b"x")
        ),
        (45000, 8080)
    );
    // Otherwise the first sender.
    assert_eq!(
        first(&mut tb, &u("10.0.0.1", 5000, "10.0.0.2", 6000, b"x")),
        (5000, 6000)
    );
}

/// Mid-stream, the caller's hint outranks the ports; a handshake outranks
/// the hint; a hint that does not know leaves it to the ports.
#[test]
fn a_hint_decides_a_flow_picked_up_mid_stream() {
    let mut tb = FlowTable::new(FlowConfig::default());
    let mut ended = Vec::new();
    let mut ends = |tb: &mut FlowTable, frame: &[u8], hint: Option<bool>| {
        let (f, _, new) = tb.observe_with(0, &pkt(frame), &mut ended, |_| hint);
        assert!(new);
        (f.client.port, f.server.port)
    };
    // gRPC's 50051 is in Linux's ephemeral range: the ports alone read the
    // server's reply as the client's.
    let reply = t("10.96.1.51", 50051, "10.0.2.7", 41000, 9, ACK | PSH, b"x");
    assert_eq!(ends(&mut tb, &reply, None), (50051, 41000));
    let reply = t("10.96.1.52", 50051, "10.0.2.7", 41000, 9, ACK | PSH, b"x");
    assert_eq!(ends(&mut tb, &reply, Some(false)), (41000, 50051));
    // Even against a well-known port.
    let odd = t("10.0.0.2", 80, "10.0.0.1", 40000, 1, ACK, b"x");
    assert_eq!(ends(&mut tb, &odd, Some(true)), (80, 40000));
    // A SYN is not second-guessed.
    let syn = t("10.0.0.3", 5555, "10.0.0.4", 6666, 1, SYN, b"");
    assert_eq!(ends(&mut tb, &syn, Some(false)), (5555, 6666));
}

#[test]
fn bytes_packets_directions_and_state() {
    let mut tb = FlowTable::new(FlowConfig::default());
    let mut ended = Vec::new();
    let frames = [
        t("10.0.0.1", 40000, "10.0.0.2", 80, 1, SYN, b""),
        t("10.0.0.2", 80, "10.0.0.1", 40000, 1, SYN | ACK, b""),
        t(
            "10.0.0.1",
            40000,
            "10.0.0.2",
            80,
            2,
            ACK | PSH,
            b"GET / HTTP/1.1\r\n\r\n",
        ),
        t(
            "10.0.0.2",
            80,
            "10.0.0.1",
            40000,
            2,
            ACK | PSH,
            &[b'x'; 100],
        ),
        t("10.0.0.1", 40000, "10.0.0.2", 80, 20, ACK | FIN, b""),
        t("10.0.0.2", 80, "10.0.0.1", 40000, 102, ACK | FIN, b""),
    ];
    let mut dirs = Vec::new();
    for (i, f) in frames.iter().enumerate() {
        let (_, d, _) = tb.observe(i as i64, &pkt(f), &mut ended);
        dirs.push(d);
    }
    assert_eq!(dirs[0], Direction::ToServer);
    assert_eq!(dirs[1], Direction::ToClient);
    let f: &Flow = tb.iter().next().unwrap();
    assert_eq!((f.packets_to_server, f.packets_to_client), (3, 3));
    assert_eq!(f.bytes_to_server, 40 + 58 + 40);
    assert_eq!(f.bytes_to_client, 40 + 140 + 40);
    assert!(f.tcp.syn && f.tcp.syn_ack && f.tcp.closed());
    assert_eq!((f.first_us, f.last_us), (0, 5));

    // A new SYN on the closed 5-tuple is a new connection.
    tb.observe(10, &pkt(&frames[0]), &mut ended);
    assert_eq!(ended.len(), 1);
    assert_eq!(ended[0].end, Some(EndReason::Reused));
    assert_eq!(tb.len(), 1);
    assert_eq!(tb.iter().next().unwrap().packets_to_server, 1);
}

#[test]
fn idle_timeouts_per_protocol() {
    let cfg = FlowConfig {
        tcp_idle_us: 1000,
        tcp_closed_us: 10,
        udp_idle_us: 100,
        max_flows: 100,
    };
    let mut tb = FlowTable::new(cfg);
    let mut ended = Vec::new();
    tb.observe(
        0,
        &pkt(&u("10.0.0.1", 5000, "10.0.0.2", 53, b"q")),
        &mut ended,
    );
    tb.observe(
        0,
        &pkt(&t("10.0.0.1", 5000, "10.0.0.2", 80, 1, SYN, b"")),
        &mut ended,
    );
    tb.observe(
        0,
        &pkt(&t("10.0.0.1", 5001, "10.0.0.2", 80, 1, SYN, b"")),
        &mut ended,
    );
    tb.observe(
        0,
        &pkt(&t("10.0.0.1", 5001, "10.0.0.2", 80, 2, RST, b"")),
        &mut ended,
    );
    tb.expire(50, &mut ended);
    assert_eq!(ended.len(), 1, "only the reset flow ended");
    assert_eq!(ended[0].end, Some(EndReason::Closed));
    tb.expire(500, &mut ended);
    assert_eq!(ended.len(), 2, "then the UDP flow");
    assert_eq!(ended[1].ip_proto, 17);
    tb.expire(999, &mut ended);
    assert_eq!(ended.len(), 2);
    tb.expire(1000, &mut ended);
    assert_eq!(ended.len(), 3);
    assert!(tb.is_empty());
    assert_eq!(tb.stats.ended, 3);
}

#[test]
fn the_flow_cap_evicts_and_counts() {
    let cfg = FlowConfig {
        max_flows: 4,
        ..FlowConfig::default()
    };
    let mut tb = FlowTable::new(cfg);
    let mut ended = Vec::new();
    for port in 0..10u16 {
        tb.observe(
            i64::from(port),
            &pkt(&u("10.0.0.1", 40000 + port, "10.0.0.2", 53, b"q")),
            &mut ended,
        );
        assert!(tb.len() <= 4);
    }
    assert_eq!(tb.stats.evicted, 6);
    assert_eq!(tb.stats.created, 10);
    assert!(ended.iter().all(|f| f.end == Some(EndReason::Evicted)));
    tb.drain(&mut ended);
    assert_eq!(ended.len(), 10, "every flow comes out exactly once");
}

#[test]
fn duplicates_are_dropped_retransmissions_are_not() {
    let mut d = Dedupe::new(2000);
    let a = t("10.0.0.1", 40000, "10.0.0.2", 80, 7, ACK | PSH, b"data");
    // The same packet again (IPv4 id 7), e.g. seen on veth and bridge.
    let mut forwarded = a.clone();
    forwarded[8] -= 1; // TTL decremented by forwarding
                       // A retransmission: same segment, new IPv4 identification.
    let mut retrans = a.clone();
    retrans[5] ^= 0x55;
    assert!(!d.is_duplicate(0, &pkt(&a)));
    assert!(d.is_duplicate(10, &pkt(&forwarded)));
    assert!(!d.is_duplicate(20, &pkt(&retrans)));
    // Outside the window the same bytes count again.
    assert!(!d.is_duplicate(5000, &pkt(&a)));
    assert_eq!(d.duplicates, 1);
    // A window of 0 turns the filter off.
    let mut off = Dedupe::new(0);
    assert!(!off.is_duplicate(0, &pkt(&a)));
    assert!(!off.is_duplicate(0, &pkt(&a)));
}
