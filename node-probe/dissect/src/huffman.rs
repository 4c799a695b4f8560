//! HPACK Huffman decoding (RFC 7541 §5.2, code from appendix B).
//!
//! The code is canonical: codes of one length are consecutive numbers, in
//! symbol order, so decoding needs, per length, the first code and the
//! symbols of that length — no tree.

use std::sync::OnceLock;

use crate::error::DissectError;

const BAD: DissectError = DissectError::Malformed("hpack huffman");
const EOS: u16 = 256;

/// RFC 7541 appendix B: (code, bit length) of symbols 0..=255, then EOS.
#[rustfmt::skip]
const CODES: [(u32, u8); 257] = [
    (0x1ff8, 13), (0x7fffd8, 23), (0xfffffe2, 28), (0xfffffe3, 28),
    (0xfffffe4, 28), (0xfffffe5, 28), (0xfffffe6, 28), (0xfffffe7, 28),
    (0xfffffe8, 28), (0xffffea, 24), (0x3ffffffc, 30), (0xfffffe9, 28),
    (0xfffffea, 28), (0x3ffffffd, 30), (0xfffffeb, 28), (0xfffffec, 28),
    (0xfffffed, 28), (0xfffffee, 28), (0xfffffef, 28), (0xffffff0, 28),
    (0xffffff1, 28), (0xffffff2, 28), (0x3ffffffe, 30), (0xffffff3, 28),
    (0xffffff4, 28), (0xffffff5, 28), (0xffffff6, 28), (0xffffff7, 28),
    (0xffffff8, 28), (0xffffff9, 28), (0xffffffa, 28), (0xffffffb, 28),
    (0x14, 6), (0x3f8, 10), (0x3f9, 10), (0xffa, 12),
    (0x1ff9, 13), (0x15, 6), (0xf8, 8), (0x7fa, 11),
    (0x3fa, 10), (0x3fb, 10), (0xf9, 8), (0x7fb, 11),
    (0xfa, 8), (0x16, 6), (0x17, 6), (0x18, 6),
    (0x0, 5), (0x1, 5), (0x2, 5), (0x19, 6),
    (0x1a, 6), (0x1b, 6), (0x1c, 6), (0x1d, 6),
    (0x1e, 6), (0x1f, 6), (0x5c, 7), (0xfb, 8),
    (0x7ffc, 15), (0x20, 6), (0xffb, 12), (0x3fc, 10),
    (0x1ffa, 13), (0x21, 6), (0x5d, 7), (0x5e, 7),
    (0x5f, 7), (0x60, 7), (0x61, 7), (0x62, 7),
    (0x63, 7), (0x64, 7), (0x65, 7), (0x66, 7),
    (0x67, 7), (0x68, 7), (0x69, 7), (0x6a, 7),
    (0x6b, 7), (0x6c, 7), (0x6d, 7), (0x6e, 7),
    (0x6f, 7), (0x70, 7), (0x71, 7), (0x72, 7),
    (0xfc, 8), (0x73, 7), (0xfd, 8), (0x1ffb, 13),
    (0x7fff0, 19), (0x1ffc, 13), (0x3ffc, 14), (0x22, 6),
    (0x7ffd, 15), (0x3, 5), (0x23, 6), (0x4, 5),
    (0x24, 6), (0x5, 5), (0x25, 6), (0x26, 6),
    (0x27, 6), (0x6, 5), (0x74, 7), (0x75, 7),
    (0x28, 6), (0x29, 6), (0x2a, 6), (0x7, 5),
    (0x2b, 6), (0x76, 7), (0x2c, 6), (0x8, 5),
    (0x9, 5), (0x2d, 6), (0x77, 7), (0x78, 7),
    (0x79, 7), (0x7a, 7), (0x7b, 7), (0x7ffe, 15),
    (0x7fc, 11), (0x3ffd, 14), (0x1ffd, 13), (0xffffffc, 28),
    (0xfffe6, 20), (0x3fffd2, 22), (0xfffe7, 20), (0xfffe8, 20),
    (0x3fffd3, 22), (0x3fffd4, 22), (0x3fffd5, 22), (0x7fffd9, 23),
    (0x3fffd6, 22), (0x7fffda, 23), (0x7fffdb, 23), (0x7fffdc, 23),
    (0x7fffdd, 23), (0x7fffde, 23), (0xffffeb, 24), (0x7fffdf, 23),
    (0xffffec, 24), (0xffffed, 24), (0x3fffd7, 22), (0x7fffe0, 23),
    (0xffffee, 24), (0x7fffe1, 23), (0x7fffe2, 23), (0x7fffe3, 23),
    (0x7fffe4, 23), (0x1fffdc, 21), (0x3fffd8, 22), (0x7fffe5, 23),
    (0x3fffd9, 22), (0x7fffe6, 23), (0x7fffe7, 23), (0xffffef, 24),
    (0x3fffda, 22), (0x1fffdd, 21), (0xfffe9, 20), (0x3fffdb, 22),
    (0x3fffdc, 22), (0x7fffe8, 23), (0x7fffe9, 23), (0x1fffde, 21),
    (0x7fffea, 23), (0x3fffdd, 22), (0x3fffde, 22), (0xfffff0, 24),
    (0x1fffdf, 21), (0x3fffdf, 22), (0x7fffeb, 23), (0x7fffec, 23),
    (0x1fffe0, 21), (0x1fffe1, 21), (0x3fffe0, 22), (0x1fffe2, 21),
    (0x7fffed, 23), (0x3fffe1, 22), (0x7fffee, 23), (0x7fffef, 23),
    (0xfffea, 20), (0x3fffe2, 22), (0x3fffe3, 22), (0x3fffe4, 22),
    (0x7ffff0, 23), (0x3fffe5, 22), (0x3fffe6, 22), (0x7ffff1, 23),
    (0x3ffffe0, 26), (0x3ffffe1, 26), (0xfffeb, 20), (0x7fff1, 19),
    (0x3fffe7, 22), (0x7ffff2, 23), (0x3fffe8, 22), (0x1ffffec, 25),
    (0x3ffffe2, 26), (0x3ffffe3, 26), (0x3ffffe4, 26), (0x7ffffde, 27),
    (0x7ffffdf, 27), (0x3ffffe5, 26), (0xfffff1, 24), (0x1ffffed, 25),
    (0x7fff2, 19), (0x1fffe3, 21), (0x3ffffe6, 26), (0x7ffffe0, 27),
    (0x7ffffe1, 27), (0x3ffffe7, 26), (0x7ffffe2, 27), (0xfffff2, 24),
    (0x1fffe4, 21), (0x1fffe5, 21), (0x3ffffe8, 26), (0x3ffffe9, 26),
    (0xffffffd, 28), (0x7ffffe3, 27), (0x7ffffe4, 27), (0x7ffffe5, 27),
    (0xfffec, 20), (0xfffff3, 24), (0xfffed, 20), (0x1fffe6, 21),
    (0x3fffe9, 22), (0x1fffe7, 21), (0x1fffe8, 21), (0x7ffff3, 23),
    (0x3fffea, 22), (0x3fffeb, 22), (0x1ffffee, 25), (0x1ffffef, 25),
    (0xfffff4, 24), (0xfffff5, 24), (0x3ffffea, 26), (0x7ffff4, 23),
    (0x3ffffeb, 26), (0x7ffffe6, 27), (0x3ffffec, 26), (0x3ffffed, 26),
    (0x7ffffe7, 27), (0x7ffffe8, 27), (0x7ffffe9, 27), (0x7ffffea, 27),
    (0x7ffffeb, 27), (0xffffffe, 28), (0x7ffffec, 27), (0x7ffffed, 27),
    (0x7ffffee, 27), (0x7ffffef, 27), (0x7fffff0, 27), (0x3ffffee, 26),
    (0x3fffffff, 30),
];

struct Canonical {
    /// Per length: first code, number of codes, offset into `symbols`.
    first: [u32; 31],
    count: [u32; 31],
    offset: [usize; 31],
    /// Per length: the first 30-bit left-aligned window that does not
    /// start with a code of this length or shorter (canonical codes grow
    /// with their length, so the first length whose limit is above a
    /// window is the length of the code it starts with).
    limit: [u32; 31],
    /// Per 8-bit prefix of a window: the length of the code it starts
    /// with when that code is at most 8 bits long, else 0.
    short: [u8; 256],
    symbols: Vec<u16>,
}

impl Canonical {
    /// Appends the symbol of `code`, a `len`-bit code, to `out`: EOS is an
    /// error inside a string, and `out` holds at most `max` bytes.
    #[inline]
    fn emit(
        &self,
        len: usize,
        code: u32,
        max: usize,
        out: &mut Vec<u8>,
    ) -> Result<(), DissectError> {
        let sym = self.symbols[self.offset[len] + (code - self.first[len]) as usize];
        if sym == EOS {
            return Err(BAD);
        }
        if out.len() >= max {
            return Err(DissectError::Cap("hpack string"));
        }
        out.push(sym as u8);
        Ok(())
    }
}

fn canonical() -> &'static Canonical {
    static TABLE: OnceLock<Canonical> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut c = Canonical {
            first: [0; 31],
            count: [0; 31],
            offset: [0; 31],
            limit: [0; 31],
            short: [0; 256],
            symbols: Vec::with_capacity(257),
        };
        for len in 1..=30u8 {
            let mut of_len: Vec<(u32, u16)> = CODES
                .iter()
                .enumerate()
                .filter(|(_, (_, l))| *l == len)
                .map(|(s, (code, _))| (*code, s as u16))
                .collect();
            of_len.sort_unstable();
            let l = usize::from(len);
            c.offset[l] = c.symbols.len();
            c.count[l] = of_len.len() as u32;
            c.first[l] = of_len.first().map_or(0, |(code, _)| *code);
            c.limit[l] = match of_len.last() {
                Some((code, _)) => (code + 1) << (30 - l),
                None => c.limit[l - 1],
            };
            c.symbols.extend(of_len.iter().map(|(_, s)| *s));
        }
        for (prefix, short) in c.short.iter_mut().enumerate() {
            let window = (prefix as u32) << 22;
            if let Some(len) = (1..=8).find(|&l| window < c.limit[l]) {
                *short = len as u8;
            }
        }
        c
    })
}

/// Decodes a Huffman-coded string literal, appending to `out`; at most
/// `max` output bytes.
///
/// A symbol at a time: up to 64 input bits are kept in `acc`, left-aligned;
/// the code starting at the top is found by comparing the next 30 bits
/// (missing input bits read as ones, like padding) with the per-length
/// limits. A code that needs more bits than are left is padding.
pub(crate) fn decode(input: &[u8], max: usize, out: &mut Vec<u8>) -> Result<(), DissectError> {
    let t = canonical();
    let mut acc: u64 = 0;
    let mut bits: u32 = 0;
    let mut at = 0;
    loop {
        while bits <= 56 && at < input.len() {
            acc |= u64::from(input[at]) << (56 - bits);
            bits += 8;
            at += 1;
        }
        if bits == 0 {
            return Ok(());
        }
        let window = ((acc | (u64::MAX >> bits.min(63) >> u32::from(bits == 64))) >> 34) as u32;
        // Most codes are at most 8 bits long: one look-up; the others are
        // found from 9 bits up.
        let mut len = usize::from(t.short[(window >> 22) as usize]);
        if len == 0 {
            len = 9;
            while len < 30 && window >= t.limit[len] {
                len += 1;
            }
        }
        if len as u32 > bits {
            break;
        }
        t.emit(len, window >> (30 - len), max, out)?;
        acc <<= len;
        bits -= len as u32;
    }
    // Padding: at most 7 bits, all ones (a prefix of EOS).
    if bits > 7 || acc >> (64 - bits) != (1u64 << bits) - 1 {
        return Err(BAD);
    }
    Ok(())
}

/// Fuzzing: [`decode`] must agree with the bit-at-a-time reference.
#[cfg(feature = "fuzzing")]
pub(crate) fn check_against_bitwise(input: &[u8]) {
    for max in [8, MAX_FUZZ_OUT] {
        let (mut a, mut b) = (Vec::new(), Vec::new());
        let ra = decode(input, max, &mut a);
        assert_eq!(ra, decode_bitwise(input, max, &mut b));
        if ra.is_ok() {
            assert_eq!(a, b);
        }
    }
}

#[cfg(feature = "fuzzing")]
const MAX_FUZZ_OUT: usize = 1 << 16;

/// The bit-at-a-time decoder this module used to have, as the
/// reference for the one above.
#[cfg(any(test, feature = "fuzzing"))]
fn decode_bitwise(input: &[u8], max: usize, out: &mut Vec<u8>) -> Result<(), DissectError> {
    let t = canonical();
    let mut code: u32 = 0;
    let mut len: usize = 0;
    for &byte in input {
        for bit in (0..8).rev() {
            code = (code << 1) | u32::from((byte >> bit) & 1);
            len += 1;
            if len > 30 {
                return Err(BAD);
            }
            if t.count[len] > 0 && code >= t.first[len] && code - t.first[len] < t.count[len] {
                t.emit(len, code, max, out)?;
                code = 0;
                len = 0;
            }
        }
    }
    if len > 7 || code != (1u32 << len) - 1 {
        return Err(BAD);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode(text: &[u8], pad: u8) -> Vec<u8> {
        let mut out = Vec::new();
        let (mut acc, mut bits) = (0u64, 0u32);
        for &c in text {
            let (code, len) = CODES[usize::from(c)];
            acc = (acc << len) | u64::from(code);
            bits += u32::from(len);
            while bits >= 8 {
                out.push((acc >> (bits - 8)) as u8);
                bits -= 8;
            }
            acc &= (1 << bits) - 1;
        }
        if bits > 0 {
            out.push(((acc << (8 - bits)) as u8) | (pad >> bits));
        }
        out
    }

    #[test]
    fn agrees_with_the_bitwise_decoder() {
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let check = |input: &[u8], max: usize| {
            let (mut a, mut b) = (Vec::new(), Vec::new());
            let ra = decode(input, max, &mut a);
            let rb = decode_bitwise(input, max, &mut b);
            assert_eq!(ra, rb, "{input:x?} max {max}");
            if ra.is_ok() {
                assert_eq!(a, b, "{input:x?}");
            }
        };
        for _ in 0..100_000 {
            // Random bytes (mostly invalid), and valid encodings of random
            // text with right or wrong padding.
            let len = (next() % 20) as usize;
            let raw: Vec<u8> = (0..len).map(|_| next() as u8).collect();
            let max = (next() % 24) as usize;
            check(&raw, max);
            let text: Vec<u8> = (0..len)
                .map(|_| match next() % 4 {
                    0 => next() as u8,
                    _ => b"abcdefghijklmnopqrstuvwxyz0123456789/-_.:"[(next() % 41) as usize],
                })
                .collect();
            let pad = if next() % 8 == 0 { next() as u8 } else { 0xff };
            let enc = encode(&text, pad);
            check(&enc, max);
            check(&enc, 64);
            let mut longer = enc.clone();
            longer.push(0xff);
            check(&longer, 64);
        }
        for n in 0..12 {
            check(&vec![0xff; n], 64);
            check(&vec![0x00; n], 64);
        }
    }

    #[test]
    fn code_is_complete_and_canonical() {
        // Kraft equality: a complete prefix code sums to exactly 1.
        let sum: u128 = CODES.iter().map(|(_, l)| 1u128 << (30 - l)).sum();
        assert_eq!(sum, 1u128 << 30);
        // Codes of one length are consecutive in symbol order.
        for len in 5..=30u8 {
            let codes: Vec<u32> = CODES
                .iter()
                .filter(|(_, l)| *l == len)
                .map(|(c, _)| *c)
                .collect();
            for w in codes.windows(2) {
                assert_eq!(w[1], w[0] + 1, "length {len}");
            }
        }
    }

    #[test]
    fn decodes_rfc7541_examples() {
        // C.4.1 and C.6.1 of RFC 7541.
        let mut out = Vec::new();
        decode(
            &[
                0xf1, 0xe3, 0xc2, 0xe5, 0xf2, 0x3a, 0x6b, 0xa0, 0xab, 0x90, 0xf4, 0xff,
            ],
            100,
            &mut out,
        )
        .unwrap();
        assert_eq!(out, b"www.example.com");
        out.clear();
        decode(&[0x64, 0x02], 100, &mut out).unwrap();
        assert_eq!(out, b"302");
        out.clear();
        decode(&[0xae, 0xc3, 0x77, 0x1a, 0x4b], 100, &mut out).unwrap();
        assert_eq!(out, b"private");
    }

    #[test]
    fn rejects_eos_and_bad_padding() {
        let mut out = Vec::new();
        assert!(decode(&[0xff, 0xff, 0xff, 0xff], 100, &mut out).is_err());
        assert!(decode(&[0x00], 100, &mut out).is_err());
    }
}
