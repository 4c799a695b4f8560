//! HTTP/1.0 and HTTP/1.1: message framing in both directions (pipelining,
//! keep-alive, Content-Length, chunked, close-delimited bodies, 1xx, HEAD,
//! Upgrade) and FIFO pairing of requests with responses.
//!
//! Bodies are counted, never buffered; only one message head at a time is.

use std::borrow::Cow;
use std::collections::VecDeque;

use wiremap_wire::{Http, Protocol};

use crate::counters::Counter;
use crate::error::DissectError;
use crate::http_fields::{
    http_txn, push_header_owned, request_cookies, response_cookie, set_target,
};
use crate::scan::find_byte;
use crate::txn::{Cx, Side};

/// Request methods recognised at the start of a request line.
pub(crate) const METHODS: [&[u8]; 9] = [
    b"GET ",
    b"POST ",
    b"PUT ",
    b"DELETE ",
    b"HEAD ",
    b"OPTIONS ",
    b"PATCH ",
    b"CONNECT ",
    b"TRACE ",
];

/// Longest chunk-size or trailer line accepted.
const MAX_LINE: usize = 8192;

/// A switch away from HTTP/1 and the unparsed bytes of each side.
pub(crate) type Switched = (Switch, [Vec<u8>; 2]);

/// What the connection becomes after this message exchange.
#[derive(Debug)]
pub(crate) enum Switch {
    /// Stop parsing (WebSocket, CONNECT tunnel, unknown upgrade).
    Opaque,
    /// `Upgrade: h2c` accepted: HTTP/2 follows, the request is stream 1.
    H2c {
        http: Box<Http>,
        request_ts: i64,
        request_size: u64,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Chunk {
    Size,
    Data(u64),
    DataEnd,
    Trailer,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Body {
    Length(u64),
    Chunked(Chunk),
    UntilClose,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Head,
    Body(Body),
    Resync,
}

#[derive(Debug)]
struct Reader {
    buf: Vec<u8>,
    phase: Phase,
    start_ts: Option<i64>,
    msg_size: u64,
    body_size: u64,
    scanned: usize,
    /// A message head was parsed in this direction (we are in step).
    synced: bool,
}

impl Default for Reader {
    fn default() -> Self {
        Self {
            synced: false,
            buf: Vec::new(),
            phase: Phase::Head,
            start_ts: None,
            msg_size: 0,
            body_size: 0,
            scanned: 0,
        }
    }
}

impl Reader {
    fn reset_message(&mut self) {
        self.phase = Phase::Head;
        self.start_ts = None;
        self.msg_size = 0;
        self.body_size = 0;
        self.scanned = 0;
    }
}

#[derive(Debug)]
struct Pending {
    http: Http,
    ts: i64,
    size: u64,
    head: bool,
    connect: bool,
    h2c: bool,
}

#[derive(Debug)]
struct Responding {
    req: Option<Pending>,
    status: i32,
    ts: i64,
    headers: Vec<(String, String)>,
    cookies: Vec<(String, String)>,
    head_size: u64,
    switch: bool,
}

/// One HTTP/1.x connection.
#[derive(Debug)]
pub(crate) struct Http1 {
    client: Side,
    readers: [Reader; 2],
    pending: VecDeque<Pending>,
    /// The request whose body is being read is still the queue's back.
    req_in_queue: bool,
    responding: Option<Responding>,
    interim_bytes: u64,
    switch: Option<Switch>,
}

struct Head<'a> {
    start: [&'a str; 3],
    headers: Vec<(String, &'a str)>,
}

fn find_head_end(buf: &[u8], from: usize) -> Option<usize> {
    let mut i = from;
    while let Some(j) = buf.get(i..).and_then(|rest| find_byte(rest, b'\n')) {
        i += j;
        if i >= 1 && buf[i - 1] == b'\n' {
            return Some(i + 1);
        }
        if i >= 2 && buf[i - 1] == b'\r' && buf[i - 2] == b'\n' {
            return Some(i + 1);
        }
        i += 1;
    }
    None
}

/// `str::split('\n')` with one '\r' before each '\n' dropped, searching
/// bytes (the separator is ASCII, so its positions are char boundaries).
struct Lines<'a> {
    rest: &'a str,
    done: bool,
}

impl<'a> Iterator for Lines<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        if self.done {
            return None;
        }
        let line = match find_byte(self.rest.as_bytes(), b'\n') {
            Some(i) => {
                let l = &self.rest[..i];
                self.rest = &self.rest[i + 1..];
                l
            }
            None => {
                self.done = true;
                self.rest
            }
        };
        Some(line.strip_suffix('\r').unwrap_or(line))
    }
}

fn parse_head<'a>(
    raw: &'a [u8],
    max_headers: usize,
    counters: &mut Cx<'_>,
) -> Result<Head<'a>, DissectError> {
    let text = std::str::from_utf8(raw).map_err(|_| DissectError::Malformed("http"))?;
    let mut lines = Lines {
        rest: text,
        done: false,
    };
    let first = lines.next().ok_or(DissectError::Malformed("http"))?;
    let mut parts = first.splitn(3, ' ');
    let start = [
        parts.next().unwrap_or(""),
        parts.next().unwrap_or(""),
        parts.next().unwrap_or(""),
    ];
    let mut headers = Vec::with_capacity(16);
    let mut dropped = false;
    for line in lines {
        if line.is_empty() || line.starts_with([' ', '\t']) {
            continue;
        }
        let Some(colon) = find_byte(line.as_bytes(), b':') else {
            return Err(DissectError::Malformed("http"));
        };
        if headers.len() >= max_headers {
            dropped = true;
            continue;
        }
        let (name, value) = (&line[..colon], &line[colon + 1..]);
        headers.push((name.trim().to_ascii_lowercase(), value.trim()));
    }
    if dropped {
        counters.bump(Counter::cap_headers);
    }
    Ok(Head { start, headers })
}

fn header<'a>(head: &Head<'a>, name: &str) -> Option<&'a str> {
    head.headers
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| *v)
}

fn body_framing(head: &Head<'_>) -> Result<Option<Body>, DissectError> {
    if let Some(te) = header(head, "transfer-encoding") {
        if te.to_ascii_lowercase().contains("chunked") {
            return Ok(Some(Body::Chunked(Chunk::Size)));
        }
    }
    if let Some(cl) = header(head, "content-length") {
        let n: u64 = cl
            .trim()
            .parse()
            .map_err(|_| DissectError::Malformed("http"))?;
        return Ok(Some(Body::Length(n)));
    }
    Ok(None)
}

fn find_line(buf: &[u8]) -> Option<usize> {
    find_byte(buf, b'\n').map(|i| i + 1)
}

impl Http1 {
    pub(crate) fn new(client: Side) -> Self {
        Self {
            client,
            readers: [Reader::default(), Reader::default()],
            pending: VecDeque::new(),
            req_in_queue: false,
            responding: None,
            interim_bytes: 0,
            switch: None,
        }
    }

    /// The side that sends requests.
    pub(crate) fn client(&self) -> Side {
        self.client
    }

    /// Feeds bytes sent by `side`. When the connection stops being HTTP/1,
    /// returns what it becomes and the unparsed bytes of each side.
    pub(crate) fn on_data(
        &mut self,
        side: Side,
        ts: i64,
        data: &[u8],
        cx: &mut Cx<'_>,
    ) -> Result<Option<Switched>, DissectError> {
        let dir = usize::from(side != self.client);
        let mut buf = std::mem::take(&mut self.readers[dir].buf);
        if buf.is_empty() {
            let n = self.process(dir, data, ts, cx)?;
            buf.extend_from_slice(&data[n..]);
        } else {
            buf.extend_from_slice(data);
            let n = self.process(dir, &buf, ts, cx)?;
            buf.drain(..n);
        }
        if let Some(sw) = self.switch.take() {
            let mut left: [Vec<u8>; 2] = Default::default();
            left[usize::from(side)] = buf;
            let other = usize::from(1 - side.min(1));
            left[other] = std::mem::take(&mut self.readers[1 - dir].buf);
            return Ok(Some((sw, left)));
        }
        self.readers[dir].buf = buf;
        if self.readers[dir].buf.len() > cx.config.max_buffer {
            cx.bump(Counter::cap_buffer);
            return Err(DissectError::Cap("http head"));
        }
        Ok(None)
    }

    /// `len` bytes from `side` were lost.
    pub(crate) fn on_gap(&mut self, side: Side, len: u64, cx: &mut Cx<'_>) {
        let dir = usize::from(side != self.client);
        let r = &mut self.readers[dir];
        let skip = match r.phase {
            Phase::Body(Body::Length(n)) if len <= n => {
                r.phase = Phase::Body(Body::Length(n - len));
                true
            }
            Phase::Body(Body::Chunked(Chunk::Data(n))) if len <= n => {
                r.phase = Phase::Body(Body::Chunked(Chunk::Data(n - len)));
                true
            }
            Phase::Body(Body::UntilClose) => true,
            _ => false,
        };
        if skip {
            r.msg_size += len;
            r.body_size += len;
            cx.bump(Counter::gap_resyncs);
            return;
        }
        r.buf.clear();
        r.reset_message();
        r.phase = Phase::Resync;
        cx.bump(Counter::gap_resyncs);
        if dir == 1 {
            // Most likely the response to the oldest request was lost.
            self.responding = None;
            self.interim_bytes = 0;
            if let Some(p) = self.pending.pop_front() {
                if self.pending.is_empty() {
                    self.req_in_queue = false;
                }
                self.emit_unanswered(p, cx);
            }
        }
    }

    /// `side` closed its direction: a close-delimited body ends here.
    pub(crate) fn on_fin(&mut self, side: Side, cx: &mut Cx<'_>) {
        let dir = usize::from(side != self.client);
        if dir == 1 && self.readers[1].phase == Phase::Body(Body::UntilClose) {
            self.finish_response(cx);
        }
    }

    /// Requests older than `before_ts` at the head of the queue, with no
    /// response begun, become entries without a response.
    pub(crate) fn expire(&mut self, before_ts: i64, cx: &mut Cx<'_>) {
        if self.responding.is_some() {
            return;
        }
        while self.pending.front().is_some_and(|p| p.ts < before_ts) {
            if self.pending.len() == 1 && self.req_in_queue {
                break;
            }
            if let Some(p) = self.pending.pop_front() {
                self.emit_unanswered(p, cx);
            }
        }
    }

    /// End of input: everything pending becomes an entry.
    pub(crate) fn finish(&mut self, cx: &mut Cx<'_>) {
        if self.responding.is_some() {
            self.finish_response(cx);
        }
        while let Some(p) = self.pending.pop_front() {
            self.emit_unanswered(p, cx);
        }
    }

    fn emit_unanswered(&self, p: Pending, cx: &mut Cx<'_>) {
        let t = http_txn(
            self.client,
            Protocol::HTTP,
            p.http,
            p.ts,
            None,
            p.size,
            0,
            0,
        );
        cx.emit(t);
    }

    fn process(
        &mut self,
        dir: usize,
        input: &[u8],
        ts: i64,
        cx: &mut Cx<'_>,
    ) -> Result<usize, DissectError> {
        let mut pos = 0;
        while pos < input.len() && self.switch.is_none() {
            let rest = &input[pos..];
            let phase = self.readers[dir].phase;
            match phase {
                Phase::Resync => {
                    let found = (0..rest.len()).find(|&i| {
                        (i == 0 || rest[i - 1] == b'\n') && {
                            let tail = &rest[i..];
                            if dir == 0 {
                                METHODS.iter().any(|m| tail.starts_with(m))
                            } else {
                                tail.starts_with(b"HTTP/1.")
                            }
                        }
                    });
                    match found {
                        Some(i) => {
                            pos += i;
                            self.readers[dir].reset_message();
                        }
                        None => {
                            // Keep a tail that may be the start of a pattern.
                            let keep = rest.len().min(8);
                            pos += rest.len() - keep;
                            return Ok(pos);
                        }
                    }
                }
                Phase::Head => {
                    let r = &mut self.readers[dir];
                    if r.start_ts.is_none() {
                        if rest[0] == b'\r' || rest[0] == b'\n' {
                            pos += 1;
                            continue;
                        }
                        r.start_ts = Some(ts);
                    }
                    let Some(end) = find_head_end(rest, r.scanned.saturating_sub(3)) else {
                        r.scanned = rest.len();
                        return Ok(pos);
                    };
                    r.scanned = 0;
                    let raw = &rest[..end];
                    let first_line = find_byte(raw, b'\n').map_or(end, |i| i + 1);
                    let head_start = pos;
                    pos += end;
                    let parsed = if dir == 0 {
                        self.on_request_head(raw, cx)
                    } else {
                        self.on_response_head(raw, cx)
                    };
                    match parsed {
                        Ok(()) => self.readers[dir].synced = true,
                        // Picked up mid-message: look for the next message.
                        Err(DissectError::Malformed(_)) if !self.readers[dir].synced => {
                            // Skip one line and look for a message start.
                            pos = head_start + first_line;
                            self.readers[dir].reset_message();
                            self.readers[dir].phase = Phase::Resync;
                        }
                        Err(e) => return Err(e),
                    }
                }
                Phase::Body(body) => {
                    let used = self.body_step(dir, body, rest, cx)?;
                    if used == 0 {
                        return Ok(pos);
                    }
                    pos += used;
                }
            }
        }
        Ok(pos)
    }

    /// Consumes body bytes; returns how many (0 = need more input).
    fn body_step(
        &mut self,
        dir: usize,
        body: Body,
        rest: &[u8],
        cx: &mut Cx<'_>,
    ) -> Result<usize, DissectError> {
        let r = &mut self.readers[dir];
        let (used, body_bytes, next) = match body {
            Body::Length(n) => {
                let take = (rest.len() as u64).min(n);
                let left = n - take;
                (
                    take as usize,
                    take,
                    if left == 0 {
                        None
                    } else {
                        Some(Body::Length(left))
                    },
                )
            }
            Body::UntilClose => (rest.len(), rest.len() as u64, Some(Body::UntilClose)),
            Body::Chunked(Chunk::Data(n)) => {
                let take = (rest.len() as u64).min(n);
                let left = n - take;
                let next = if left == 0 {
                    Chunk::DataEnd
                } else {
                    Chunk::Data(left)
                };
                (take as usize, take, Some(Body::Chunked(next)))
            }
            Body::Chunked(c) => {
                let Some(end) = find_line(rest) else {
                    if rest.len() > MAX_LINE {
                        return Err(DissectError::Malformed("http chunk"));
                    }
                    return Ok(0);
                };
                let line = &rest[..end];
                let text =
                    std::str::from_utf8(line).map_err(|_| DissectError::Malformed("http chunk"))?;
                let text = text.trim();
                let next = match c {
                    Chunk::Size => {
                        let hex = text.split(';').next().unwrap_or("").trim();
                        let n = u64::from_str_radix(hex, 16)
                            .map_err(|_| DissectError::Malformed("http chunk"))?;
                        if n == 0 {
                            Some(Body::Chunked(Chunk::Trailer))
                        } else {
                            Some(Body::Chunked(Chunk::Data(n)))
                        }
                    }
                    Chunk::DataEnd => {
                        if !text.is_empty() {
                            return Err(DissectError::Malformed("http chunk"));
                        }
                        Some(Body::Chunked(Chunk::Size))
                    }
                    Chunk::Trailer => {
                        if text.is_empty() {
                            None
                        } else {
                            Some(Body::Chunked(Chunk::Trailer))
                        }
                    }
                    Chunk::Data(_) => None,
                };
                (end, 0, next)
            }
        };
        r.msg_size += used as u64;
        r.body_size += body_bytes;
        match next {
            Some(b) => r.phase = Phase::Body(b),
            None => self.message_done(dir, cx),
        }
        Ok(used)
    }

    fn message_done(&mut self, dir: usize, cx: &mut Cx<'_>) {
        if dir == 0 {
            let r = &self.readers[0];
            if self.req_in_queue {
                if let Some(p) = self.pending.back_mut() {
                    p.size = r.msg_size;
                    p.http.request_body_size = r.body_size;
                }
            }
            self.req_in_queue = false;
            self.readers[0].reset_message();
        } else {
            self.finish_response(cx);
        }
    }

    fn finish_response(&mut self, cx: &mut Cx<'_>) {
        let r = &self.readers[1];
        let (size, body) = (r.msg_size, r.body_size);
        self.readers[1].reset_message();
        let interim = std::mem::take(&mut self.interim_bytes);
        let Some(resp) = self.responding.take() else {
            return;
        };
        let Some(req) = resp.req else {
            return;
        };
        let mut http = req.http;
        http.response_headers = resp.headers;
        http.response_cookies = resp.cookies;
        http.response_headers_size = resp.head_size;
        http.response_body_size = body;
        if resp.switch {
            if req.h2c && resp.status == 101 {
                self.switch = Some(Switch::H2c {
                    http: Box::new(http),
                    request_ts: req.ts,
                    request_size: req.size,
                });
                return;
            }
            self.switch = Some(Switch::Opaque);
        }
        let t = http_txn(
            self.client,
            Protocol::HTTP,
            http,
            req.ts,
            Some(resp.ts),
            req.size,
            size + interim,
            resp.status,
        );
        cx.emit(t);
    }

    fn on_request_head(&mut self, raw: &[u8], cx: &mut Cx<'_>) -> Result<(), DissectError> {
        let head = parse_head(raw, cx.config.max_headers, cx)?;
        let [method, target, version] = head.start;
        if !METHODS
            .iter()
            .any(|m| m.strip_suffix(b" ") == Some(method.as_bytes()))
            || !version.starts_with("HTTP/")
        {
            return Err(DissectError::Malformed("http request line"));
        }
        let config = cx.config;
        let mut http = Http {
            method: method.to_string(),
            http_version: version.to_string(),
            request_headers_size: raw.len() as u64,
            ..Http::default()
        };
        set_target(&mut http, target, config);
        // Framing first: the header names then move into the entry.
        let framing = body_framing(&head)?;
        let mut h2c = false;
        http.request_headers.reserve(head.headers.len());
        for (name, value) in head.headers {
            if name == "cookie" {
                request_cookies(&mut http.request_cookies, value, config);
            }
            if name == "upgrade" && value.eq_ignore_ascii_case("h2c") {
                h2c = true;
            }
            push_header_owned(
                &mut http.request_headers,
                name,
                Cow::Borrowed(value),
                config,
            );
        }
        let r = &mut self.readers[0];
        let ts = r.start_ts.unwrap_or_default();
        r.msg_size = raw.len() as u64;
        if self.pending.len() >= config.max_pending {
            cx.bump(Counter::cap_pending);
            return Err(DissectError::Cap("http pending requests"));
        }
        self.pending.push_back(Pending {
            http,
            ts,
            size: raw.len() as u64,
            head: method == "HEAD",
            connect: method == "CONNECT",
            h2c,
        });
        self.req_in_queue = true;
        match framing {
            Some(Body::Length(0)) | None => self.message_done(0, cx),
            Some(b) => self.readers[0].phase = Phase::Body(b),
        }
        Ok(())
    }

    fn on_response_head(&mut self, raw: &[u8], cx: &mut Cx<'_>) -> Result<(), DissectError> {
        let head = parse_head(raw, cx.config.max_headers, cx)?;
        let [version, code, _reason] = head.start;
        if !version.starts_with("HTTP/") {
            return Err(DissectError::Malformed("http status line"));
        }
        let status: i32 = code
            .parse()
            .map_err(|_| DissectError::Malformed("http status"))?;
        if !(100..1000).contains(&status) {
            return Err(DissectError::Malformed("http status"));
        }
        if (100..200).contains(&status) && status != 101 {
            self.interim_bytes += raw.len() as u64;
            self.readers[1].reset_message();
            return Ok(());
        }
        let config = cx.config;
        let req = self.pending.pop_front();
        if req.is_none() {
            cx.bump(Counter::responses_without_request);
        } else if self.pending.is_empty() && self.req_in_queue {
            // The response overtook its request's body.
            self.req_in_queue = false;
        }
        let is_head = req.as_ref().is_some_and(|r| r.head);
        let connect_ok = req.as_ref().is_some_and(|r| r.connect) && (200..300).contains(&status);
        let switch = status == 101 || connect_ok;
        // Framing first: the header names then move into the entry.
        let framing = if is_head || status == 204 || status == 304 || switch {
            None
        } else {
            Some(body_framing(&head)?.unwrap_or(Body::UntilClose))
        };
        let mut headers = Vec::with_capacity(head.headers.len());
        let mut cookies = Vec::new();
        for (name, value) in head.headers {
            if name == "set-cookie" {
                response_cookie(&mut cookies, value, config);
            }
            push_header_owned(&mut headers, name, Cow::Borrowed(value), config);
        }
        let r = &mut self.readers[1];
        let ts = r.start_ts.unwrap_or_default();
        r.msg_size = raw.len() as u64;
        self.responding = Some(Responding {
            req,
            status,
            ts,
            headers,
            cookies,
            head_size: raw.len() as u64,
            switch,
        });
        match framing {
            Some(Body::Length(0)) | None => self.message_done(1, cx),
            Some(b) => self.readers[1].phase = Phase::Body(b),
        }
        if switch {
            cx.bump(Counter::http_upgrades);
        }
        Ok(())
    }
}
