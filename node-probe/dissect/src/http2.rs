//! HTTP/2 (h2c with prior knowledge or via `Upgrade: h2c`) and gRPC on it:
//! frames, HPACK per direction, CONTINUATION, streams, RST_STREAM, GOAWAY.
//! One entry per stream (one per gRPC call, streaming included).
//!
//! DATA payloads are counted while they pass, never buffered; only one
//! header-carrying frame at a time is.

use std::borrow::Cow;
use std::collections::HashMap;

use wiremap_wire::{Grpc, Http, Protocol};

use crate::config::Config;
use crate::counters::Counter;
use crate::detect::H2_PREFACE;
use crate::error::DissectError;
use crate::hpack::Decoder;
use crate::http_fields::{
    http_txn, push_header_owned, request_cookies, response_cookie, set_target,
};
use crate::txn::{Cx, Side};

const FRAME_HEADER: usize = 9;
const DATA: u8 = 0;
const HEADERS: u8 = 1;
const RST_STREAM: u8 = 3;
const PUSH_PROMISE: u8 = 5;
const GOAWAY: u8 = 7;
const CONTINUATION: u8 = 9;
const END_STREAM: u8 = 0x1;
const END_HEADERS: u8 = 0x4;
const PADDED: u8 = 0x8;
const PRIORITY: u8 = 0x20;

const BAD: DissectError = DissectError::Malformed("http2");

#[derive(Debug, Default)]
struct Stream {
    request_ts: Option<i64>,
    response_ts: Option<i64>,
    http: Http,
    has_request: bool,
    request_size: u64,
    response_size: u64,
    status: i32,
    grpc_status: Option<i32>,
    response_headers_seen: bool,
    upgraded: bool,
}

/// An unfinished header block (HEADERS or PUSH_PROMISE + CONTINUATIONs).
#[derive(Debug)]
struct Block {
    stream: u32,
    end_stream: bool,
    push: bool,
    fragment: Vec<u8>,
    wire: u64,
    ts: i64,
}

#[derive(Debug, Clone, Copy)]
struct Skip {
    stream: u32,
    data: u64,
    pad: u64,
    end: bool,
}

#[derive(Debug)]
struct Direction {
    buf: Vec<u8>,
    /// The DATA frame being skipped.
    skip: Option<Skip>,
    need_preface: bool,
    hpack: Decoder,
    block: Option<Block>,
    frame_ts: Option<i64>,
}

/// One HTTP/2 connection.
#[derive(Debug)]
pub(crate) struct Http2 {
    client: Side,
    dirs: [Direction; 2],
    streams: HashMap<u32, Stream>,
}

impl Http2 {
    pub(crate) fn new(client: Side, config: &Config) -> Self {
        let dir = |preface| Direction {
            buf: Vec::new(),
            skip: None,
            need_preface: preface,
            hpack: Decoder::new(config.max_hpack_table),
            block: None,
            frame_ts: None,
        };
        Self {
            client,
            dirs: [dir(true), dir(false)],
            streams: HashMap::new(),
        }
    }

    /// After `Upgrade: h2c`: the HTTP/1.1 request is stream 1.
    pub(crate) fn upgraded(
        client: Side,
        http: Http,
        request_ts: i64,
        request_size: u64,
        config: &Config,
    ) -> Self {
        let mut h = Self::new(client, config);
        let mut http = http;
        http.response_headers.clear();
        http.response_cookies.clear();
        http.response_headers_size = 0;
        http.response_body_size = 0;
        h.streams.insert(
            1,
            Stream {
                request_ts: Some(request_ts),
                http,
                has_request: true,
                request_size,
                upgraded: true,
                ..Stream::default()
            },
        );
        h
    }

    pub(crate) fn on_data(
        &mut self,
        side: Side,
        ts: i64,
        data: &[u8],
        cx: &mut Cx<'_>,
    ) -> Result<(), DissectError> {
        let d = usize::from(side != self.client);
        let mut buf = std::mem::take(&mut self.dirs[d].buf);
        buf.extend_from_slice(data);
        let mut pos = 0;
        let result = self.frames(d, &buf, &mut pos, ts, cx);
        buf.drain(..pos);
        self.dirs[d].buf = buf;
        result?;
        if self.dirs[d].buf.len() > cx.config.max_buffer {
            cx.bump(Counter::cap_buffer);
            return Err(DissectError::Cap("http2 frame"));
        }
        Ok(())
    }

    fn frames(
        &mut self,
        d: usize,
        buf: &[u8],
        pos: &mut usize,
        ts: i64,
        cx: &mut Cx<'_>,
    ) -> Result<(), DissectError> {
        while *pos < buf.len() {
            let rest = &buf[*pos..];
            if self.dirs[d].frame_ts.is_none() {
                self.dirs[d].frame_ts = Some(ts);
            }
            if let Some(mut sk) = self.dirs[d].skip {
                let take = (rest.len() as u64).min(sk.data + sk.pad);
                *pos += take as usize;
                let body = take.min(sk.data);
                self.count(d, sk.stream, take, body);
                sk.data -= body;
                sk.pad -= take - body;
                if sk.data == 0 && sk.pad == 0 {
                    self.dirs[d].skip = None;
                    self.dirs[d].frame_ts = None;
                    if sk.end {
                        self.end_stream(d, sk.stream, cx);
                    }
                } else {
                    self.dirs[d].skip = Some(sk);
                }
                continue;
            }
            if self.dirs[d].need_preface {
                if rest.len() < H2_PREFACE.len() {
                    if !H2_PREFACE.starts_with(rest) {
                        return Err(BAD);
                    }
                    return Ok(());
                }
                if !rest.starts_with(H2_PREFACE) {
                    return Err(BAD);
                }
                *pos += H2_PREFACE.len();
                self.dirs[d].need_preface = false;
                self.dirs[d].frame_ts = None;
                continue;
            }
            if rest.len() < FRAME_HEADER {
                return Ok(());
            }
            let len =
                (usize::from(rest[0]) << 16) | (usize::from(rest[1]) << 8) | usize::from(rest[2]);
            let (kind, flags) = (rest[3], rest[4]);
            let stream = u32::from_be_bytes([rest[5], rest[6], rest[7], rest[8]]) & 0x7fff_ffff;
            if kind == DATA {
                // Counted as it passes, never buffered.
                let padded = flags & PADDED != 0 && len > 0;
                let head = FRAME_HEADER + usize::from(padded);
                if rest.len() < head {
                    return Ok(());
                }
                let pad = if padded {
                    usize::from(rest[FRAME_HEADER])
                } else {
                    0
                };
                let data = (len + FRAME_HEADER).checked_sub(head + pad).ok_or(BAD)?;
                *pos += head;
                self.count(d, stream, head as u64, 0);
                self.dirs[d].skip = Some(Skip {
                    stream,
                    data: data as u64,
                    pad: pad as u64,
                    end: flags & END_STREAM != 0,
                });
                continue;
            }
            if len > cx.config.max_buffer {
                cx.bump(Counter::cap_buffer);
                return Err(DissectError::Cap("http2 frame"));
            }
            if rest.len() < FRAME_HEADER + len {
                return Ok(());
            }
            let payload = &rest[FRAME_HEADER..FRAME_HEADER + len];
            *pos += FRAME_HEADER + len;
            let frame_ts = self.dirs[d].frame_ts.take().unwrap_or(ts);
            self.frame(d, kind, flags, stream, payload, frame_ts, cx)?;
        }
        Ok(())
    }

    /// `wire` bytes of frames on `stream`, `body` of them DATA payload.
    fn count(&mut self, d: usize, stream: u32, wire: u64, body: u64) {
        if let Some(s) = self.streams.get_mut(&stream) {
            if d == 0 {
                s.request_size += wire;
                s.http.request_body_size += body;
            } else {
                s.response_size += wire;
                s.http.response_body_size += body;
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn frame(
        &mut self,
        d: usize,
        kind: u8,
        flags: u8,
        stream: u32,
        payload: &[u8],
        ts: i64,
        cx: &mut Cx<'_>,
    ) -> Result<(), DissectError> {
        let wire = (FRAME_HEADER + payload.len()) as u64;
        if self.dirs[d].block.is_some() && kind != CONTINUATION {
            return Err(BAD);
        }
        match kind {
            HEADERS | PUSH_PROMISE => {
                let mut p = payload;
                let mut pad = 0;
                if flags & PADDED != 0 {
                    pad = usize::from(*p.first().ok_or(BAD)?);
                    p = &p[1..];
                }
                if kind == HEADERS && flags & PRIORITY != 0 {
                    p = p.get(5..).ok_or(BAD)?;
                }
                if kind == PUSH_PROMISE {
                    p = p.get(4..).ok_or(BAD)?;
                }
                let end = p.len().checked_sub(pad).ok_or(BAD)?;
                let block = Block {
                    stream,
                    end_stream: flags & END_STREAM != 0,
                    push: kind == PUSH_PROMISE,
                    fragment: p[..end].to_vec(),
                    wire,
                    ts,
                };
                self.dirs[d].block = Some(block);
                if flags & END_HEADERS != 0 {
                    self.header_block(d, cx)?;
                }
            }
            CONTINUATION => {
                let Some(b) = self.dirs[d].block.as_mut() else {
                    return Err(BAD);
                };
                if b.stream != stream {
                    return Err(BAD);
                }
                b.fragment.extend_from_slice(payload);
                b.wire += wire;
                if b.fragment.len() > cx.config.max_buffer {
                    cx.bump(Counter::cap_buffer);
                    return Err(DissectError::Cap("http2 header block"));
                }
                if flags & END_HEADERS != 0 {
                    self.header_block(d, cx)?;
                }
            }
            RST_STREAM => {
                self.count(d, stream, wire, 0);
                if let Some(s) = self.streams.remove(&stream) {
                    self.emit(s, cx);
                }
            }
            GOAWAY => {
                let last = payload
                    .get(..4)
                    .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]) & 0x7fff_ffff)
                    .ok_or(BAD)?;
                // Streams the peer never processed: initiated by the side
                // that did not send GOAWAY, above `last`.
                let mut dropped: Vec<u32> = self
                    .streams
                    .keys()
                    .copied()
                    .filter(|&id| id > last)
                    .collect();
                dropped.sort_unstable();
                for id in dropped {
                    if let Some(s) = self.streams.remove(&id) {
                        self.emit(s, cx);
                    }
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn header_block(&mut self, d: usize, cx: &mut Cx<'_>) -> Result<(), DissectError> {
        let Some(block) = self.dirs[d].block.take() else {
            return Ok(());
        };
        let headers = match self.dirs[d]
            .hpack
            .decode(&block.fragment, cx.config.max_headers)
        {
            Ok(h) => h,
            Err(e) => {
                if matches!(e, DissectError::Cap(_)) {
                    cx.bump(Counter::cap_hpack);
                }
                return Err(e);
            }
        };
        if block.push {
            return Ok(());
        }
        let config = cx.config;
        if d == 0 {
            if !self.streams.contains_key(&block.stream) {
                if self.streams.len() >= config.max_streams {
                    cx.bump(Counter::cap_streams);
                    return Err(DissectError::Cap("http2 streams"));
                }
                self.streams.insert(block.stream, Stream::default());
            }
            let Some(s) = self.streams.get_mut(&block.stream) else {
                return Ok(());
            };
            s.request_size += block.wire;
            if !s.has_request {
                s.has_request = true;
                s.request_ts = Some(block.ts);
                s.http.http_version = "HTTP/2".to_string();
                s.http.request_headers_size = block.wire;
                s.http.request_headers.reserve(headers.len());
                for (n, v) in headers {
                    match n.as_str() {
                        ":method" => s.http.method = v.clone(),
                        ":path" => set_target(&mut s.http, &v, config),
                        "cookie" => request_cookies(&mut s.http.request_cookies, &v, config),
                        _ => {}
                    }
                    push_header_owned(&mut s.http.request_headers, n, Cow::Owned(v), config);
                }
                if let Some(g) = grpc_call(&s.http) {
                    s.http.grpc = Some(g);
                }
            }
        } else {
            let Some(s) = self.streams.get_mut(&block.stream) else {
                cx.bump(Counter::responses_without_request);
                return Ok(());
            };
            s.response_size += block.wire;
            let interim = headers
                .iter()
                .any(|(n, v)| n == ":status" && v.starts_with('1'));
            if interim {
                return Ok(());
            }
            if !s.response_headers_seen {
                s.response_headers_seen = true;
                s.response_ts = Some(block.ts);
                s.http.response_headers_size = block.wire;
            }
            for (n, v) in headers {
                match n.as_str() {
                    ":status" => s.status = v.parse().unwrap_or(0),
                    "grpc-status" => s.grpc_status = v.trim().parse().ok(),
                    "set-cookie" => response_cookie(&mut s.http.response_cookies, &v, config),
                    _ => {}
                }
                push_header_owned(&mut s.http.response_headers, n, Cow::Owned(v), config);
            }
        }
        if block.end_stream {
            self.end_stream(d, block.stream, cx);
        }
        Ok(())
    }

    /// END_STREAM from the server ends the call; from the client it only
    /// ends the request.
    fn end_stream(&mut self, d: usize, stream: u32, cx: &mut Cx<'_>) {
        if d == 1 {
            if let Some(s) = self.streams.remove(&stream) {
                self.emit(s, cx);
            }
        }
    }

    fn emit(&self, mut s: Stream, cx: &mut Cx<'_>) {
        if !s.has_request {
            return;
        }
        let protocol = if s.http.grpc.is_some() {
            Protocol::GRPC
        } else {
            Protocol::HTTP2
        };
        if let Some(g) = s.http.grpc.as_mut() {
            g.status = s.grpc_status.unwrap_or(0);
        }
        let response_ts = if s.response_headers_seen {
            s.response_ts
        } else {
            None
        };
        let t = http_txn(
            self.client,
            protocol,
            s.http,
            s.request_ts.unwrap_or_default(),
            response_ts,
            s.request_size,
            s.response_size,
            s.status,
        );
        let _ = s.upgraded;
        cx.emit(t);
    }

    pub(crate) fn on_gap(&mut self, _side: Side, _len: u64, cx: &mut Cx<'_>) -> bool {
        // HPACK state is lost with the bytes: the connection cannot go on.
        self.finish(cx);
        false
    }

    pub(crate) fn expire(&mut self, before_ts: i64, cx: &mut Cx<'_>) {
        let mut old: Vec<u32> = self
            .streams
            .iter()
            .filter(|(_, s)| {
                s.request_ts.is_some_and(|t| t < before_ts) && !s.response_headers_seen
            })
            .map(|(id, _)| *id)
            .collect();
        old.sort_unstable();
        for id in old {
            if let Some(s) = self.streams.remove(&id) {
                self.emit(s, cx);
            }
        }
    }

    pub(crate) fn finish(&mut self, cx: &mut Cx<'_>) {
        let mut ids: Vec<u32> = self.streams.keys().copied().collect();
        ids.sort_unstable();
        for id in ids {
            if let Some(s) = self.streams.remove(&id) {
                self.emit(s, cx);
            }
        }
    }
}

/// gRPC service and method when the request is a gRPC call.
fn grpc_call(http: &Http) -> Option<Grpc> {
    let is_grpc = http
        .request_headers
        .iter()
        .any(|(n, v)| n == "content-type" && v.starts_with("application/grpc"));
    if !is_grpc {
        return None;
    }
    let path = http.path.strip_prefix('/').unwrap_or(&http.path);
    let (service, method) = path.rsplit_once('/').unwrap_or(("", path));
    Some(Grpc {
        service: service.to_string(),
        method: method.to_string(),
        status: 0,
    })
}
