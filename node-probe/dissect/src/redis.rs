//! Redis RESP2 and RESP3: commands (arrays of bulk strings, or inline
//! lines) paired FIFO with replies; push messages and attributes skipped.

use std::borrow::Cow;
use std::collections::VecDeque;

use wiremap_wire::{Detail, Protocol, Redis as RedisDetail};

use crate::counters::Counter;
use crate::error::DissectError;
use crate::http_fields::bounded;
use crate::scan::find_byte;
use crate::txn::{Cx, Side, Txn};

/// Nesting of aggregates accepted.
const MAX_DEPTH: usize = 32;
/// Bytes of the key kept.
const MAX_KEY: usize = 64;
/// Arguments of a command looked at.
const MAX_ARGS: usize = 32;

const BAD: DissectError = DissectError::Malformed("redis");

/// Index of the first `\r\n` in `buf`.
fn line(buf: &[u8]) -> Option<usize> {
    let mut from = 0;
    while let Some(i) = find_byte(&buf[from..], b'\r') {
        let at = from + i;
        if buf.get(at + 1) == Some(&b'\n') {
            return Some(at);
        }
        from = at + 1;
    }
    None
}

/// A decimal integer as `str::parse::<i64>` reads it (an optional sign,
/// then at least one digit, nothing else, no overflow).
fn number(bytes: &[u8]) -> Result<i64, DissectError> {
    let (neg, digits) = match bytes.first() {
        Some(b'-') => (true, &bytes[1..]),
        Some(b'+') => (false, &bytes[1..]),
        _ => (false, bytes),
    };
    if digits.is_empty() {
        return Err(BAD);
    }
    let mut v: i64 = 0;
    for &c in digits {
        if !c.is_ascii_digit() {
            return Err(BAD);
        }
        let d = i64::from(c - b'0');
        v = v.checked_mul(10).ok_or(BAD)?;
        v = if neg {
            v.checked_sub(d)
        } else {
            v.checked_add(d)
        }
        .ok_or(BAD)?;
    }
    Ok(v)
}

/// `String::from_utf8_lossy`, checking valid input with `from_utf8` (its
/// fast path for ASCII) first.
fn lossy(b: &[u8]) -> Cow<'_, str> {
    match std::str::from_utf8(b) {
        Ok(s) => Cow::Borrowed(s),
        Err(_) => String::from_utf8_lossy(b),
    }
}

/// The text of parts of one message, as [`lossy`] gives it: when the whole
/// message is valid UTF-8 (checked once), a part of it is a slice of that
/// text wherever it starts and ends on character boundaries (arguments are
/// framed by ASCII, so they do); anything else goes through [`lossy`].
struct Text<'a> {
    msg: &'a [u8],
    text: Option<&'a str>,
}

impl<'a> Text<'a> {
    fn of(&self, part: &'a [u8]) -> Cow<'a, str> {
        if let Some(text) = self.text {
            // Where `part` lies in the message; a part from elsewhere has
            // no such place and is read on its own.
            let at = (part.as_ptr() as usize).wrapping_sub(self.msg.as_ptr() as usize);
            if let Some(s) = at.checked_add(part.len()).and_then(|end| text.get(at..end)) {
                return Cow::Borrowed(s);
            }
        }
        lossy(part)
    }
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

/// Up to [`MAX_ARGS`] arguments of a command, without allocating.
struct Args<'a> {
    items: [&'a [u8]; MAX_ARGS],
    len: usize,
}

impl<'a> Args<'a> {
    fn len(&self) -> usize {
        self.len
    }

    fn push(&mut self, a: &'a [u8]) {
        if self.len < MAX_ARGS {
            self.items[self.len] = a;
            self.len += 1;
        }
    }

    fn extend(&mut self, it: impl Iterator<Item = &'a [u8]>) {
        for a in it {
            self.push(a);
        }
    }

    fn first(&self) -> Option<&&'a [u8]> {
        self.as_slice().first()
    }

    fn get(&self, i: usize) -> Option<&&'a [u8]> {
        self.as_slice().get(i)
    }

    fn as_slice(&self) -> &[&'a [u8]] {
        &self.items[..self.len]
    }
}

/// A command array of bulk strings complete at the start of `buf`: its
/// length and its arguments in one pass, the same as [`value_len`] and then
/// [`command_args`] give. `None` for anything else (other element types,
/// null arrays or strings, more than [`MAX_ARGS`] elements, malformed or
/// incomplete input), which takes that general path.
fn bulk_command(buf: &[u8]) -> Option<(usize, Args<'_>)> {
    if buf.first() != Some(&b'*') {
        return None;
    }
    let eol = line(buf)?;
    let n = usize::try_from(number(&buf[1..eol]).ok()?).ok()?;
    if n > MAX_ARGS {
        return None;
    }
    let mut args = Args {
        items: [&[]; MAX_ARGS],
        len: 0,
    };
    let mut pos = eol + 2;
    for _ in 0..n {
        let rest = buf.get(pos..)?;
        if rest.first() != Some(&b'$') {
            return None;
        }
        let eol = line(rest)?;
        let len = usize::try_from(number(&rest[1..eol]).ok()?).ok()?;
        let start = eol + 2;
        let end = start.checked_add(len)?;
        if rest.len() < end.checked_add(2)? {
            return None;
        }
        args.push(&rest[start..end]);
        pos += end + 2;
    }
    Some((pos, args))
}

/// Fuzzing: [`bulk_command`] must give what the general path gives.
#[cfg(feature = "fuzzing")]
pub(crate) fn check_bulk_command(buf: &[u8]) {
    if let Some((len, args)) = bulk_command(buf) {
        assert_eq!(value_len(buf, 0), Ok(Some(len)));
        assert_eq!(args.as_slice(), command_args(&buf[..len]).as_slice());
    }
}

/// Arguments of a command message (array of bulk strings or inline line).
fn command_args(msg: &[u8]) -> Args<'_> {
    let mut args = Args {
        items: [&[]; MAX_ARGS],
        len: 0,
    };
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
        // Nothing held: parse `data` where it is and keep only what is left
        // of it; otherwise parse the held bytes followed by `data`.
        let held = !buf.is_empty();
        if held {
            buf.extend_from_slice(data);
        } else {
            self.starts[s] = Some(ts);
        }
        let src: &[u8] = if held { &buf } else { data };
        let mut pos = 0;
        while pos < src.len() {
            let rest = &src[pos..];
            if rest[0] == b'\r' || rest[0] == b'\n' {
                pos += 1;
                continue;
            }
            let mut args = None;
            let len = if side == self.client && !b"*".contains(&rest[0]) {
                // Inline command: one line.
                match find_byte(rest, b'\n') {
                    Some(i) => Some(i + 1),
                    None if rest.len() > 64 * 1024 => return Err(BAD),
                    None => None,
                }
            } else if side == self.client {
                match bulk_command(rest) {
                    Some((len, a)) => {
                        args = Some(a);
                        Some(len)
                    }
                    None => value_len(rest, 0)?,
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
                let args = args.unwrap_or_else(|| command_args(msg));
                self.on_command(start, msg, &args, cx)?;
            } else {
                self.on_reply(start, msg, cx);
            }
        }
        if held {
            buf.drain(..pos);
        } else if pos < data.len() {
            buf.extend_from_slice(&data[pos..]);
        }
        if buf.len() > cx.config.max_buffer {
            cx.bump(Counter::cap_buffer);
            return Err(DissectError::Cap("redis buffer"));
        }
        self.bufs[s] = buf;
        Ok(())
    }

    fn on_command(
        &mut self,
        ts: i64,
        msg: &[u8],
        args: &Args<'_>,
        cx: &mut Cx<'_>,
    ) -> Result<(), DissectError> {
        let Some(verb) = args.first() else {
            return Err(BAD);
        };
        let max = cx.config.max_redis_command;
        let text = Text {
            msg,
            text: std::str::from_utf8(msg).ok(),
        };
        // The arguments and their separators fit in the message (barring
        // replaced invalid UTF-8), and only about `max` bytes are kept.
        let mut command = String::with_capacity(msg.len().min(max.saturating_add(64)));
        for a in args.as_slice() {
            if command.len() >= max {
                break;
            }
            if !command.is_empty() {
                command.push(' ');
            }
            command.push_str(&text.of(a));
        }
        // What `bounded(&command, max)` returns, without a copy.
        if command.len() > max {
            let mut end = max;
            while !command.is_char_boundary(end) {
                end -= 1;
            }
            command.truncate(end);
        }
        let detail = RedisDetail {
            command_type: text.of(verb).to_ascii_uppercase(),
            command,
            key: args
                .get(1)
                .map(|k| bounded(&text.of(&k[..k.len().min(MAX_KEY)]), MAX_KEY))
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
    fn bulk_commands_read_as_the_general_path_reads_them() {
        let mut seed = 0x0bad_cafe_f00d_d00du64;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let pieces: [&[u8]; 14] = [
            b"*", b"$", b"\r\n", b"0", b"1", b"2", b"3", b"-1", b"33", b"ab", b"SET", b"+", b":",
            b"\r",
        ];
        let mut hits = 0;
        for _ in 0..200_000 {
            let mut buf = b"*".to_vec();
            for _ in 0..next() % 14 {
                buf.extend_from_slice(pieces[(next() % pieces.len() as u64) as usize]);
            }
            if let Some((len, args)) = bulk_command(&buf) {
                hits += 1;
                assert_eq!(value_len(&buf, 0), Ok(Some(len)), "{buf:?}");
                assert_eq!(
                    args.as_slice(),
                    command_args(&buf[..len]).as_slice(),
                    "{buf:?}"
                );
            }
        }
        let big: Vec<u8> = [b"*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n".as_slice()].concat();
        let (len, args) = bulk_command(&big).unwrap();
        assert_eq!(len, big.len());
        assert_eq!(args.as_slice(), [b"SET".as_slice(), b"key", b"value"]);
        assert!(hits > 100, "{hits}");
    }

    #[test]
    fn parts_read_as_lossy_reads_them() {
        let msgs: [&[u8]; 4] = [
            b"*2\r\n$3\r\nGET\r\n$4\r\nk\xc3\xa9y\r\n",
            b"*2\r\n$3\r\nGET\r\n$4\r\nk\xff\xa9y\r\n",
            "SET clé ✓".as_bytes(),
            b"",
        ];
        for msg in msgs {
            let text = Text {
                msg,
                text: std::str::from_utf8(msg).ok(),
            };
            for start in 0..=msg.len() {
                for end in start..=msg.len() {
                    let part = &msg[start..end];
                    assert_eq!(text.of(part), lossy(part), "{msg:?} {start}..{end}");
                }
            }
            let elsewhere = b"k\xc3\xa9y".to_vec();
            assert_eq!(text.of(&elsewhere), lossy(&elsewhere));
        }
    }

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
    fn numbers_and_lines_are_read_as_the_std_parsers_read_them() {
        for t in [
            "",
            "0",
            "7",
            "-",
            "+",
            "-0",
            "+12",
            "--1",
            "1-",
            " 1",
            "1 ",
            "12a",
            "٣",
            "9223372036854775807",
            "9223372036854775808",
            "-9223372036854775808",
            "-9223372036854775809",
            "00012",
            "99999999999999999999",
        ] {
            let want = t.parse::<i64>().ok();
            assert_eq!(number(t.as_bytes()).ok(), want, "for {t:?}");
        }
        for t in [
            &b""[..],
            b"\r",
            b"\n",
            b"\r\n",
            b"a\rb\r\n",
            b"\r\r\n",
            b"ab",
            b"a\n\r",
        ] {
            let want = t.windows(2).position(|w| w == b"\r\n");
            assert_eq!(line(t), want, "for {t:?}");
        }
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let deep = b"*1\r\n".repeat(100);
        assert!(value_len(&deep, 0).is_err());
    }
}
