//! DNS message decoding (RFC 1035): header, questions, answers; names with
//! compression pointers, bounded in length and jumps.

use std::net::Ipv6Addr;

use crate::error::DissectError;

/// Questions and answers kept per message.
const MAX_RECORDS: usize = 32;
/// Label jumps followed while reading one name.
const MAX_JUMPS: usize = 32;
/// Longest name (RFC 1035: 255 octets).
const MAX_NAME: usize = 255;

const BAD: DissectError = DissectError::Malformed("dns");

/// The fields of one DNS message that entries carry.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Message {
    pub id: u16,
    pub response: bool,
    pub opcode: u8,
    pub rcode: u8,
    pub truncated: bool,
    pub questions: Vec<String>,
    pub question_types: Vec<String>,
    pub answers: Vec<String>,
}

/// The KFL2 name of a record type; unknown types as their number.
pub(crate) fn type_name(t: u16) -> String {
    let s = match t {
        1 => "A",
        2 => "NS",
        5 => "CNAME",
        6 => "SOA",
        12 => "PTR",
        15 => "MX",
        16 => "TXT",
        28 => "AAAA",
        33 => "SRV",
        41 => "OPT",
        65 => "HTTPS",
        255 => "ANY",
        _ => return t.to_string(),
    };
    s.to_string()
}

fn u16_at(b: &[u8], i: usize) -> Result<u16, DissectError> {
    match b.get(i..i + 2) {
        Some(s) => Ok(u16::from_be_bytes([s[0], s[1]])),
        None => Err(BAD),
    }
}

/// Reads the name at `pos`; returns it and the position after it.
fn name(msg: &[u8], pos: usize) -> Result<(String, usize), DissectError> {
    let mut out: Vec<u8> = Vec::with_capacity(64);
    let after = walk_name(msg, pos, Walk::Build(&mut out))?;
    if out.is_empty() {
        out.push(b'.');
    }
    let out = String::from_utf8(out).map_err(|_| BAD)?;
    Ok((out, after))
}

/// The position after the name at `pos`, checked exactly as [`name`]
/// checks it, without building its text (owner names of answers).
fn skip_name(msg: &[u8], pos: usize) -> Result<usize, DissectError> {
    // First without looking inside labels, counting every byte as an
    // escape: within the bound that way, the text is within it too. Only a
    // name that may be over it is walked again, exactly.
    match walk_name(msg, pos, Walk::Quick) {
        Err(e) if e == MAYBE_LONG => walk_name(msg, pos, Walk::Exact),
        r => r,
    }
}

/// What [`walk_name`] does with the labels.
enum Walk<'a> {
    /// Appends the text.
    Build(&'a mut Vec<u8>),
    /// Measures the text exactly.
    Exact,
    /// Bounds the text by four bytes a label byte; [`MAYBE_LONG`] when
    /// that bound is over the limit.
    Quick,
}

/// [`Walk::Quick`] cannot tell: walk exactly.
const MAYBE_LONG: DissectError = DissectError::Malformed("dns name maybe long");

/// Follows the name at `pos` (labels and compression pointers) and returns
/// the position after it; appends its text to `out` when given: printable
/// label bytes as they are, others as `\DDD` escapes, labels joined by
/// dots. The text's length is bounded whether or not it is built.
fn walk_name(msg: &[u8], mut pos: usize, mut how: Walk<'_>) -> Result<usize, DissectError> {
    let mut text_len = 0usize;
    let mut end = None;
    let mut jumps = 0;
    loop {
        let len = *msg.get(pos).ok_or(BAD)?;
        match len & 0xc0 {
            0x00 => {
                if len == 0 {
                    return Ok(end.unwrap_or(pos + 1));
                }
                let label = msg.get(pos + 1..pos + 1 + usize::from(len)).ok_or(BAD)?;
                let plain = |c: u8| c.is_ascii_graphic() && c != b'.';
                let sep = usize::from(text_len > 0);
                let escaped = if matches!(how, Walk::Quick) {
                    label.len()
                } else if all_plain(label) {
                    0
                } else {
                    label.iter().filter(|&&c| !plain(c)).count()
                };
                text_len += sep + label.len() + 3 * escaped;
                if let Walk::Build(out) = &mut how {
                    if sep > 0 {
                        out.push(b'.');
                    }
                    if escaped == 0 {
                        out.extend_from_slice(label);
                    } else {
                        for &c in label {
                            if plain(c) {
                                out.push(c);
                            } else {
                                out.extend_from_slice(&[
                                    b'\\',
                                    b'0' + c / 100,
                                    b'0' + c / 10 % 10,
                                    b'0' + c % 10,
                                ]);
                            }
                        }
                    }
                }
                if text_len > MAX_NAME * 4 {
                    return Err(if matches!(how, Walk::Quick) {
                        MAYBE_LONG
                    } else {
                        BAD
                    });
                }
                pos += 1 + usize::from(len);
            }
            0xc0 => {
                let target = usize::from(u16_at(msg, pos)? & 0x3fff);
                end.get_or_insert(pos + 2);
                jumps += 1;
                if jumps > MAX_JUMPS || target >= msg.len() {
                    return Err(BAD);
                }
                pos = target;
            }
            _ => return Err(BAD),
        }
    }
}

/// Fuzzing: [`skip_name`] must agree with [`name`] wherever a name starts,
/// and [`parse_with`] without questions with [`parse`].
#[cfg(feature = "fuzzing")]
pub(crate) fn check_skip_name(msg: &[u8]) {
    for pos in [0, 12, msg.len() / 2, msg.len().saturating_sub(2)] {
        assert_eq!(skip_name(msg, pos), name(msg, pos).map(|(_, after)| after));
    }
    assert_eq!(parse_with(msg, false), parse(msg).map(without_questions));
}

/// `m` with its questions dropped, as `parse_with(_, false)` leaves them.
#[cfg(any(test, feature = "fuzzing"))]
fn without_questions(mut m: Message) -> Message {
    m.questions = Vec::new();
    m.question_types = Vec::new();
    m
}

/// Whether every byte of `label` is printable ASCII other than '.' (shown
/// as it is), eight bytes at a time.
fn all_plain(label: &[u8]) -> bool {
    const ONES: u64 = u64::from_le_bytes([0x01; 8]);
    const HIGH: u64 = u64::from_le_bytes([0x80; 8]);
    let mut chunks = label.chunks_exact(8);
    for chunk in &mut chunks {
        let mut w = [0u8; 8];
        w.copy_from_slice(chunk);
        let x = u64::from_le_bytes(w);
        // A byte below 0x21, above 0x7e, or equal to '.'.
        let below = x.wrapping_sub(ONES * 0x21) & !x & HIGH;
        let above = (x.wrapping_add(ONES) | x) & HIGH;
        let d = x ^ (ONES * u64::from(b'.'));
        let dot = d.wrapping_sub(ONES) & !d & HIGH;
        if below | above | dot != 0 {
            return false;
        }
    }
    chunks
        .remainder()
        .iter()
        .all(|&c| c.is_ascii_graphic() && c != b'.')
}

/// An IPv4 address as `Ipv4Addr`'s `Display` writes it.
fn ipv4_text(a: [u8; 4]) -> String {
    let mut s = String::with_capacity(15);
    for (i, o) in a.into_iter().enumerate() {
        if i > 0 {
            s.push('.');
        }
        if o >= 100 {
            s.push(char::from(b'0' + o / 100));
        }
        if o >= 10 {
            s.push(char::from(b'0' + o / 10 % 10));
        }
        s.push(char::from(b'0' + o % 10));
    }
    s
}

fn rdata(msg: &[u8], rtype: u16, start: usize, len: usize) -> Result<String, DissectError> {
    let data = msg.get(start..start + len).ok_or(BAD)?;
    Ok(match (rtype, len) {
        (1, 4) => ipv4_text([data[0], data[1], data[2], data[3]]),
        (28, 16) => {
            let mut a = [0u8; 16];
            a.copy_from_slice(data);
            Ipv6Addr::from(a).to_string()
        }
        (2 | 5 | 12, _) => name(msg, start)?.0,
        (15, _) if len > 2 => name(msg, start + 2)?.0,
        (16, _) => {
            let mut s = String::new();
            let mut i = 0;
            while i < data.len() {
                let l = usize::from(data[i]);
                let part = data.get(i + 1..i + 1 + l).ok_or(BAD)?;
                s.push_str(&String::from_utf8_lossy(part));
                i += 1 + l;
            }
            s
        }
        _ => type_name(rtype),
    })
}

/// Decodes one DNS message (without the TCP length prefix).
pub(crate) fn parse(msg: &[u8]) -> Result<Message, DissectError> {
    parse_with(msg, true)
}

/// [`parse`]; without `questions` the questions are checked the same way
/// but not kept (a response whose query is at hand takes the query's).
pub(crate) fn parse_with(msg: &[u8], questions: bool) -> Result<Message, DissectError> {
    if msg.len() < 12 {
        return Err(BAD);
    }
    let flags = u16_at(msg, 2)?;
    let qd = usize::from(u16_at(msg, 4)?);
    let an = usize::from(u16_at(msg, 6)?);
    let mut m = Message {
        id: u16_at(msg, 0)?,
        response: flags & 0x8000 != 0,
        opcode: ((flags >> 11) & 0xf) as u8,
        rcode: (flags & 0xf) as u8,
        truncated: flags & 0x0200 != 0,
        ..Message::default()
    };
    // Sized up front (a question takes at least 5 bytes, an answer 11).
    let room = msg.len() - 12;
    if questions {
        let kept = qd.min(MAX_RECORDS).min(room / 5);
        m.questions = Vec::with_capacity(kept);
        m.question_types = Vec::with_capacity(kept);
    }
    m.answers = Vec::with_capacity(an.min(MAX_RECORDS).min(room / 11));
    let mut pos = 12;
    for i in 0..qd {
        let keep = questions && i < MAX_RECORDS;
        let (n, after) = if keep {
            let (n, after) = name(msg, pos)?;
            (Some(n), after)
        } else {
            (None, skip_name(msg, pos)?)
        };
        let qtype = u16_at(msg, after)?;
        u16_at(msg, after + 2)?;
        pos = after + 4;
        if let Some(n) = n {
            m.questions.push(n);
            m.question_types.push(type_name(qtype));
        }
    }
    for i in 0..an {
        let after = skip_name(msg, pos)?;
        let rtype = u16_at(msg, after)?;
        let rdlen = usize::from(u16_at(msg, after + 8)?);
        let start = after + 10;
        if start + rdlen > msg.len() {
            return Err(BAD);
        }
        if i < MAX_RECORDS {
            m.answers.push(rdata(msg, rtype, start, rdlen)?);
        }
        pos = start + rdlen;
    }
    Ok(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A response: question `www.a` (A), answers a CNAME `a` and an A
    /// record 10.0.0.1, both names compressed.
    const COMPRESSED_ANSWER: &[u8] = &[
        0x12, 0x34, 0x81, 0x80, 0, 1, 0, 2, 0, 0, 0, 0, //
        3, b'w', b'w', b'w', 1, b'a', 0, 0, 1, 0, 1, //
        0xc0, 12, 0, 5, 0, 1, 0, 0, 0, 60, 0, 2, 0xc0, 16, //
        0xc0, 16, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 10, 0, 0, 1,
    ];

    #[test]
    fn decodes_compressed_answer() {
        let msg = COMPRESSED_ANSWER;
        let m = parse(msg).unwrap();
        assert_eq!(m.id, 0x1234);
        assert!(m.response);
        assert_eq!(m.questions, vec!["www.a"]);
        assert_eq!(m.question_types, vec!["A"]);
        assert_eq!(m.answers, vec!["a", "10.0.0.1"]);
    }

    #[test]
    fn parsing_without_questions_checks_them_all_the_same() {
        let good = COMPRESSED_ANSWER;
        for cut in 0..=good.len() {
            let mut m = good[..cut].to_vec();
            assert_eq!(parse_with(&m, false), parse(&m).map(without_questions));
            // A broken question name, pointer loop, truncated type.
            for (at, v) in [(12, 0x80), (12, 0xc0), (13, 12), (18, 9)] {
                if at < m.len() {
                    let old = m[at];
                    m[at] = v;
                    assert_eq!(parse_with(&m, false), parse(&m).map(without_questions));
                    m[at] = old;
                }
            }
        }
        assert!(parse_with(good, false).is_ok());
    }

    #[test]
    fn unprintable_label_bytes_are_escaped_as_three_digits() {
        let msg: &[u8] = &[3, b'a', b'.', b'b', 4, b' ', 0, 0xff, b'~', 0, 9];
        let (n, after) = name(msg, 0).unwrap();
        assert_eq!(n, "a\\046b.\\032\\000\\255~");
        assert_eq!(after, 10);
        assert_eq!(name(&[0], 0).unwrap(), (".".to_string(), 1));
    }

    #[test]
    fn ipv4_text_is_what_display_writes() {
        for o in 0..=255u8 {
            for a in [[o, 0, 9, 10], [99, o, 100, 255], [1, 2, o, o]] {
                let want = std::net::Ipv4Addr::from(a).to_string();
                assert_eq!(ipv4_text(a), want);
            }
        }
    }

    #[test]
    fn plain_labels_are_found_eight_bytes_at_a_time() {
        let plain = |l: &[u8]| l.iter().all(|&c| c.is_ascii_graphic() && c != b'.');
        for c in 0..=255u8 {
            for at in 0..20 {
                let mut l = b"abcdefghijklmnopqrst".to_vec();
                l[at] = c;
                assert_eq!(all_plain(&l), plain(&l), "{c} at {at}");
                assert_eq!(all_plain(&l[..at + 1]), plain(&l[..at + 1]), "{c} at {at}");
            }
        }
    }

    #[test]
    fn skip_name_agrees_with_name() {
        // Small alphabets so that labels, pointers, escapes and loops occur.
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let bytes = [0u8, 1, 2, 3, 63, 0xc0, 0x41, b'a', b'.', b' ', 0xff, 5];
        for _ in 0..50_000 {
            let len = (next() % 24) as usize;
            let msg: Vec<u8> = (0..len)
                .map(|_| bytes[(next() % bytes.len() as u64) as usize])
                .collect();
            for pos in 0..msg.len() + 1 {
                assert_eq!(
                    skip_name(&msg, pos),
                    name(&msg, pos).map(|(_, after)| after),
                    "{msg:?} at {pos}"
                );
            }
        }
        // The length bound: 4 labels of 63 escaped bytes pass (1011 bytes
        // of text), 5 do not.
        for n in [4usize, 5] {
            let mut msg = Vec::new();
            for _ in 0..n {
                msg.push(63u8);
                msg.extend_from_slice(&[0u8; 63]);
            }
            msg.push(0);
            assert_eq!(skip_name(&msg, 0), name(&msg, 0).map(|(_, a)| a));
            assert_eq!(skip_name(&msg, 0).is_ok(), n == 4, "{n}");
        }
        // Long names of plain bytes are within the bound (the quick walk
        // cannot tell, the exact one can); escapes late in a long name.
        for n in [4usize, 5, 16] {
            for last in [b'a', 0] {
                let mut msg = Vec::new();
                for i in 0..n {
                    msg.push(63u8);
                    let fill = if i + 1 == n { last } else { b'a' };
                    msg.extend_from_slice(&[fill; 63]);
                }
                msg.push(0);
                assert_eq!(
                    skip_name(&msg, 0),
                    name(&msg, 0).map(|(_, a)| a),
                    "{n} {last}"
                );
            }
        }
    }

    #[test]
    fn rejects_pointer_loops_and_truncation() {
        let looped: &[u8] = &[0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 12, 0, 1, 0, 1];
        assert!(parse(looped).is_err());
        assert!(parse(&[0, 1, 0, 0, 0, 1]).is_err());
    }
}
