//! Byte search eight bytes at a time (the dissectors look for line ends
//! and separators in every message head; a byte-at-a-time loop showed up
//! in profiles).

const ONES: u64 = u64::from_le_bytes([0x01; 8]);
const HIGH: u64 = u64::from_le_bytes([0x80; 8]);

/// Index of the first `needle` in `hay`, as `hay.iter().position(|&b| b == needle)`.
#[inline]
pub(crate) fn find_byte(hay: &[u8], needle: u8) -> Option<usize> {
    let pattern = ONES * u64::from(needle);
    let mut at = 0;
    let mut chunks = hay.chunks_exact(8);
    for chunk in &mut chunks {
        let mut w = [0u8; 8];
        w.copy_from_slice(chunk);
        let x = u64::from_le_bytes(w) ^ pattern;
        // Exact zero-byte test: the lowest flagged byte is the first match
        // (flags above a true zero byte may be false, those below never are).
        let zero = x.wrapping_sub(ONES) & !x & HIGH;
        if zero != 0 {
            return Some(at + (zero.trailing_zeros() / 8) as usize);
        }
        at += 8;
    }
    chunks
        .remainder()
        .iter()
        .position(|&b| b == needle)
        .map(|i| at + i)
}

#[cfg(test)]
mod tests {
    use super::find_byte;

    #[test]
    fn finds_what_position_finds() {
        let mut seed = 0x1234_5678_9abc_def1u64;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let alphabet = [
            b'\n',
            b'\r',
            b':',
            b'a',
            0,
            0x80,
            0xff,
            0x0a ^ 0x80,
            0x0b,
            0x09,
        ];
        for _ in 0..100_000 {
            let len = (next() % 40) as usize;
            let hay: Vec<u8> = (0..len)
                .map(|_| alphabet[(next() % alphabet.len() as u64) as usize])
                .collect();
            for needle in [b'\n', b'\r', b':', 0, 0xff, 0x80] {
                assert_eq!(
                    find_byte(&hay, needle),
                    hay.iter().position(|&b| b == needle),
                    "{hay:?} {needle}"
                );
            }
        }
        for needle in 0..=255u8 {
            let hay: Vec<u8> = (0..=255u8).chain(0..=255u8).collect();
            assert_eq!(find_byte(&hay, needle), Some(usize::from(needle)));
        }
    }
}
