//! Kafka: request headers v0–v2 (flexible versions with tagged fields),
//! correlation-id pairing, client id, topic names of Produce and Fetch
//! requests, and the error code of common responses.
//!
//! Only the first bytes of a message are buffered for parsing; the rest of a
//! large message (record batches) is counted as it passes.

use std::collections::HashMap;

use wiremap_wire::{Detail, Kafka as KafkaDetail, Protocol};

use crate::counters::Counter;
use crate::error::DissectError;
use crate::txn::{Cx, Side, Txn};

const BAD: DissectError = DissectError::Malformed("kafka");
/// Bytes of one message looked at (headers, topic names).
const PARSE_PREFIX: usize = 64 * 1024;
/// Largest message accepted.
const MAX_MESSAGE: usize = 128 * 1024 * 1024;
/// Topic names kept in a request summary.
const MAX_TOPICS: usize = 16;

/// First flexible (tagged-field) version of each request, by api key;
/// `i16::MAX` where there is none.
#[rustfmt::skip]
const FLEXIBLE_FROM: [i16; 75] = [
    9, 12, 6, 9, 4, 2, 6, 3, 8, 6, 3, 6, 4, 4, 4, 5, 3, i16::MAX, 3, 5, 4, 2, 2, 4, 3, 3, 3, 1,
    3, 2, 2, 2, 4, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 1, 0, 0, i16::MAX, 1, 1, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
];

fn flexible(key: i16, version: i16) -> bool {
    usize::try_from(key)
        .ok()
        .and_then(|k| FLEXIBLE_FROM.get(k))
        .is_some_and(|&from| version >= from)
}

/// A cursor over Kafka's primitive types.
struct Reader<'a> {
    b: &'a [u8],
    pos: usize,
    flex: bool,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], DissectError> {
        let s = self
            .b
            .get(self.pos..self.pos.checked_add(n).ok_or(BAD)?)
            .ok_or(BAD)?;
        self.pos += n;
        Ok(s)
    }
    fn i8(&mut self) -> Result<i8, DissectError> {
        Ok(self.take(1)?[0] as i8)
    }
    fn i16(&mut self) -> Result<i16, DissectError> {
        let s = self.take(2)?;
        Ok(i16::from_be_bytes([s[0], s[1]]))
    }
    fn i32(&mut self) -> Result<i32, DissectError> {
        let s = self.take(4)?;
        Ok(i32::from_be_bytes([s[0], s[1], s[2], s[3]]))
    }
    fn i64(&mut self) -> Result<(), DissectError> {
        self.take(8).map(|_| ())
    }
    fn uvarint(&mut self) -> Result<u64, DissectError> {
        let mut v = 0u64;
        for shift in (0..35).step_by(7) {
            let b = self.take(1)?[0];
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(BAD)
    }
    /// A nullable string, compact when flexible.
    fn string(&mut self) -> Result<Option<String>, DissectError> {
        let len = if self.flex {
            (self.uvarint()? as i64) - 1
        } else {
            i64::from(self.i16()?)
        };
        if len < 0 {
            return Ok(None);
        }
        let s = self.take(usize::try_from(len).map_err(|_| BAD)?)?;
        Ok(Some(String::from_utf8_lossy(s).into_owned()))
    }
    /// A string that is never compact (client id in request header v1/v2).
    fn legacy_string(&mut self) -> Result<Option<String>, DissectError> {
        let flex = std::mem::replace(&mut self.flex, false);
        let s = self.string();
        self.flex = flex;
        s
    }
    fn array_len(&mut self) -> Result<usize, DissectError> {
        let n = if self.flex {
            (self.uvarint()? as i64) - 1
        } else {
            i64::from(self.i32()?)
        };
        Ok(usize::try_from(n).unwrap_or(0))
    }
    fn skip_bytes(&mut self) -> Result<(), DissectError> {
        let n = if self.flex {
            (self.uvarint()? as i64) - 1
        } else {
            i64::from(self.i32()?)
        };
        if n > 0 {
            self.take(usize::try_from(n).map_err(|_| BAD)?)?;
        }
        Ok(())
    }
    fn tagged_fields(&mut self) -> Result<(), DissectError> {
        if !self.flex {
            return Ok(());
        }
        let n = self.uvarint()?;
        for _ in 0..n {
            self.uvarint()?;
            let size = self.uvarint()?;
            self.take(usize::try_from(size).map_err(|_| BAD)?)?;
        }
        Ok(())
    }
    fn uuid(&mut self) -> Result<String, DissectError> {
        let s = self.take(16)?;
        Ok(s.iter().map(|b| format!("{b:02x}")).collect())
    }
    fn topic(&mut self, by_id: bool) -> Result<String, DissectError> {
        if by_id {
            self.uuid()
        } else {
            Ok(self.string()?.unwrap_or_default())
        }
    }
}

fn add_topic(topics: &mut Vec<String>, t: String) {
    if !t.is_empty() && topics.len() < MAX_TOPICS && !topics.contains(&t) {
        topics.push(t);
    }
}

/// Topics named by a Produce request body (as far as the bytes go).
fn produce_topics(
    r: &mut Reader<'_>,
    version: i16,
    topics: &mut Vec<String>,
) -> Result<(), DissectError> {
    if version >= 3 {
        r.string()?;
    }
    r.i16()?;
    r.i32()?;
    let n = r.array_len()?;
    for _ in 0..n {
        add_topic(topics, r.topic(version >= 13)?);
        let parts = r.array_len()?;
        for _ in 0..parts {
            r.i32()?;
            r.skip_bytes()?;
            r.tagged_fields()?;
        }
        r.tagged_fields()?;
    }
    Ok(())
}

/// Topics named by a Fetch request body.
fn fetch_topics(
    r: &mut Reader<'_>,
    version: i16,
    topics: &mut Vec<String>,
) -> Result<(), DissectError> {
    if version <= 14 {
        r.i32()?;
    }
    r.i32()?;
    r.i32()?;
    if version >= 3 {
        r.i32()?;
    }
    if version >= 4 {
        r.i8()?;
    }
    if version >= 7 {
        r.i32()?;
        r.i32()?;
    }
    let n = r.array_len()?;
    for _ in 0..n {
        add_topic(topics, r.topic(version >= 13)?);
        let parts = r.array_len()?;
        for _ in 0..parts {
            r.i32()?;
            if version >= 9 {
                r.i32()?;
            }
            r.i64()?;
            if version >= 12 {
                r.i32()?;
            }
            if version >= 5 {
                r.i64()?;
            }
            r.i32()?;
            r.tagged_fields()?;
        }
        r.tagged_fields()?;
    }
    Ok(())
}

/// The first error code of a response body, for the APIs that have one at
/// a known place; 0 otherwise.
fn response_error(r: &mut Reader<'_>, key: i16, version: i16) -> Result<i16, DissectError> {
    match key {
        // Produce: responses[topic, partitions[index, error_code …]].
        0 => {
            if r.array_len()? > 0 {
                r.topic(version >= 13)?;
                if r.array_len()? > 0 {
                    r.i32()?;
                    return r.i16();
                }
            }
            Ok(0)
        }
        // Fetch: throttle, error_code (v7+), session, responses[…].
        1 => {
            if version >= 1 {
                r.i32()?;
            }
            if version >= 7 {
                let e = r.i16()?;
                if e != 0 {
                    return Ok(e);
                }
                r.i32()?;
            }
            if r.array_len()? > 0 {
                r.topic(version >= 13)?;
                if r.array_len()? > 0 {
                    r.i32()?;
                    return r.i16();
                }
            }
            Ok(0)
        }
        // Error code first.
        17 | 18 | 36 => r.i16(),
        10 if version == 0 => r.i16(),
        10 if version <= 3 => {
            r.i32()?;
            r.i16()
        }
        // Throttle time, then error code.
        11 if version >= 2 => {
            r.i32()?;
            r.i16()
        }
        12..=14 if version >= 1 => {
            r.i32()?;
            r.i16()
        }
        22 => {
            r.i32()?;
            r.i16()
        }
        _ => Ok(0),
    }
}

#[derive(Debug)]
struct Pending {
    ts: i64,
    size: u64,
    detail: KafkaDetail,
}

#[derive(Debug, Default)]
struct Direction {
    buf: Vec<u8>,
    /// Bytes of the current message still to pass unparsed.
    skip: u64,
    start: Option<i64>,
}

/// One Kafka connection.
#[derive(Debug)]
pub(crate) struct Kafka {
    client: Side,
    dirs: [Direction; 2],
    pending: HashMap<i32, Pending>,
    /// The response being skipped, finished when its bytes have passed.
    responding: Option<(Pending, i64, u64)>,
}

impl Kafka {
    pub(crate) fn new(client: Side) -> Self {
        Self {
            client,
            dirs: Default::default(),
            pending: HashMap::new(),
            responding: None,
        }
    }

    pub(crate) fn on_data(
        &mut self,
        side: Side,
        ts: i64,
        data: &[u8],
        cx: &mut Cx<'_>,
    ) -> Result<(), DissectError> {
        let d = usize::from(side != self.client);
        let mut data = data;
        loop {
            let dir = &mut self.dirs[d];
            if dir.skip > 0 {
                let take = (data.len() as u64).min(dir.skip);
                dir.skip -= take;
                data = &data[take as usize..];
                if dir.skip == 0 {
                    dir.start = None;
                    if d == 1 {
                        if let Some((p, rts, size)) = self.responding.take() {
                            cx.emit(self.txn(p, Some((rts, size))));
                        }
                    }
                }
                continue;
            }
            if data.is_empty() && dir.buf.len() < 4 {
                return Ok(());
            }
            if dir.start.is_none() {
                dir.start = Some(ts);
            }
            // Nothing held and the whole size and parse prefix at hand:
            // parse it where it is.
            if dir.buf.is_empty() && data.len() >= 4 {
                let size = i32::from_be_bytes([data[0], data[1], data[2], data[3]]);
                let size = usize::try_from(size).map_err(|_| BAD)?;
                if !(4..=MAX_MESSAGE).contains(&size) {
                    return Err(BAD);
                }
                let need = 4 + size.min(PARSE_PREFIX);
                if data.len() >= need {
                    let (msg, after) = data.split_at(need);
                    data = after;
                    self.on_message(d, ts, msg, cx)?;
                    continue;
                }
            }
            // Top up the buffer to what is needed: the size, then the
            // message or its parse prefix.
            let need = if dir.buf.len() < 4 {
                4
            } else {
                let size = i32::from_be_bytes([dir.buf[0], dir.buf[1], dir.buf[2], dir.buf[3]]);
                let size = usize::try_from(size).map_err(|_| BAD)?;
                if !(4..=MAX_MESSAGE).contains(&size) {
                    return Err(BAD);
                }
                4 + size.min(PARSE_PREFIX)
            };
            if dir.buf.len() < need {
                let take = (need - dir.buf.len()).min(data.len());
                dir.buf.extend_from_slice(&data[..take]);
                data = &data[take..];
                if dir.buf.len() < need {
                    return Ok(());
                }
                if need == 4 {
                    continue;
                }
            }
            let mut msg = std::mem::take(&mut dir.buf);
            self.on_message(d, ts, &msg, cx)?;
            // The buffer's allocation serves the next message.
            msg.clear();
            self.dirs[d].buf = msg;
        }
    }

    /// One message's size and body (or its parse prefix), `msg.len()`
    /// bytes of it at hand; what is left of it is skipped.
    fn on_message(
        &mut self,
        d: usize,
        ts: i64,
        msg: &[u8],
        cx: &mut Cx<'_>,
    ) -> Result<(), DissectError> {
        let dir = &mut self.dirs[d];
        let size = u64::from(u32::from_be_bytes([msg[0], msg[1], msg[2], msg[3]])) + 4;
        let start = dir.start.unwrap_or(ts);
        let rest = size - msg.len() as u64;
        dir.skip = rest;
        if rest == 0 {
            dir.start = None;
        }
        if d == 0 {
            self.on_request(start, size, &msg[4..], cx)
        } else {
            self.on_response(start, size, &msg[4..], rest == 0, cx)
        }
    }

    fn on_request(
        &mut self,
        ts: i64,
        size: u64,
        body: &[u8],
        cx: &mut Cx<'_>,
    ) -> Result<(), DissectError> {
        let mut r = Reader {
            b: body,
            pos: 0,
            flex: false,
        };
        let api_key = r.i16()?;
        let api_version = r.i16()?;
        let correlation_id = r.i32()?;
        let client_id = if api_key == 7 && api_version == 0 {
            String::new()
        } else {
            r.legacy_string()?.unwrap_or_default()
        };
        r.flex = flexible(api_key, api_version);
        let mut topics = Vec::new();
        if r.tagged_fields().is_ok() {
            // A truncated body still names the topics read so far.
            let _ = match api_key {
                0 => produce_topics(&mut r, api_version, &mut topics),
                1 => fetch_topics(&mut r, api_version, &mut topics),
                _ => Ok(()),
            };
        }
        if self.pending.len() >= cx.config.max_pending {
            cx.bump(Counter::cap_pending);
            return Err(DissectError::Cap("kafka pending"));
        }
        let detail = KafkaDetail {
            api_key,
            api_version,
            correlation_id,
            client_id,
            request_summary: topics.join(","),
            error_code: 0,
            request: true,
            response: false,
        };
        if let Some(old) = self
            .pending
            .insert(correlation_id, Pending { ts, size, detail })
        {
            cx.emit(self.txn(old, None));
        }
        Ok(())
    }

    fn on_response(
        &mut self,
        ts: i64,
        size: u64,
        body: &[u8],
        complete: bool,
        cx: &mut Cx<'_>,
    ) -> Result<(), DissectError> {
        let mut r = Reader {
            b: body,
            pos: 0,
            flex: false,
        };
        let correlation_id = r.i32()?;
        let Some(mut p) = self.pending.remove(&correlation_id) else {
            cx.bump(Counter::responses_without_request);
            return Ok(());
        };
        let (key, version) = (p.detail.api_key, p.detail.api_version);
        r.flex = flexible(key, version);
        // ApiVersions responses keep header v0 so old clients can read them.
        if key != 18 {
            let _ = r.tagged_fields();
        }
        p.detail.error_code = response_error(&mut r, key, version).unwrap_or(0);
        if complete {
            cx.emit(self.txn(p, Some((ts, size))));
        } else {
            self.responding = Some((p, ts, size));
        }
        Ok(())
    }

    fn txn(&self, p: Pending, response: Option<(i64, u64)>) -> Txn {
        let mut detail = p.detail;
        detail.response = response.is_some();
        let error = detail.error_code != 0;
        Txn {
            client: self.client,
            protocol: Protocol::KAFKA,
            request_ts: p.ts,
            response_ts: response.map(|r| r.0),
            request_size: p.size,
            response_size: response.map_or(0, |r| r.1),
            status_code: 0,
            error,
            detail: Detail::Kafka(Box::new(detail)),
        }
    }

    pub(crate) fn on_gap(&mut self, side: Side, len: u64, cx: &mut Cx<'_>) -> bool {
        let d = usize::from(side != self.client);
        // Inside a message body being skipped the framing survives.
        if self.dirs[d].skip >= len {
            self.dirs[d].skip -= len;
            cx.bump(Counter::gap_resyncs);
            return true;
        }
        self.finish(cx);
        false
    }

    pub(crate) fn expire(&mut self, before_ts: i64, cx: &mut Cx<'_>) {
        let mut old: Vec<(i64, i32)> = self
            .pending
            .iter()
            .filter(|(_, p)| p.ts < before_ts)
            .map(|(c, p)| (p.ts, *c))
            .collect();
        old.sort_unstable();
        for (_, c) in old {
            if let Some(p) = self.pending.remove(&c) {
                cx.emit(self.txn(p, None));
            }
        }
    }

    pub(crate) fn finish(&mut self, cx: &mut Cx<'_>) {
        if let Some((p, ts, size)) = self.responding.take() {
            cx.emit(self.txn(p, Some((ts, size))));
        }
        self.expire(i64::MAX, cx);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flexible_versions_follow_the_table() {
        assert!(!flexible(0, 8));
        assert!(flexible(0, 9));
        assert!(flexible(1, 12));
        assert!(!flexible(18, 2));
        assert!(flexible(18, 3));
        assert!(!flexible(17, 1));
        assert!(!flexible(-1, 3));
        assert!(!flexible(1000, 3));
    }
}
