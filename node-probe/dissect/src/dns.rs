//! DNS message decoding (RFC 1035): header, questions, answers; names with
//! compression pointers, bounded in length and jumps.

use std::net::{Ipv4Addr, Ipv6Addr};

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
fn name(msg: &[u8], mut pos: usize) -> Result<(String, usize), DissectError> {
    // Built as ASCII bytes: printable label bytes as they are, others as
    // `\DDD` escapes.
    let mut out: Vec<u8> = Vec::with_capacity(64);
    let mut end = None;
    let mut jumps = 0;
    loop {
        let len = *msg.get(pos).ok_or(BAD)?;
        match len & 0xc0 {
            0x00 => {
                if len == 0 {
                    let after = end.unwrap_or(pos + 1);
                    if out.is_empty() {
                        out.push(b'.');
                    }
                    let out = String::from_utf8(out).map_err(|_| BAD)?;
                    return Ok((out, after));
                }
                let label = msg.get(pos + 1..pos + 1 + usize::from(len)).ok_or(BAD)?;
                if !out.is_empty() {
                    out.push(b'.');
                }
                if label.iter().all(|&c| c.is_ascii_graphic() && c != b'.') {
                    out.extend_from_slice(label);
                } else {
                    for &c in label {
                        if c.is_ascii_graphic() && c != b'.' {
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
                if out.len() > MAX_NAME * 4 {
                    return Err(BAD);
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

fn rdata(msg: &[u8], rtype: u16, start: usize, len: usize) -> Result<String, DissectError> {
    let data = msg.get(start..start + len).ok_or(BAD)?;
    Ok(match (rtype, len) {
        (1, 4) => Ipv4Addr::new(data[0], data[1], data[2], data[3]).to_string(),
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
    let mut pos = 12;
    for i in 0..qd {
        let (n, after) = name(msg, pos)?;
        let qtype = u16_at(msg, after)?;
        u16_at(msg, after + 2)?;
        pos = after + 4;
        if i < MAX_RECORDS {
            m.questions.push(n);
            m.question_types.push(type_name(qtype));
        }
    }
    for i in 0..an {
        let (_, after) = name(msg, pos)?;
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

    #[test]
    fn decodes_compressed_answer() {
        let msg: &[u8] = &[
            0x12, 0x34, 0x81, 0x80, 0, 1, 0, 2, 0, 0, 0, 0, //
            3, b'w', b'w', b'w', 1, b'a', 0, 0, 1, 0, 1, //
            0xc0, 12, 0, 5, 0, 1, 0, 0, 0, 60, 0, 2, 0xc0, 16, //
            0xc0, 16, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 10, 0, 0, 1,
        ];
        let m = parse(msg).unwrap();
        assert_eq!(m.id, 0x1234);
        assert!(m.response);
        assert_eq!(m.questions, vec!["www.a"]);
        assert_eq!(m.question_types, vec!["A"]);
        assert_eq!(m.answers, vec!["a", "10.0.0.1"]);
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
    fn rejects_pointer_loops_and_truncation() {
        let looped: &[u8] = &[0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 12, 0, 1, 0, 1];
        assert!(parse(looped).is_err());
        assert!(parse(&[0, 1, 0, 0, 0, 1]).is_err());
    }
}
