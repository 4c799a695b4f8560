//! Redis RESP2 and RESP3: commands (arrays of bulk strings, or inline
//! lines) paired FIFO with replies; push messages and attributes skipped.

use std::collections::VecDeque;

use wiremap_wire::{Detail, Protocol, Redis as RedisDetail};

use crate::counters::Counter;
use crate::error::DissectError;
use crate::http_fields::bounded;
use crate::txn::{Cx, Side, Txn};

/// Nesting of aggregates accepted.
const MAX_DEPTH: usize = 32;
/// Bytes of the key kept.
const MAX_KEY: usize = 64;
/// Arguments of a command looked at.
const MAX_ARGS: usize = 32;

const BAD: DissectError = DissectError::Malformed("redis");

fn line(buf: &[u8]) -> Option<usize> {
    buf.windows(2).position(|w| w == b"\r\n")
}

fn number(bytes: &[u8]) -> Result<i64, DissectError> {
    std::str::from_utf8(bytes)
        .ok()
        .and_then(|s| s.parse::<i64>().ok())
        .ok_or(BAD)
}

/// Length of the RESP value at the start of `buf`: Ok(None) when incomplete.
fn value_len(buf: &[u8], depth: usize) -> Result<Option<usize>, DissectError> {
    if depth > MAX_DEPTH {
        return Err(BAD);
    }
    let Some(&kind) = buf.first() else {
        return Ok(None);
    };
    let Some(eol) = line(buf) else {
        if buf.len() > 64 * 1024 {
            return Err(BAD);
        }
        return Ok(None);
    };
    let head = eol + 2;
    match kind {
        b'+' | b'-' | b':' | b'_' | b',' | b'#' | b'(' => Ok(Some(head)),
        b'$' | b'!' | b'=' => {
            let n = number(&buf[1..eol])?;
            if n < 0 {
                return Ok(Some(head));
            }
            let total = head + usize::try_from(n).map_err(|_| BAD)? + 2;
            Ok((buf.len() >= total).then_some(total))
        }
        b'*' | b'~' | b'>' | b'%' | b'|' => {
            let n = number(&buf[1..eol])?;
            if n < 0 {
                return Ok(Some(head));
            }
            let items = if matches!(kind, b'%' | b'|') {
                n.saturating_mul(2)
            } else {
                n
            };
            let mut pos = head;
            for _ in 0..items {
                if pos >= buf.len() {
                    return Ok(None);
                }
                match value_len(&buf[pos..], depth + 1)? {
                    Some(l) => pos += l,
                    None => return Ok(None),
                }
            }
            if kind == b'|' {
                // An attribute precedes the value it describes.
                return Ok(value_len(&buf[pos..], depth + 1)?.map(|l| pos + l));
            }
            Ok(Some(pos))
        }
        _ => Err(BAD),
    }
}

/// Arguments of a command message (array of bulk strings or inline line).
fn command_args(msg: &[u8]) -> Vec<&[u8]> {
    let mut args = Vec::new();
    if msg.first() == Some(&b'*') {
        let Some(eol) = line(msg) else { return args };
        let mut pos = eol + 2;
        while pos < msg.len() && args.len() < MAX_ARGS {
            let rest = &msg[pos..];
            let Some(eol) = line(rest) else { break };
            if rest[0] != b'$' {
                break;
            }
            let Ok(n) = number(&rest[1..eol]) else { break };
            let start = eol + 2;
            let Some(end) = usize::try_from(n)
                .ok()
                .map(|n| start + n)
                .filter(|&e| e <= rest.len())
            else {
                break;
            };
            args.push(&rest[start..end]);
            pos += end + 2;
        }
    } else {
        args.extend(
            msg.split(|b| b.is_ascii_whitespace())
                .filter(|a| !a.is_empty())
                .take(MAX_ARGS),
        );
    }
    args
}

#[derive(Debug)]
struct Pending {
    ts: i64,
    size: u64,
    detail: RedisDetail,
}

/// One Redis connection.
#[derive(Debug)]
pub(crate) struct Redis {
    client: Side,
    bufs: [Vec<u8>; 2],
    starts: [Option<i64>; 2],
    pending: VecDeque<Pending>,
}

impl Redis {
    pub(crate) fn new(client: Side) -> Self {
        Self {
            client,
            bufs: Default::default(),
            starts: [None; 2],
            pending: VecDeque::new(),
        }
    }

    pub(crate) fn on_data(
        &mut self,
        side: Side,
        ts: i64,
        data: &[u8],
        cx: &mut Cx<'_>,
    ) -> Result<(), DissectError> {
        let s = usize::from(side);
        let mut buf = std::mem::take(&mut self.bufs[s]);
        if buf.is_empty() {
            self.starts[s] = Some(ts);
        }
        buf.extend_from_slice(data);
        let mut pos = 0;
        while pos < buf.len() {
            let rest = &buf[pos..];
            if rest[0] == b'\r' || rest[0] == b'\n' {
                pos += 1;
                continue;
            }
            let len = if side == self.client && !b"*".contains(&rest[0]) {
                // Inline command: one line.
                match rest.iter().position(|&b| b == b'\n') {
                    Some(i) => Some(i + 1),
                    None if rest.len() > 64 * 1024 => return Err(BAD),
                    None => None,
                }
            } else {
                value_len(rest, 0)?
            };
            let Some(len) = len else { break };
            let msg = &rest[..len];
            let start = self.starts[s].unwrap_or(ts);
            pos += len;
            self.starts[s] = Some(ts);
            if side == self.client {
                self.on_command(start, msg, cx)?;
            } else {
                self.on_reply(start, msg, cx);
            }
        }
        buf.drain(..pos);
        if buf.len() > cx.config.max_buffer {
            cx.bump(Counter::cap_buffer);
            return Err(DissectError::Cap("redis buffer"));
        }
        self.bufs[s] = buf;
        Ok(())
    }

    fn on_command(&mut self, ts: i64, msg: &[u8], cx: &mut Cx<'_>) -> Result<(), DissectError> {
        let args = command_args(msg);
        let Some(verb) = args.first() else {
            return Err(BAD);
        };
        let max = cx.config.max_redis_command;
        let mut command = String::new();
        for a in &args {
            if command.len() >= max {
                break;
            }
            if !command.is_empty() {
                command.push(' ');
            }
            command.push_str(&String::from_utf8_lossy(a));
        }
        let detail = RedisDetail {
            command_type: String::from_utf8_lossy(verb).to_ascii_uppercase(),
            command: bounded(&command, max),
            key: args
                .get(1)
                .map(|k| {
                    bounded(
                        &String::from_utf8_lossy(&k[..k.len().min(MAX_KEY)]),
                        MAX_KEY,
                    )
                })
                .unwrap_or_default(),
            error_reply: false,
        };
        if self.pending.len() >= cx.config.max_pending {
            cx.bump(Counter::cap_pending);
            return Err(DissectError::Cap("redis pending"));
        }
        self.pending.push_back(Pending {
            ts,
            size: msg.len() as u64,
            detail,
        });
        Ok(())
    }

    fn on_reply(&mut self, ts: i64, msg: &[u8], cx: &mut Cx<'_>) {
        if msg[0] == b'>' {
            cx.bump(Counter::redis_push_messages);
            return;
        }
        let Some(p) = self.pending.pop_front() else {
            cx.bump(Counter::responses_without_request);
            return;
        };
        let error = matches!(msg[0], b'-' | b'!');
        cx.emit(self.txn(p, Some((ts, msg.len() as u64, error))));
    }

    fn txn(&self, p: Pending, reply: Option<(i64, u64, bool)>) -> Txn {
        let mut detail = p.detail;
        let (response_ts, response_size, error) = match reply {
            Some((ts, size, error)) => (Some(ts), size, error),
            None => (None, 0, false),
        };
        detail.error_reply = error;
        Txn {
            client: self.client,
            protocol: Protocol::REDIS,
            request_ts: p.ts,
            response_ts,
            request_size: p.size,
            response_size,
            status_code: 0,
            error,
            detail: Detail::Redis(Box::new(detail)),
        }
    }

    pub(crate) fn on_gap(&mut self, side: Side, _len: u64, cx: &mut Cx<'_>) -> bool {
        // Message boundaries are lost; replies can no longer be paired.
        self.bufs[usize::from(side)].clear();
        self.finish(cx);
        false
    }

    pub(crate) fn expire(&mut self, before_ts: i64, cx: &mut Cx<'_>) {
        while self.pending.front().is_some_and(|p| p.ts < before_ts) {
            if let Some(p) = self.pending.pop_front() {
                cx.emit(self.txn(p, None));
            }
        }
    }

    pub(crate) fn finish(&mut self, cx: &mut Cx<'_>) {
        self.expire(i64::MAX, cx);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn measures_resp3_values() {
        assert_eq!(value_len(b"+OK\r\n", 0), Ok(Some(5)));
        assert_eq!(value_len(b"$3\r\nfoo\r\n", 0), Ok(Some(9)));
        assert_eq!(value_len(b"$3\r\nfo", 0), Ok(None));
        assert_eq!(value_len(b"%1\r\n+a\r\n:1\r\n", 0), Ok(Some(12)));
        assert_eq!(value_len(b"|1\r\n+a\r\n:1\r\n+OK\r\n", 0), Ok(Some(17)));
        assert_eq!(value_len(b"*-1\r\n", 0), Ok(Some(5)));
        assert!(value_len(b"?x\r\n", 0).is_err());
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let deep = b"*1\r\n".repeat(100);
        assert!(value_len(&deep, 0).is_err());
    }
}
