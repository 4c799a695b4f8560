//! HPACK header block decoding (RFC 7541): static table, one dynamic table
//! per direction, integer and string literals, Huffman strings.

use std::collections::VecDeque;

use crate::error::DissectError;
use crate::huffman;

const BAD: DissectError = DissectError::Malformed("hpack");
/// Longest string literal decoded.
const MAX_STRING: usize = 64 * 1024;
/// Initial dynamic table size (SETTINGS_HEADER_TABLE_SIZE default).
const DEFAULT_TABLE: usize = 4096;

#[rustfmt::skip]
const STATIC: [(&str, &str); 61] = [
    (":authority", ""), (":method", "GET"), (":method", "POST"), (":path", "/"),
    (":path", "/index.html"), (":scheme", "http"), (":scheme", "https"), (":status", "200"),
    (":status", "204"), (":status", "206"), (":status", "304"), (":status", "400"),
    (":status", "404"), (":status", "500"), ("accept-charset", ""),
    ("accept-encoding", "gzip, deflate"), ("accept-language", ""), ("accept-ranges", ""),
    ("accept", ""), ("access-control-allow-origin", ""), ("age", ""), ("allow", ""),
    ("authorization", ""), ("cache-control", ""), ("content-disposition", ""),
    ("content-encoding", ""), ("content-language", ""), ("content-length", ""),
    ("content-location", ""), ("content-range", ""), ("content-type", ""), ("cookie", ""),
    ("date", ""), ("etag", ""), ("expect", ""), ("expires", ""), ("from", ""), ("host", ""),
    ("if-match", ""), ("if-modified-since", ""), ("if-none-match", ""), ("if-range", ""),
    ("if-unmodified-since", ""), ("last-modified", ""), ("link", ""), ("location", ""),
    ("max-forwards", ""), ("proxy-authenticate", ""), ("proxy-authorization", ""),
    ("range", ""), ("referer", ""), ("refresh", ""), ("retry-after", ""), ("server", ""),
    ("set-cookie", ""), ("strict-transport-security", ""), ("transfer-encoding", ""),
    ("user-agent", ""), ("vary", ""), ("via", ""), ("www-authenticate", ""),
];

/// The decoder of one direction of a connection.
#[derive(Debug)]
pub(crate) struct Decoder {
    table: VecDeque<(String, String)>,
    size: usize,
    max_size: usize,
    cap: usize,
}

fn entry_size(n: &str, v: &str) -> usize {
    n.len() + v.len() + 32
}

/// Reads an integer with an `n`-bit prefix at `*pos`.
fn integer(b: &[u8], pos: &mut usize, n: u8) -> Result<usize, DissectError> {
    let mask = (1usize << n) - 1;
    let first = usize::from(*b.get(*pos).ok_or(BAD)?) & mask;
    *pos += 1;
    if first < mask {
        return Ok(first);
    }
    let mut value = mask;
    let mut shift = 0;
    loop {
        let byte = *b.get(*pos).ok_or(BAD)?;
        *pos += 1;
        if shift > 28 {
            return Err(BAD);
        }
        value += usize::from(byte & 0x7f) << shift;
        shift += 7;
        if byte & 0x80 == 0 {
            return Ok(value);
        }
    }
}

fn string(b: &[u8], pos: &mut usize) -> Result<String, DissectError> {
    let huff = b.get(*pos).ok_or(BAD)? & 0x80 != 0;
    let len = integer(b, pos, 7)?;
    let raw = b.get(*pos..pos.checked_add(len).ok_or(BAD)?).ok_or(BAD)?;
    *pos += len;
    if len > MAX_STRING {
        return Err(DissectError::Cap("hpack string"));
    }
    let bytes = if huff {
        let mut out = Vec::with_capacity(len * 8 / 5);
        huffman::decode(raw, MAX_STRING, &mut out)?;
        out
    } else {
        raw.to_vec()
    };
    Ok(String::from_utf8(bytes)
        .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()))
}

impl Decoder {
    /// `cap`: the largest dynamic table size accepted.
    pub(crate) fn new(cap: usize) -> Self {
        Self {
            table: VecDeque::new(),
            size: 0,
            max_size: DEFAULT_TABLE.min(cap),
            cap,
        }
    }

    fn get(&self, index: usize) -> Result<(String, String), DissectError> {
        match index {
            0 => Err(BAD),
            1..=61 => {
                let (n, v) = STATIC[index - 1];
                Ok((n.to_string(), v.to_string()))
            }
            _ => self.table.get(index - 62).cloned().ok_or(BAD),
        }
    }

    fn evict(&mut self) {
        while self.size > self.max_size {
            match self.table.pop_back() {
                Some((n, v)) => self.size -= entry_size(&n, &v),
                None => break,
            }
        }
    }

    fn insert(&mut self, n: &str, v: &str) {
        let s = entry_size(n, v);
        if s > self.max_size {
            self.table.clear();
            self.size = 0;
            return;
        }
        self.size += s;
        self.evict();
        self.table.push_front((n.to_string(), v.to_string()));
    }

    /// Decodes one complete header block. Every representation is applied
    /// to the dynamic table; only the first `max_headers` are returned.
    pub(crate) fn decode(
        &mut self,
        block: &[u8],
        max_headers: usize,
    ) -> Result<Vec<(String, String)>, DissectError> {
        let mut out = Vec::new();
        let mut pos = 0;
        while pos < block.len() {
            let b = block[pos];
            let (name, value) = if b & 0x80 != 0 {
                let i = integer(block, &mut pos, 7)?;
                self.get(i)?
            } else if b & 0xe0 == 0x20 {
                let size = integer(block, &mut pos, 5)?;
                if size > self.cap {
                    return Err(DissectError::Cap("hpack table size"));
                }
                self.max_size = size;
                self.evict();
                continue;
            } else {
                let (prefix, index) = if b & 0x40 != 0 { (6, true) } else { (4, false) };
                let i = integer(block, &mut pos, prefix)?;
                let name = if i == 0 {
                    string(block, &mut pos)?
                } else {
                    self.get(i)?.0
                };
                let value = string(block, &mut pos)?;
                if index {
                    self.insert(&name, &value);
                }
                (name, value)
            };
            if out.len() < max_headers {
                let name = if name.bytes().any(|b| b.is_ascii_uppercase()) {
                    name.to_ascii_lowercase()
                } else {
                    name
                };
                out.push((name, value));
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        let d: String = s.chars().filter(|c| !c.is_whitespace()).collect();
        (0..d.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&d[i..i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn rfc7541_c4_requests_with_huffman() {
        let mut d = Decoder::new(65536);
        let h = d
            .decode(&hex("8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff"), 64)
            .unwrap();
        assert_eq!(
            h[3],
            (":authority".to_string(), "www.example.com".to_string())
        );
        let h = d.decode(&hex("8286 84be 5886 a8eb 1064 9cbf"), 64).unwrap();
        assert_eq!(h[3].1, "www.example.com");
        assert_eq!(h[4], ("cache-control".to_string(), "no-cache".to_string()));
        let h = d
            .decode(
                &hex("8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf"),
                64,
            )
            .unwrap();
        assert_eq!(h[0].1, "GET");
        assert_eq!(h[1].1, "https");
        assert_eq!(h[2].1, "/index.html");
        assert_eq!(h[3].1, "www.example.com");
        assert_eq!(h[4], ("custom-key".to_string(), "custom-value".to_string()));
        assert_eq!(d.size, 164);
    }

    #[test]
    fn rfc7541_c5_responses_evict() {
        let mut d = Decoder::new(65536);
        d.max_size = 256;
        let first = hex(
            "4803 3330 3258 0770 7269 7661 7465 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133
             2032 303a 3133 3a32 3120 474d 546e 1768 7474 7073 3a2f 2f77 7777 2e65 7861 6d70
             6c65 2e63 6f6d",
        );
        let h = d.decode(&first, 64).unwrap();
        assert_eq!(h[0], (":status".to_string(), "302".to_string()));
        assert_eq!(d.size, 222);
        let h = d.decode(&hex("4803 3330 37c1 c0bf"), 64).unwrap();
        assert_eq!(h[0].1, "307");
        assert_eq!(h[3].1, "https://www.example.com");
        assert_eq!(d.size, 222);
    }

    #[test]
    fn hostile_blocks_are_errors() {
        let mut d = Decoder::new(4096);
        assert!(d
            .decode(&[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f], 64)
            .is_err());
        assert!(d.decode(&[0xbe], 64).is_err());
        assert!(d.decode(&[0x3f, 0xe1, 0xff, 0x03], 64).is_err());
        assert!(d.decode(&[0x00, 0x85, 0xff], 64).is_err());
    }
}
