//! `--output jsonl`: one JSON object per line. L7 entries use the wire
//! crate's KFL2-shaped form (`"kind":"l7"`); ended L4 flows are
//! `{"kind":"l4","proto":"TCP"|"UDP","client":{…},"server":{…},…}` with IP
//! bytes and IP packets per direction. Other frames are not written.

use std::io::Write;

use serde_json::{json, Map, Value};
use wiremap_wire::json::format_rfc3339;
use wiremap_wire::{Frame, Identity};

use crate::entry_json::EntryWriter;

use crate::pipeline::{FlowRecord, Output};

thread_local! {
    /// The entry writer and its line buffer, reused from batch to batch.
    static WRITER: std::cell::RefCell<(EntryWriter, Vec<u8>)> =
        std::cell::RefCell::new((EntryWriter::new(), Vec::new()));
}

/// Bytes of JSON lines handed to the writer at a time, rather than a whole
/// batch (about half a megabyte) at once: the line buffer stays small.
const WRITE_CHUNK: usize = 64 << 10;

fn rfc3339(us: i64) -> String {
    format_rfc3339(
        us.div_euclid(1_000_000),
        (us.rem_euclid(1_000_000) * 1000) as u32,
    )
}

fn end_json(port: u16, id: &Identity) -> Value {
    let labels: Map<String, Value> = id
        .labels
        .iter()
        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
        .collect();
    json!({
        "ip": id.ip.to_string(),
        "port": port,
        "kind": id.kind.name(),
        "name": id.best_name(),
        "namespace": id.best_namespace(),
        "pod": if id.kind == wiremap_wire::IdentityKind::POD { id.name.as_str() } else { "" },
        "node": id.node,
        "service": id.service,
        "workload": id.workload,
        "workload_kind": id.workload_kind,
        "labels": labels,
    })
}

/// The JSON object of an ended flow (the reference form; lines are written
/// by [`EntryWriter::write_flow`]).
pub fn flow_to_json(r: &FlowRecord, node: &str) -> Value {
    let f = &r.flow;
    let proto = match f.ip_proto {
        6 => "TCP".to_string(),
        17 => "UDP".to_string(),
        n => n.to_string(),
    };
    let end = crate::entry_json::end_name(f.end);
    json!({
        "kind": "l4",
        "proto": proto,
        "node": node,
        "client": end_json(f.client.port, &r.client),
        "server": end_json(f.server.port, &r.server),
        "bytes_to_server": f.bytes_to_server,
        "bytes_to_client": f.bytes_to_client,
        "packets_to_server": f.packets_to_server,
        "packets_to_client": f.packets_to_client,
        "first_seen": rfc3339(f.first_us),
        "last_seen": rfc3339(f.last_us),
        "tcp": {"syn": f.tcp.syn, "syn_ack": f.tcp.syn_ack, "fin": f.tcp.fin_from_client || f.tcp.fin_from_server, "rst": f.tcp.rst},
        "end": end,
    })
}

/// Writes the lines for one pipeline output (none for most frames).
pub fn write_output<W: Write>(w: &mut W, node: &str, o: &Output) -> std::io::Result<()> {
    match o {
        Output::FlowEnded(r) => WRITER.with(|cell| {
            // Written directly; the same bytes as `flow_to_json` through
            // serde_json (tests/entry_json.rs holds them to it).
            let (writer, buf) = &mut *cell.borrow_mut();
            buf.clear();
            writer.write_flow(buf, r, node);
            buf.push(b'\n');
            w.write_all(buf)
        }),
        Output::Frame(Frame::L7Batch(b)) => WRITER.with(|cell| {
            let (writer, buf) = &mut *cell.borrow_mut();
            writer.write_batch_to(w, buf, b, WRITE_CHUNK)
        }),
        Output::Frame(_) => Ok(()),
    }
}
