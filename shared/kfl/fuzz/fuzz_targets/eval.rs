//! An arbitrary expression evaluated on an arbitrary entry: the input is
//! `expr \0 entry-bytes`; the entry bytes fill fields of every detail kind.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wiremap_kfl::{Filter, Program};
use wiremap_wire::{
    Detail, Dns, Entry, EntryView, Grpc, Http, Identity, IdentityKind, Kafka, Peer, Protocol, Redis,
};

struct Bytes<'a>(&'a [u8]);

impl Bytes<'_> {
    fn u8(&mut self) -> u8 {
        let (b, rest) = self.0.split_first().map_or((0, &[][..]), |(b, r)| (*b, r));
        self.0 = rest;
        b
    }
    fn u64(&mut self) -> u64 {
        (0..8).fold(0u64, |a, _| (a << 8) | u64::from(self.u8()))
    }
    fn string(&mut self) -> String {
        let n = usize::from(self.u8() % 24).min(self.0.len());
        let (s, rest) = self.0.split_at(n);
        self.0 = rest;
        String::from_utf8_lossy(s).into_owned()
    }
    fn strings(&mut self) -> Vec<String> {
        (0..self.u8() % 4).map(|_| self.string()).collect()
    }
    fn pairs(&mut self) -> Vec<(String, String)> {
        (0..self.u8() % 4)
            .map(|_| (self.string(), self.string()))
            .collect()
    }
    fn identity(&mut self, ip: std::net::IpAddr) -> Identity {
        let mut id = Identity::external(ip);
        id.kind = IdentityKind(self.u8() % 5);
        id.name = self.string();
        id.namespace = self.string();
        id.node = self.string();
        id.service = self.string();
        id.service_namespace = self.string();
        id.labels = self.pairs();
        id.dns = self.string();
        id
    }
}

fuzz_target!(|data: &[u8]| {
    let split = data.iter().position(|&b| b == 0).unwrap_or(data.len());
    let Ok(src) = std::str::from_utf8(&data[..split]) else {
        return;
    };
    let mut b = Bytes(data.get(split + 1..).unwrap_or(&[]));
    let src_ip = std::net::IpAddr::from([10, 0, 0, b.u8()]);
    let dst_ip = std::net::IpAddr::from([10, 0, 1, b.u8()]);
    let protocol = Protocol(b.u8() % 10);
    let detail = match b.u8() % 5 {
        0 => Detail::None,
        1 => Detail::Http(Box::new(Http {
            method: b.string(),
            url: b.string(),
            path: b.string(),
            http_version: b.string(),
            query_string: b.pairs(),
            request_headers: b.pairs(),
            response_headers: b.pairs(),
            request_cookies: b.pairs(),
            response_cookies: b.pairs(),
            request_headers_size: b.u64(),
            request_body_size: b.u64(),
            response_headers_size: b.u64(),
            response_body_size: b.u64(),
            grpc: (b.u8() % 2 == 0).then(|| Grpc {
                service: b.string(),
                method: b.string(),
                status: b.u8() as i32,
            }),
        })),
        2 => Detail::Dns(Box::new(Dns {
            questions: b.strings(),
            question_types: b.strings(),
            answers: b.strings(),
            request: b.u8() % 2 == 0,
            response: b.u8() % 2 == 0,
            rcode: b.u8(),
            truncated: false,
            request_length: b.u64(),
            response_length: b.u64(),
        })),
        3 => Detail::Redis(Box::new(Redis {
            command_type: b.string(),
            command: b.string(),
            key: b.string(),
            error_reply: b.u8() % 2 == 0,
        })),
        _ => Detail::Kafka(Box::new(Kafka {
            api_key: i16::from(b.u8() as i8),
            client_id: b.string(),
            request_summary: b.string(),
            request: true,
            ..Kafka::default()
        })),
    };
    let entry = Entry {
        id: b.u64(),
        timestamp_us: b.u64() as i64,
        elapsed_us: b.u64() as i64,
        protocol,
        src: Peer {
            ip: src_ip,
            port: b.u8().into(),
            identity: 0,
        },
        dst: Peer {
            ip: dst_ip,
            port: b.u8().into(),
            identity: 1,
        },
        conn_id: b.u64(),
        transport_udp: b.u8() % 2 == 0,
        request_size: b.u64(),
        response_size: b.u64(),
        status_code: b.u64() as i32,
        error: false,
        has_response: true,
        detail,
    };
    let src_id = b.identity(src_ip);
    let dst_id = b.identity(dst_ip);
    let node = b.string();
    let view = EntryView {
        entry: &entry,
        src: &src_id,
        dst: &dst_id,
        node: &node,
    };
    if let Ok(f) = Filter::compile(src, 1_700_000_000_000_000) {
        let one = f.matches(&view);
        // Block evaluation agrees with the per-entry result, at every
        // position of a block.
        let n = 1 + usize::from(b.u8()) % Filter::BLOCK;
        let (t, e) = f.matches_block(&vec![view; n][..]);
        let all = if n == 64 { u64::MAX } else { (1 << n) - 1 };
        let want = match one {
            Ok(true) => (all, 0),
            Ok(false) => (0, 0),
            Err(_) => (0, all),
        };
        assert_eq!((t, e), want, "block of {n} disagrees with {one:?}");
    }
    if let Ok(p) = Program::compile(src, 1_700_000_000_000_000, &[]) {
        if let Ok(v) = p.eval(&view, &[]) {
            let _ = v.to_literal();
        }
    }
});
